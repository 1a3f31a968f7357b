"""Decode VLAN membership from the tables a switch publishes: pure, shared by the survey
(read-only, any switch) and the drivers (`qbridge`, `cisco_ios`).

Q-BRIDGE-MIB stores membership per VLAN (a PortList of bridge ports); Cisco IOS stores
an access port's VLAN per interface (CISCO-VLAN-MEMBERSHIP-MIB ``vmVlan``) and a trunk's
VLANs as a bitmap per interface (CISCO-VTP-MIB ``vlanTrunkPortVlansEnabled*``). Both end
as one view per port: PVID, untagged VLANs, tagged VLANs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent.adapters.snmp import Value
from agent.devices.switch import mibs, portlist

Rows = Iterable[tuple[str, Value]]


def ints(rows: Rows, column: str) -> dict[tuple[int, ...], int]:
    """The integer rows of ``column`` by index; rows of other types are left out."""
    out: dict[tuple[int, ...], int] = {}
    for oid, value in rows:
        if oid.startswith(column + ".") and isinstance(value, int):
            out[mibs.index_of(oid, column)] = value
    return out


def octets(rows: Rows, column: str) -> dict[tuple[int, ...], bytes]:
    """The OCTET STRING rows of ``column`` by index."""
    out: dict[tuple[int, ...], bytes] = {}
    for oid, value in rows:
        if oid.startswith(column + ".") and isinstance(value, bytes):
            out[mibs.index_of(oid, column)] = value
    return out


_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def hex_text(values: Iterable[bytes]) -> bool:
    """Whether a switch writes its PortLists as hexadecimal text ("800000000000f0", as a
    ZTE ZXR10 5250 does) rather than as the bitmap RFC 4363 defines: every value is an
    even number of ASCII hex digits. A real bitmap fails this at its first empty octet
    (0x00 is no hex digit), so the test is made over every row of a table at once."""
    found = False
    for raw in values:
        if not raw or len(raw) % 2 or not _HEX_DIGITS.issuperset(raw):
            return False
        found = True
    return found


def vlan_portlists(
    rows: Rows, column: str, *, as_hex_text: bool = False
) -> dict[int, frozenset[int]]:
    """Q-BRIDGE PortList rows as {VLAN: bridge ports}. The VLAN is the last index part,
    so the static table (``.V``) and the current table (``.TimeMark.V``) both decode;
    for the current table the row of the latest TimeMark wins. ``as_hex_text``: the
    values are the PortList written in hexadecimal text (see :func:`hex_text`)."""
    out: dict[int, frozenset[int]] = {}
    marks: dict[int, tuple[int, ...]] = {}
    for index, raw in octets(rows, column).items():
        if not index:
            continue
        vid, mark = index[-1], index[:-1]
        if vid not in marks or mark >= marks[vid]:
            marks[vid] = mark
            out[vid] = portlist.decode(bytes.fromhex(raw.decode("ascii")) if as_hex_text else raw)
    return out


def trunk_vlans(
    bitmaps: Mapping[int, Mapping[tuple[int, ...], bytes]],
) -> dict[int, frozenset[int]]:
    """{ifIndex: VLANs} from CISCO-VTP-MIB's trunk bitmaps, given as {first VLAN: rows}.
    Bit 0 (MSB of the first octet) is VLAN ``first``; a PortList counts from 1, hence -1."""
    out: dict[int, set[int]] = {}
    for first, rows in bitmaps.items():
        for index, raw in rows.items():
            if len(index) == 1:
                vlans = {first + bit - 1 for bit in portlist.decode(raw)}
                out.setdefault(index[0], set()).update(v for v in vlans if 1 <= v <= 4094)
    return {i: frozenset(v) for i, v in out.items()}


@dataclass(frozen=True, slots=True)
class PortView:
    """One port's VLANs as a switch reports them."""

    pvid: int | None
    untagged: frozenset[int]
    tagged: frozenset[int]
    trunk: bool = False


def qbridge_ports(
    ports: Iterable[int],
    pvid: Mapping[int, int],
    egress: Mapping[int, frozenset[int]],
    untagged: Mapping[int, frozenset[int]],
) -> dict[int, PortView]:
    """Per-VLAN PortLists turned into per-port views, for the bridge ports ``ports``
    (bits for ports the switch does not list are left out: some agents set them)."""
    out = {}
    for port in ports:
        members = frozenset(v for v, ps in egress.items() if port in ps)
        plain = frozenset(v for v, ps in untagged.items() if port in ps) & members
        out[port] = PortView(pvid.get(port), plain, members - plain)
    return out


