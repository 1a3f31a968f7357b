"""One server port whose PVID the switch refuses to change (the SET-only fault: the port
reads fine, its dot1qPvid SET answers an error): entering quarantine from a dirty switch
must leave the rack safe (that port shut, everything else quarantined) and name the port
in the error and the alarm."""

from __future__ import annotations

import pytest

from agent.errors import VerifyError
from agent.network.manager import NetworkManager

from .conftest import Lab

Q = 999
PVID = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 5, 1, 1)
LOCKED = 3  # hv-3's port


async def test_refused_pvid_leaves_the_port_shut_and_names_it(
    lab: Lab, net: NetworkManager
) -> None:
    assert lab.switch.port_states()[LOCKED].pvid == 1  # dirty start: VLAN 1 everywhere
    lab.switch.faults.refuse_set((*PVID, LOCKED), "noAccess")

    with pytest.raises(VerifyError) as caught:
        await net.enter_phase("quarantine")

    message = str(caught.value)
    assert "noAccess" in message
    assert f"dot1qPvid of port {LOCKED}" in message
    assert f"tor-1 port {LOCKED}: pvid is 1, should be {Q}" in message

    # Safe: the locked port is shut (it still has PVID 1, so it must not forward). A SET
    # PDU is all or none, so the PVIDs that travelled with the refused one did not move
    # either: they were written again without it, and every other server port is in
    # quarantine, not shut. The uplink is down and the controller keeps its link.
    states = lab.switch.port_states()
    assert states[LOCKED].admin_up is False
    assert states[LOCKED].pvid == 1
    for port in (1, 2, 4, 5):
        s = states[port]
        assert (s.pvid, set(s.untagged), set(s.tagged)) == (Q, {Q}, set()), (port, s)
    assert states[24].admin_up is False
    assert states[23].admin_up is True  # never shut: the agent would cut its own link
    # Whatever still sits in VLAN 1 (the default VLAN) is shut, but the controller's port.
    assert all(not s.admin_up for p, s in states.items() if 1 in s.untagged and p != 23)
    assert net.layout.phase == "quarantine"
    assert net.last_report is not None
    assert not net.last_report.verified

    events = lab.drain()
    shut = [e for e in events if e.kind == "network.ports_shut"]
    assert [e.data["ports"] for e in shut] == [[LOCKED]]  # the locked port alone
    alarms = [e for e in events if e.kind == "network.verify_failed"]
    assert alarms
    assert all(a.data["severity"] == "critical" for a in alarms)
    assert LOCKED in alarms[-1].data["ports"]
    assert any(f"port {LOCKED}" in m for m in alarms[-1].data["mismatches"])
