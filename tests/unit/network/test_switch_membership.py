"""Membership decoding shared by the survey and the drivers: the bit orders of Cisco's
trunk bitmaps (VLAN 0 first) and Q-BRIDGE PortLists (port 1 first), and the current
table's TimeMark index."""

from __future__ import annotations

from agent.devices.switch import membership as mem
from agent.devices.switch import mibs


def test_trunk_bitmaps_count_from_vlan_zero_and_each_block_from_its_first_vlan() -> None:
    first = bytes([0b0110_0000]) + bytes(127)  # VLAN 0 bit clear, VLANs 1 and 2 set
    second = bytes([0b1000_0000, 0, 0b0000_0001]) + bytes(125)  # 1024, and 1024 + 23
    rows: dict[int, dict[tuple[int, ...], bytes]]
    rows = {0: {(10101,): first}, 1024: {(10101,): second}, 3072: {(10101,): b"\xff" * 128}}
    vlans = mem.trunk_vlans(rows)[10101]
    assert {1, 2, 1024, 1047} <= vlans
    assert 0 not in vlans
    assert max(vlans) == 4094  # 4095 is reserved, never a VLAN


def test_current_table_keeps_the_latest_timemark_and_decodes_ports_from_one() -> None:
    column = mibs.CURRENT_EGRESS
    rows = [
        (f"{column}.0.10", bytes([0b1000_0000])),  # port 1 at TimeMark 0
        (f"{column}.500.10", bytes([0b0100_0000])),  # port 2 later
        (f"{column}.0.20", bytes([0, 0b0000_0001])),  # port 16
    ]
    assert mem.vlan_portlists(rows, column) == {10: {2}, 20: {16}}


def test_an_access_port_ignores_its_allow_all_trunk_bitmap() -> None:
    views = mem.cisco_ports(
        [1, 2],
        access_vlan={1: 30, 2: 30},
        trunking={1: 2, 2: mibs.TRUNKING},
        native={1: 1, 2: 5},
        enabled={1: frozenset(range(1, 4095)), 2: frozenset({5, 30, 4000})},
        existing=frozenset({1, 5, 30}),
    )
    assert views[1] == mem.PortView(30, frozenset({30}), frozenset())
    assert views[2] == mem.PortView(5, frozenset({5}), frozenset({30}), trunk=True)


def test_ports_without_bridge_rows_are_numbered_in_ifindex_order() -> None:
    assert mem.port_map([], [10103, 10101, 10102]) == {1: 10101, 2: 10102, 3: 10103}
    base = [(f"{mibs.BASE_PORT_IF_INDEX}.7", 1007)]
    assert mem.port_map(base, [10101]) == {7: 1007}


def test_hex_text_portlists_are_recognised_only_when_every_row_is_hex_text() -> None:
    # ZTE ZXR10 5250: dot1qVlanStaticEgressPorts.201 = "800000000000f0" (ASCII text)
    assert mem.hex_text([b"800000000000f0", b"00000000000000", b"800000000000000000"])
    # a real bitmap has empty octets (0x00 is no hex digit), or an odd length
    assert not mem.hex_text([b"800000000000f0", bytes([0x80, 0, 0, 0])])
    assert not mem.hex_text([b"0"])
    assert not mem.hex_text([])
    column = mibs.STATIC_EGRESS
    rows = [(f"{column}.201", b"800000000000f0")]
    assert mem.vlan_portlists(rows, column, as_hex_text=True) == {201: {1, 49, 50, 51, 52}}
    assert mem.vlan_portlists(rows, column) != {201: {1, 49, 50, 51, 52}}