def cisco_ports(
    if_indexes: Iterable[int],
    *,
    access_vlan: Mapping[int, int],
    trunking: Mapping[int, int],
    native: Mapping[int, int],
    enabled: Mapping[int, frozenset[int]],
    existing: frozenset[int] | None = None,
) -> dict[int, PortView]:
    """{ifIndex: view} of a Cisco IOS switch. A port whose vlanTrunkPortDynamicStatus is
    trunking(1) carries its enabled VLANs tagged and its native VLAN untagged (when the
    native VLAN is enabled); any other port with a vmVlan is an access port of that VLAN.
    ``existing`` (the VLANs of vtpVlanState) limits a trunk's VLANs to real ones: the
    bitmap of a trunk allowing "all" has every bit set."""
    out = {}
    for i in if_indexes:
        if trunking.get(i) == mibs.TRUNKING:
            vlans = enabled.get(i, frozenset())
            if existing is not None:
                vlans &= existing
            nat = native.get(i)
            plain = frozenset({nat}) & vlans if nat else frozenset()
            out[i] = PortView(nat, plain, vlans - plain, trunk=True)
        elif i in access_vlan:
            vid = access_vlan[i]
            out[i] = PortView(vid, frozenset({vid}), frozenset())
    return out


def cisco_if_indexes(vm_rows: Rows, trunk_status_rows: Rows) -> list[int]:
    """The switching interfaces of a Cisco IOS switch: those with a vmVlan or a trunk
    row, in ifIndex order (what numbers the ports of a switch with no BRIDGE-MIB rows)."""
    found = {i[0] for i in ints(vm_rows, mibs.VM_VLAN) if len(i) == 1}
    found |= {i[0] for i in ints(trunk_status_rows, mibs.TRUNK_DYNAMIC_STATUS) if len(i) == 1}
    return sorted(found)


def port_map(base_rows: Rows, fallback_if_indexes: Iterable[int] = ()) -> dict[int, int]:
    """{port: ifIndex}: BRIDGE-MIB's bridge ports when the switch lists them, else the
    ``fallback_if_indexes`` numbered 1, 2, ... in ifIndex order."""
    base = {i[0]: v for i, v in ints(base_rows, mibs.BASE_PORT_IF_INDEX).items() if len(i) == 1}
    if base:
        return dict(sorted(base.items()))
    return dict(enumerate(sorted(fallback_if_indexes), 1))


# The Cisco IOS columns `cisco_views` decodes, walked one by one by its callers.
CISCO_COLUMNS: tuple[str, ...] = (
    mibs.VM_VLAN,
    mibs.VTP_VLAN_STATE,
    mibs.TRUNK_DYNAMIC_STATUS,
    mibs.TRUNK_NATIVE_VLAN,
    *(column for column, _ in mibs.TRUNK_BITMAPS),
)
OPERATIONAL = 1  # CISCO-VTP-MIB vtpVlanState operational(1)


def vtp_vlans(state_rows: Rows) -> dict[int, int]:
    """{VLAN: vtpVlanState} (index: management domain, VLAN)."""
    return {i[-1]: s for i, s in ints(state_rows, mibs.VTP_VLAN_STATE).items() if len(i) == 2}


def _by_if(rows: Rows, column: str) -> dict[int, int]:
    return {i[0]: v for i, v in ints(rows, column).items() if len(i) == 1}


def cisco_views(rows: Mapping[str, list[tuple[str, Value]]]) -> dict[int, PortView]:
    """{ifIndex: view} of a Cisco IOS switch from the walked ``CISCO_COLUMNS``."""
    if_indexes = cisco_if_indexes(rows[mibs.VM_VLAN], rows[mibs.TRUNK_DYNAMIC_STATUS])
    existing = frozenset(
        v for v, s in vtp_vlans(rows[mibs.VTP_VLAN_STATE]).items() if s == OPERATIONAL
    )
    return cisco_ports(
        if_indexes,
        access_vlan=_by_if(rows[mibs.VM_VLAN], mibs.VM_VLAN),
        trunking=_by_if(rows[mibs.TRUNK_DYNAMIC_STATUS], mibs.TRUNK_DYNAMIC_STATUS),
        native=_by_if(rows[mibs.TRUNK_NATIVE_VLAN], mibs.TRUNK_NATIVE_VLAN),
        enabled=trunk_vlans(
            {first: octets(rows[column], column) for column, first in mibs.TRUNK_BITMAPS}
        ),
        existing=existing or None,
    )
