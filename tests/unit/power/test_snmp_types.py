"""Our SNMP value and target types: validation, and secrets kept out of repr()."""

from __future__ import annotations

import pytest

from agent.adapters.snmp import (
    MISSING,
    Gauge,
    Integer,
    IpAddress,
    Oid,
    SnmpTarget,
    V3User,
    as_text,
    expect_int,
)
from agent.errors import ProtocolError


def test_target_validation_lists_every_problem() -> None:
    with pytest.raises(ValueError, match="pdu-x") as caught:
        SnmpTarget("pdu-x", "10.0.0.1", port=0, timeout=0, retries=-1, max_in_flight=0)
    text = str(caught.value)
    for word in ("port 0", "timeout 0", "retries -1", "max_in_flight 0"):
        assert word in text


def test_v3_needs_a_user_and_long_keys() -> None:
    with pytest.raises(ValueError, match="needs a user"):
        SnmpTarget("pdu", "10.0.0.1", version="3")
    with pytest.raises(ValueError, match="shorter than 8"):
        V3User("ops", auth_key="short")


def test_secrets_never_in_repr() -> None:
    user = V3User("ops", auth_key="auth-secret-1", priv_key="priv-secret-1")
    target = SnmpTarget(
        "pdu", "10.0.0.1", community="ro-secret", write_community="rw-secret", user=user
    )
    text = repr(target)
    for secret in ("auth-secret-1", "priv-secret-1", "ro-secret", "rw-secret"):
        assert secret not in text
    assert "ops" in text


def test_set_values_check_their_range() -> None:
    Integer(-(2**31))
    Gauge(2**32 - 1)
    with pytest.raises(ValueError, match="out of range"):
        Integer(2**31)
    with pytest.raises(ValueError, match="out of range"):
        Gauge(-1)
    with pytest.raises(ValueError, match="dotted IPv4"):
        IpAddress("10.0.0.256")
    with pytest.raises(ValueError, match="numeric dotted"):
        Oid(".1.3.6")


def test_read_helpers() -> None:
    assert as_text(b"AP8941\x00 ") == "AP8941"
    assert as_text(MISSING) is None
    assert as_text(42) == "42"
    assert expect_int("pdu", "1.3.6.1", 5) == 5
    with pytest.raises(ProtocolError, match=r"1\.3\.6\.1 answered b'x'"):
        expect_int("pdu", "1.3.6.1", b"x")
