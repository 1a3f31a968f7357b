"""A device found without GETBULK is walked by GETNEXT for a while, then asked again."""

from __future__ import annotations

import pytest

from agent.adapters import snmp
from agent.adapters.snmp import SnmpTarget


def test_a_getbulk_downgrade_is_tried_again_after_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("agent.adapters.snmp.time.monotonic", lambda: now[0])
    target = SnmpTarget("pdu-x", "192.0.2.7", 16161)
    peer = snmp._Peer()
    assert peer.repetitions("1.3.6.1.2.1.2", 25) == 25
    peer.no_getbulk(target, "GETBULK got no answer in two tries while GETNEXT was answered")
    assert peer.repetitions("1.3.6.1.2.1.2", 25) == 0
    now[0] += snmp._REPROBE_AFTER - 1
    assert peer.repetitions("1.3.6.1.2.1.2", 25) == 0  # still within the window: GETNEXT
    now[0] += 2
    assert peer.repetitions("1.3.6.1.2.1.2", 25) == 25  # asked again
    peer.no_getbulk(target, "again")  # a second refusal downgrades again
    assert peer.repetitions("1.3.6.1.2.1.2", 25) == 0
