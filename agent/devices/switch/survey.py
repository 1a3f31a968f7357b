"""What a switch is and how its ports are set, read without writing anything: for
``cleanroom probe`` and health, on a switch that may be in no config.

- vendor: the enterprise number of the sysObjectID (``ENTERPRISES``, IANA's numbers);
- model, serial, firmware: the chassis row of ENTITY-MIB (the first entPhysicalClass
  chassis(3) row; the software revision, else the firmware revision);
- ports: BRIDGE-MIB's bridge ports (dot1dBasePortIfIndex); a Cisco switch answers
  BRIDGE-MIB per VLAN context (its default context lists VLAN 1's ports, or none), so
  there every switching interface (one with a vmVlan or a trunk row) is a port too: with
  no bridge rows at all they are numbered 1, 2, ... in ifIndex order; beside bridge rows,
  those the default context does not list are shown with no port number (``port`` None:
  the drivers cannot address them by bridge port);
- PVID: Q-BRIDGE-MIB dot1qPvid of each bridge port, also when no membership table
  answers; a value outside 1..4094 is no VLAN (VlanIndex 0 on a routed port): None.
  Rows for bridge ports the switch does not list are left out, as are PortList bits;
- PortLists written as hexadecimal text instead of a bitmap (every row of the table an
  even run of ASCII hex digits: ZTE ZXR10 5250) are read as that text;
- membership, the first source that answers: Q-BRIDGE-MIB's static table ("static"),
  its current table ("current"), CISCO-VLAN-MEMBERSHIP-MIB vmVlan with CISCO-VTP-MIB's
  trunk table ("cisco"), else "none" with the note "membership not readable".
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from agent.adapters.snmp import SnmpClient, Value, as_text
from agent.devices.enterprises import enterprise_of, vendor_of
from agent.devices.switch import membership as mem
from agent.devices.switch import mibs
from agent.errors import NegativeReply, ProtocolError

Membership = Literal["static", "current", "cisco", "none"]


# Every column the survey walks, in one gather.
_COLUMNS = (
    mibs.BASE_PORT_IF_INDEX,
    mibs.IF_NAME,
    mibs.IF_DESCR,
    mibs.ENT_CLASS,
    mibs.ENT_MODEL,
    mibs.ENT_SERIAL,
    mibs.ENT_SOFTWARE_REV,
    mibs.ENT_FIRMWARE_REV,
    mibs.PVID,
    mibs.STATIC_EGRESS,
    mibs.STATIC_UNTAGGED,
    mibs.CURRENT_EGRESS,
    mibs.CURRENT_UNTAGGED,
    *mem.CISCO_COLUMNS,
)


@dataclass(frozen=True, slots=True)
class SurveyPort:
    # bridge port (Cisco without BRIDGE-MIB rows: position in ifIndex order; a Cisco
    # switching interface the default BRIDGE-MIB context does not list: None)
    port: int | None
    if_index: int | None
    name: str  # ifName, else ifDescr
    pvid: int | None
    untagged: tuple[int, ...]
    tagged: tuple[int, ...]
    trunk: bool = False  # Cisco: vlanTrunkPortDynamicStatus trunking(1)


@dataclass(frozen=True, slots=True)
class SwitchSurvey:
    sys_object_id: str
    enterprise: int | None
    vendor: str  # "" when the enterprise number is not in ENTERPRISES
    model: str
    serial: str
    firmware: str
    port_count: int
    ports: tuple[SurveyPort, ...]
    membership: Membership
    note: str  # "membership not readable: ..." when membership is "none"
    tables: Mapping[str, str]  # "MIB::object" -> "read" | "absent" | "unreadable: why"


async def _walk(client: SnmpClient, column: str, tables: dict[str, str]) -> list[tuple[str, Value]]:
    try:
        rows = await client.walk(column)
    except (ProtocolError, NegativeReply) as exc:
        tables[mibs.NAMES[column]] = f"unreadable: {exc}"
        return []
    tables[mibs.NAMES[column]] = "read" if rows else "absent"
    return rows


def _text(value: Value | None) -> str:
    return (as_text(value) or "") if value is not None else ""


def chassis(rows: list[tuple[str, Value]]) -> tuple[str, str, str]:
    """(model, serial, firmware) of the first chassis(3) row of entPhysicalTable, from
    rows of its columns (a walk of entPhysicalEntry, or of the columns one by one)."""
    classes = mem.ints(rows, mibs.ENT_CLASS)
    chassis_rows = [i for i in sorted(classes) if classes[i] == mibs.ENT_CHASSIS]
    if not chassis_rows:
        return "", "", ""
    index = ".".join(str(p) for p in chassis_rows[0])
    values = dict(rows)

    def get(column: str) -> str:
        return _text(values.get(f"{column}.{index}"))

    firmware = get(mibs.ENT_SOFTWARE_REV) or get(mibs.ENT_FIRMWARE_REV)
    return get(mibs.ENT_MODEL), get(mibs.ENT_SERIAL), firmware


Decoded = tuple[int | None, int | None, mem.PortView | None]  # (port, ifIndex, view)


def decode_ports(rows: dict[str, list[tuple[str, Value]]]) -> tuple[Membership, list[Decoded]]:
    """(membership source, [(port, ifIndex, view)]) from the walked columns, ports in
    order (numbered ports first, then interfaces without a bridge port by ifIndex)."""
    pvid = {
        i[0]: v
        for i, v in mem.ints(rows[mibs.PVID], mibs.PVID).items()
        if len(i) == 1 and mibs.VLAN_MIN <= v <= mibs.VLAN_MAX
    }
    cisco_ifs = mem.cisco_if_indexes(rows[mibs.VM_VLAN], rows[mibs.TRUNK_DYNAMIC_STATUS])
    ports = mem.port_map(rows[mibs.BASE_PORT_IF_INDEX], cisco_ifs)
    sources: tuple[tuple[Membership, str, str], ...] = (
        ("static", mibs.STATIC_EGRESS, mibs.STATIC_UNTAGGED),
        ("current", mibs.CURRENT_EGRESS, mibs.CURRENT_UNTAGGED),
    )
    for source, egress_col, untagged_col in sources:
        text = mem.hex_text(
            [
                *mem.octets(rows[egress_col], egress_col).values(),
                *mem.octets(rows[untagged_col], untagged_col).values(),
            ]
        )
        egress = mem.vlan_portlists(rows[egress_col], egress_col, as_hex_text=text)
        if egress:
            untagged = mem.vlan_portlists(rows[untagged_col], untagged_col, as_hex_text=text)
            numbers = ports or {p: p for p in sorted(set(pvid).union(*egress.values()))}
            views = mem.qbridge_ports(numbers, pvid, egress, untagged)
            return source, [(p, ports.get(p), views.get(p)) for p in sorted(set(numbers))]
    if cisco_ifs:
        by_if = mem.cisco_views(rows)
        numbered = set(ports.values())
        found: list[Decoded] = [(p, i, by_if.get(i)) for p, i in sorted(ports.items())]
        found += [(None, i, by_if.get(i)) for i in cisco_ifs if i not in numbered]
        return "cisco", found
    # No membership table: each bridge port's PVID is still what the switch says.
    views = {p: mem.PortView(v, frozenset(), frozenset()) for p, v in pvid.items() if p in ports}
    return "none", [(p, i, views.get(p)) for p, i in sorted(ports.items())]


async def survey(client: SnmpClient) -> SwitchSurvey:
    """Read a switch's identity and port VLANs; never writes."""
    tables: dict[str, str] = {}
    sys_oid_value = await client.get_one(mibs.SYS_OBJECT_ID)
    sys_object_id = sys_oid_value if isinstance(sys_oid_value, str) else ""
    walked = await asyncio.gather(*(_walk(client, c, tables) for c in _COLUMNS))
    rows = dict(zip(_COLUMNS, walked, strict=True))
    entity = (
        mibs.ENT_CLASS,
        mibs.ENT_MODEL,
        mibs.ENT_SERIAL,
        mibs.ENT_SOFTWARE_REV,
        mibs.ENT_FIRMWARE_REV,
    )
    model, serial, firmware = chassis([row for column in entity for row in rows[column]])
    source, decoded = decode_ports(rows)
    names = {i[0]: _text(v) for i, v in _by_index(rows[mibs.IF_DESCR], mibs.IF_DESCR).items()}
    names |= {
        i[0]: t for i, v in _by_index(rows[mibs.IF_NAME], mibs.IF_NAME).items() if (t := _text(v))
    }
    surveyed = tuple(
        SurveyPort(
            port=p,
            if_index=i,
            name=names.get(i, "") if i is not None else "",
            pvid=view.pvid if view else None,
            untagged=tuple(sorted(view.untagged)) if view else (),
            tagged=tuple(sorted(view.tagged)) if view else (),
            trunk=view.trunk if view else False,
        )
        for p, i, view in decoded
    )
    note = ""
    if source == "none":
        note = (
            "membership not readable: the switch answers neither Q-BRIDGE-MIB's static or "
            "current VLAN table nor CISCO-VLAN-MEMBERSHIP-MIB vmVlan"
        )
    enterprise = enterprise_of(sys_object_id)
    return SwitchSurvey(
        sys_object_id=sys_object_id,
        enterprise=enterprise,
        vendor=vendor_of(sys_object_id),
        model=model,
        serial=serial,
        firmware=firmware,
        port_count=len(surveyed),
        ports=surveyed,
        membership=source,
        note=note,
        tables=tables,
    )


def _by_index(rows: list[tuple[str, Value]], column: str) -> dict[tuple[int, ...], Value]:
    return {
        mibs.index_of(oid, column): value for oid, value in rows if oid.startswith(column + ".")
    }
