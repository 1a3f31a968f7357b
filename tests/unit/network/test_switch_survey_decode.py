"""How the switch survey turns walked columns into ports: PVIDs without a membership
table, PVIDs that name no VLAN, hexadecimal-text PortLists, and Cisco interfaces the
default BRIDGE-MIB context does not list. Rows are written as the recordings of real
switches carry them (snmpsim-data), each case naming its recording."""

from __future__ import annotations

from collections.abc import Sequence

from agent.adapters.snmp import Value
from agent.devices.switch import mibs
from agent.devices.switch.survey import _COLUMNS, decode_ports


def _rows(**columns: Sequence[tuple[str, Value]]) -> dict[str, list[tuple[str, Value]]]:
    rows: dict[str, list[tuple[str, Value]]] = {c: [] for c in _COLUMNS}
    for name, found in columns.items():
        rows[getattr(mibs, name)] = list(found)
    return rows


def _base(ports: dict[int, int]) -> list[tuple[str, Value]]:
    return [(f"{mibs.BASE_PORT_IF_INDEX}.{p}", i) for p, i in ports.items()]


def test_pvids_are_read_when_no_membership_table_answers() -> None:
    # huawei-s5720: dot1dBasePortIfIndex.1 = 6, .29 = 34; dot1qPvid.1 = 30, .29 = 200;
    # no static, current or vmVlan rows
    rows = _rows(
        BASE_PORT_IF_INDEX=_base({1: 6, 29: 34}),
        PVID=[(f"{mibs.PVID}.1", 30), (f"{mibs.PVID}.29", 200)],
    )
    source, ports = decode_ports(rows)
    assert source == "none"
    assert [(p, i, v.pvid if v else None) for p, i, v in ports] == [(1, 6, 30), (29, 34, 200)]


def test_a_pvid_of_zero_or_of_no_bridge_port_is_no_pvid() -> None:
    # ruijie-s5750: dot1qPvid.23 = 0; dptech-dpx800: dot1qPvid.0 = 1 with no bridge port 0
    egress = [(f"{mibs.STATIC_EGRESS}.1", bytes([0b1110_0000]))]
    rows = _rows(
        BASE_PORT_IF_INDEX=_base({1: 1, 2: 2, 3: 3}),
        PVID=[(f"{mibs.PVID}.0", 1), (f"{mibs.PVID}.2", 0), (f"{mibs.PVID}.3", 1)],
        STATIC_EGRESS=egress,
        STATIC_UNTAGGED=egress,
    )
    source, ports = decode_ports(rows)
    assert source == "static"
    assert {p: v.pvid for p, _, v in ports if v} == {1: None, 2: None, 3: 1}


def test_hex_text_portlists_decode_as_the_bitmap_they_write() -> None:
    # zte-zxr10-5250: VLAN 201 egress "800000000000f0", untagged "800000000000000000"
    rows = _rows(
        BASE_PORT_IF_INDEX=_base({p: p for p in range(1, 53)}),
        STATIC_EGRESS=[
            (f"{mibs.STATIC_EGRESS}.1", b"00000000000000"),
            (f"{mibs.STATIC_EGRESS}.201", b"800000000000f0"),
        ],
        STATIC_UNTAGGED=[
            (f"{mibs.STATIC_UNTAGGED}.1", b"000000000000000000"),
            (f"{mibs.STATIC_UNTAGGED}.201", b"800000000000000000"),
        ],
    )
    _, ports = decode_ports(rows)
    views = {p: v for p, _, v in ports if v}
    assert views[1].untagged == {201}
    assert all(views[p].tagged == {201} for p in (49, 50, 51, 52))
    assert all(not views[p].untagged and not views[p].tagged for p in range(2, 49))


def test_cisco_interfaces_outside_the_default_bridge_context_are_ports_too() -> None:
    # cisco-n5000: dot1dBasePortIfIndex lists the VLAN 1 trunk 436281344 as port 147;
    # vmVlan.436215808 = 71 (notTrunking) has no bridge port in the default context
    rows = _rows(
        BASE_PORT_IF_INDEX=_base({147: 436281344}),
        VM_VLAN=[(f"{mibs.VM_VLAN}.436281344", 1), (f"{mibs.VM_VLAN}.436215808", 71)],
        TRUNK_DYNAMIC_STATUS=[
            (f"{mibs.TRUNK_DYNAMIC_STATUS}.436281344", 1),
            (f"{mibs.TRUNK_DYNAMIC_STATUS}.436215808", 2),
        ],
        TRUNK_NATIVE_VLAN=[(f"{mibs.TRUNK_NATIVE_VLAN}.436281344", 1)],
        TRUNK_VLANS_ENABLED=[(f"{mibs.TRUNK_VLANS_ENABLED}.436281344", bytes([0b0100_0000]))],
    )
    source, ports = decode_ports(rows)
    assert source == "cisco"
    found = [(p, i, v.pvid if v else None, v.untagged if v else None) for p, i, v in ports]
    assert found == [(147, 436281344, 1, frozenset({1})), (None, 436215808, 71, frozenset({71}))]
