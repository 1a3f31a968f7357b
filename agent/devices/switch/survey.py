"""What a switch is and how its ports are set, read without writing anything: for
``cleanroom probe`` and health, on a switch that may be in no config.

- vendor: the enterprise number of the sysObjectID (``ENTERPRISES``, IANA's numbers);
- model, serial, firmware: the chassis row of ENTITY-MIB (the first entPhysicalClass
  chassis(3) row; the software revision, else the firmware revision);
- ports: BRIDGE-MIB's bridge ports (dot1dBasePortIfIndex); a Cisco IOS switch answers
  BRIDGE-MIB per VLAN context only, so there its switching interfaces (those with a
  vmVlan or a trunk row) are numbered 1, 2, ... in ifIndex order;
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
    port: int  # bridge port (Cisco without BRIDGE-MIB rows: position in ifIndex order)
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


def decode_ports(
    rows: dict[str, list[tuple[str, Value]]],
) -> tuple[Membership, dict[int, int], dict[int, mem.PortView]]:
    """(membership source, {port: ifIndex}, {port: view}) from the walked columns."""
    pvid = {i[0]: v for i, v in mem.ints(rows[mibs.PVID], mibs.PVID).items() if len(i) == 1}
    cisco_ifs = mem.cisco_if_indexes(rows[mibs.VM_VLAN], rows[mibs.TRUNK_DYNAMIC_STATUS])
    ports = mem.port_map(rows[mibs.BASE_PORT_IF_INDEX], cisco_ifs)
    sources: tuple[tuple[Membership, str, str], ...] = (
        ("static", mibs.STATIC_EGRESS, mibs.STATIC_UNTAGGED),
        ("current", mibs.CURRENT_EGRESS, mibs.CURRENT_UNTAGGED),
    )
    for source, egress_col, untagged_col in sources:
        egress = mem.vlan_portlists(rows[egress_col], egress_col)
        if egress:
            untagged = mem.vlan_portlists(rows[untagged_col], untagged_col)
            numbers = ports or {p: p for p in sorted(set(pvid).union(*egress.values()))}
            views = mem.qbridge_ports(numbers, pvid, egress, untagged)
            return source, ports, views
    if cisco_ifs:
        by_if = mem.cisco_views(rows)
        views = {p: by_if[i] for p, i in ports.items() if i in by_if}
        return "cisco", ports, views
    return "none", ports, {}


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
    source, ports, views = decode_ports(rows)
    names = {i[0]: _text(v) for i, v in _by_index(rows[mibs.IF_DESCR], mibs.IF_DESCR).items()}
    names |= {
        i[0]: t for i, v in _by_index(rows[mibs.IF_NAME], mibs.IF_NAME).items() if (t := _text(v))
    }
    numbers = sorted(set(ports) | set(views))
    surveyed = tuple(
        SurveyPort(
            port=p,
            if_index=ports.get(p),
            name=names.get(ports[p], "") if p in ports else "",
            pvid=views[p].pvid if p in views else None,
            untagged=tuple(sorted(views[p].untagged)) if p in views else (),
            tagged=tuple(sorted(views[p].tagged)) if p in views else (),
            trunk=views[p].trunk if p in views else False,
        )
        for p in numbers
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
        port_count=len(numbers),
        ports=surveyed,
        membership=source,
        note=note,
        tables=tables,
    )


def _by_index(rows: list[tuple[str, Value]], column: str) -> dict[tuple[int, ...], Value]:
    return {
        mibs.index_of(oid, column): value for oid, value in rows if oid.startswith(column + ".")
    }
