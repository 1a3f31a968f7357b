"""The PortList codec: exact bit order (port 1 = MSB of the first octet), any length,
round trips for random sets, and bitmaps as real switches and their tools print them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.devices.switch import portlist

# Bitmaps published with the port set they stand for, as switches answer them:
# - a Q-BRIDGE provisioning script for an 8+2 port switch sets VLAN 1 members with
#   `snmpset ... 1.3.6.1.2.1.17.7.1.4.3.1.2.1 x F7C00000` "ports 1,2,3,4,6,7,8,9,10";
# - a 128-port switch answering `dot1qVlanStaticUntaggedPorts.1 = Hex-STRING: FF x 16`
#   for "every port untagged in VLAN 1" (the factory state);
# - a monitoring tool's captured walk of an unused VLAN: eight zero octets, no member;
# - RFC 4363's rule applied by hand: octet 1 = 0b11000000 is ports 1 and 2;
# - the egress bitmap a D-Link DES-3028 (24 ports) runbook writes, `x 00001000`,
#   octet 3 bit 4: port 20.
KNOWN = [
    ("F7C00000", {1, 2, 3, 4, 6, 7, 8, 9, 10}),
    ("FF" * 16, set(range(1, 129))),
    ("00" * 8, set()),
    ("C0", {1, 2}),
    ("00001000", {20}),
    ("80", {1}),
    ("01", {8}),
    ("0080", {9}),
    ("000000000001", {48}),
]


@pytest.mark.parametrize(("hex_bitmap", "ports"), KNOWN)
def test_known_bitmaps_decode(hex_bitmap: str, ports: set[int]) -> None:
    assert portlist.decode(bytes.fromhex(hex_bitmap)) == ports


@pytest.mark.parametrize(("hex_bitmap", "ports"), KNOWN)
def test_known_bitmaps_encode_at_the_switch_length(hex_bitmap: str, ports: set[int]) -> None:
    raw = bytes.fromhex(hex_bitmap)
    assert portlist.encode(ports, len(raw)) == raw


@given(
    st.integers(0, 4096).flatmap(
        lambda n: st.tuples(st.just(n), st.sets(st.integers(1, max(n, 1))))
    )
)
def test_round_trip_random_sets(case: tuple[int, set[int]]) -> None:
    count, ports = case
    ports = {p for p in ports if p <= count}
    raw = portlist.encode(ports, portlist.octets_for(count))
    assert len(raw) == (count + 7) // 8
    assert portlist.decode(raw) == ports


@given(st.binary(max_size=600))
def test_decode_then_encode_is_identity_for_any_bitmap(raw: bytes) -> None:
    assert portlist.encode(portlist.decode(raw), len(raw)) == raw


@given(st.sets(st.integers(1, 64)), st.integers(0, 64))
def test_trailing_octets_do_not_change_the_set(ports: set[int], extra: int) -> None:
    raw = portlist.encode(ports, 8)
    assert portlist.decode(raw + bytes(extra)) == ports


def test_port_that_does_not_fit_is_refused_with_its_number() -> None:
    with pytest.raises(ValueError, match="port 25 does not fit in 3 octets"):
        portlist.encode({1, 25}, 3)
    with pytest.raises(ValueError, match="port 0"):
        portlist.encode({0}, 3)


@given(
    st.binary(min_size=1, max_size=16),
    st.sets(st.integers(1, 24)),
)
def test_replace_keeps_unmanaged_bits(raw: bytes, wanted: set[int]) -> None:
    managed = set(range(1, 25))
    wanted &= managed
    out = portlist.replace(raw, wanted, managed)
    decoded = portlist.decode(out)
    assert decoded & managed == wanted
    assert decoded - managed == portlist.decode(raw) - managed
    assert len(out) >= len(raw)


def test_replace_refuses_unmanaged_ports() -> None:
    with pytest.raises(ValueError, match=r"ports \[30\]"):
        portlist.replace(b"\0\0\0", {30}, range(1, 25))
