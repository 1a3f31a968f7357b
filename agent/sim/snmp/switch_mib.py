"""The switch model published under IF-MIB, BRIDGE-MIB, Q-BRIDGE-MIB, ENTITY-MIB and
ENTITY-SENSOR-MIB."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.sim.snmp import portlist
from agent.sim.snmp import values as v
from agent.sim.snmp.mib import Commit, SetError, Var
from agent.sim.snmp.values import Oid, Tag, Value

if TYPE_CHECKING:
    from agent.sim.snmp.switch import SwitchModel

MIB2 = (1, 3, 6, 1, 2, 1)
IF_NUMBER = (*MIB2, 2, 1, 0)  # IF-MIB::ifNumber
IF_ENTRY = (*MIB2, 2, 2, 1)  # IF-MIB::ifEntry
IFX_ENTRY = (*MIB2, 31, 1, 1, 1)  # IF-MIB::ifXEntry
BRIDGE = (
    *MIB2,
    17,
)  # BRIDGE-MIB::dot1dBridge
BASE_PORT_ENTRY = (*BRIDGE, 1, 4, 1)  # dot1dBasePortEntry
QBRIDGE = (*BRIDGE, 7, 1)  # Q-BRIDGE-MIB::qBridgeMIBObjects
VLAN_CURRENT = (*QBRIDGE, 4, 2, 1)  # dot1qVlanCurrentEntry (TimeMark, VlanIndex)
VLAN_STATIC = (*QBRIDGE, 4, 3, 1)  # dot1qVlanStaticEntry (VlanIndex)
PORT_VLAN = (*QBRIDGE, 4, 5, 1)  # dot1qPortVlanEntry (dot1dBasePort)
ENT_PHYSICAL = (*MIB2, 47, 1, 1, 1, 1)  # ENTITY-MIB::entPhysicalEntry
ENT_SENSOR = (*MIB2, 99, 1, 1, 1)  # ENTITY-SENSOR-MIB::entPhySensorEntry

UP, DOWN = 1, 2
# RowStatus (RFC 2579)
ACTIVE, NOT_IN_SERVICE, NOT_READY, CREATE_AND_GO, CREATE_AND_WAIT, DESTROY = 1, 2, 3, 4, 5, 6
CHASSIS, FAN_BASE, TEMP_SENSOR = 1, 10, 20


def add_switch_objects(sw: SwitchModel) -> None:
    from agent.sim.snmp.switch import VlanRefusedError  # noqa: PLC0415 (import cycle)

    m = sw.mib
    spec = sw.spec
    m.constant(IF_NUMBER, v.integer(spec.ports))

    def guarded(check: Callable[[], None]) -> None:
        try:
            check()
        except VlanRefusedError as exc:
            raise SetError(exc.status, str(exc)) from None

    for p in range(1, spec.ports + 1):
        _add_port(sw, p, guarded)

    # BRIDGE-MIB base and Q-BRIDGE-MIB scalars
    m.constant(
        (*BRIDGE, 1, 1, 0), v.octets(bytes.fromhex("020000") + spec.id.encode()[:3].ljust(3, b"\0"))
    )
    m.constant((*BRIDGE, 1, 2, 0), v.integer(spec.ports))  # dot1dBaseNumPorts
    m.constant((*BRIDGE, 1, 3, 0), v.integer(2))  # dot1dBaseType transparent-only(2)
    m.constant((*QBRIDGE, 1, 1, 0), v.integer(1))  # dot1qVlanVersionNumber version1(1)
    m.constant((*QBRIDGE, 1, 2, 0), v.integer(4094))  # dot1qMaxVlanId
    m.constant((*QBRIDGE, 1, 3, 0), v.gauge(4094))  # dot1qMaxSupportedVlans
    m.scalar((*QBRIDGE, 1, 4, 0), Tag.GAUGE32, lambda: v.gauge(len(sw.vlans)))  # dot1qNumVlans

    def create(index: Oid, value: Value) -> Commit:
        if len(index) != 1:
            raise SetError("noCreation", f"dot1qVlanStaticRowStatus.{index}: index is one VLAN id")
        vid = index[0]
        if value.tag is not Tag.INTEGER:
            raise SetError("wrongType", f"dot1qVlanStaticRowStatus.{vid}: RowStatus is an INTEGER")
        status = value.number
        if status in (ACTIVE, NOT_IN_SERVICE):
            raise SetError(
                "inconsistentValue",
                f"dot1qVlanStaticRowStatus.{vid}: row does not exist; use createAndGo(4)",
            )
        if status == DESTROY:
            return lambda: None
        if status not in (CREATE_AND_GO, CREATE_AND_WAIT):
            raise SetError(
                "wrongValue", f"dot1qVlanStaticRowStatus.{vid}: {status} is not a RowStatus action"
            )
        if not 1 <= vid <= 4094:
            raise SetError("noCreation", f"dot1qVlanStaticRowStatus.{vid}: VLAN ids are 1..4094")
        return lambda: sw.create_vlan(vid, active=status == CREATE_AND_GO)

    for column in (1, 2, 3, 4):
        m.column((*VLAN_STATIC, column))
    m.column((*VLAN_STATIC, 5), create)

    def rows_changed(vid: int) -> None:
        columns = [(*VLAN_STATIC, c) for c in range(1, 6)]
        current = [(*VLAN_CURRENT, c) for c in range(3, 8)]
        m.remove_index(columns, (vid,))
        m.remove_index(current, (0, vid))
        if vid in sw.vlans:
            _add_vlan(sw, vid, guarded)

    sw.rows_changed = rows_changed  # type: ignore[method-assign]
    for vid in sw.vlans:
        _add_vlan(sw, vid, guarded)
    add_entities(sw)


def _add_port(sw: SwitchModel, p: int, guarded: Callable[[Callable[[], None]], None]) -> None:
    m = sw.mib
    i = sw.if_index(p)
    add_interface(sw, p, f"Ethernet1/{p}", f"Eth1/{p}")

    def write_pvid(value: Value) -> Commit:
        vid = value.number
        guarded(lambda: _check_pvid(sw, vid))
        return lambda: sw.set_pvid(p, vid)

    m.constant((*BASE_PORT_ENTRY, 1, p), v.integer(p))  # dot1dBasePort
    m.constant((*BASE_PORT_ENTRY, 2, p), v.integer(i))  # dot1dBasePortIfIndex
    m.add(
        (*PORT_VLAN, 1, p), Var(Tag.GAUGE32, lambda: v.gauge(sw.pvid[p]), write_pvid)
    )  # dot1qPvid
    m.constant((*PORT_VLAN, 2, p), v.integer(1))  # dot1qPortAcceptableFrameTypes admitAll(1)
    m.constant((*PORT_VLAN, 3, p), v.integer(2))  # dot1qPortIngressFiltering false(2)
    m.column((*PORT_VLAN, 1))


def add_interface(sw: SwitchModel, p: int, descr: str, name: str) -> None:
    """IF-MIB's ifEntry and ifXEntry rows of port ``p`` (ifIndex ``sw.if_index(p)``):
    admin status and alias writable, oper status following admin and the cable."""
    m = sw.mib
    i = sw.if_index(p)

    def write_admin(value: Value) -> Commit:
        if value.number not in (UP, DOWN):
            raise SetError(
                "wrongValue",
                f"ifAdminStatus.{i}: {value.number} is not up(1) or down(2) (testing unsupported)",
            )
        return lambda: sw.set_admin(p, value.number == UP)

    def write_alias(value: Value) -> Commit:
        if len(value.octets) > 64:
            raise SetError("wrongLength", f"ifAlias.{i}: {len(value.octets)} > 64 octets")
        return lambda: sw.alias.__setitem__(p, value.octets.decode("utf-8", "replace"))

    m.constant((*IF_ENTRY, 1, i), v.integer(i))  # ifIndex
    m.constant((*IF_ENTRY, 2, i), v.octets(descr))  # ifDescr
    m.constant((*IF_ENTRY, 3, i), v.integer(6))  # ifType ethernetCsmacd(6)
    m.constant((*IF_ENTRY, 4, i), v.integer(9216))  # ifMtu
    m.constant((*IF_ENTRY, 5, i), v.gauge(1_000_000_000))  # ifSpeed
    m.constant((*IF_ENTRY, 6, i), v.octets(bytes([2, 0, 0, 0, p >> 8, p & 0xFF])))  # ifPhysAddress
    m.add(
        (*IF_ENTRY, 7, i),
        Var(Tag.INTEGER, lambda: v.integer(UP if sw.admin_up[p] else DOWN), write_admin),
    )
    m.scalar((*IF_ENTRY, 8, i), Tag.INTEGER, lambda: v.integer(UP if sw.oper_up(p) else DOWN))
    m.scalar(
        (*IF_ENTRY, 9, i), Tag.TIMETICKS, lambda: v.timeticks(sw.last_change[p])
    )  # ifLastChange
    m.constant((*IFX_ENTRY, 1, i), v.octets(name))  # ifName
    m.constant((*IFX_ENTRY, 15, i), v.gauge(1000))  # ifHighSpeed, Mb/s
    m.add((*IFX_ENTRY, 18, i), Var(Tag.OCTET_STRING, lambda: v.octets(sw.alias[p]), write_alias))
    for column in ((IF_ENTRY, 7), (IFX_ENTRY, 18)):
        m.column(column[0] + (column[1],))


def _check_pvid(sw: SwitchModel, vid: int) -> None:
    from agent.sim.snmp.switch import MAX_VLAN, VlanRefusedError  # noqa: PLC0415

    if not 1 <= vid <= MAX_VLAN:
        raise VlanRefusedError("wrongValue", f"dot1qPvid: {vid} outside 1..{MAX_VLAN}")
    if vid not in sw.vlans or not sw.vlans[vid].active:
        raise VlanRefusedError(
            "inconsistentValue", f"dot1qPvid: VLAN {vid} does not exist on {sw.id}"
        )


def _add_vlan(sw: SwitchModel, vid: int, guarded: Callable[[Callable[[], None]], None]) -> None:
    m = sw.mib
    n = sw.spec.ports

    def ports_writer(kind: str) -> Callable[[Value], Commit]:
        def write(value: Value) -> Commit:
            ports = portlist.decode(value.octets)
            bad = sorted(p for p in ports if p > n)
            if bad:
                raise SetError(
                    "wrongValue",
                    f"dot1qVlanStatic{kind}Ports.{vid}: ports {bad} do not exist (1..{n})",
                )
            vlan = sw.vlans[vid]
            if kind == "Untagged" and not ports <= vlan.egress:
                raise SetError(
                    "inconsistentValue",
                    f"dot1qVlanStaticUntaggedPorts.{vid}: ports {sorted(ports - vlan.egress)} "
                    "are not egress members; set dot1qVlanStaticEgressPorts first",
                )
            if kind == "Egress":
                return lambda: sw.set_membership(vid, egress=ports)
            return lambda: sw.set_membership(vid, untagged=ports)

        return write

    def write_name(value: Value) -> Commit:
        if len(value.octets) > 32:
            raise SetError(
                "wrongLength", f"dot1qVlanStaticName.{vid}: {len(value.octets)} > 32 octets"
            )
        return lambda: setattr(sw.vlans[vid], "name", value.octets.decode("utf-8", "replace"))

    def row_status() -> Value:
        return v.integer(ACTIVE if sw.vlans[vid].active else NOT_IN_SERVICE)

    def write_row_status(value: Value) -> Commit:
        status = value.number
        if status == DESTROY:
            guarded(lambda: _check_destroy(sw, vid))
            return lambda: sw.destroy_vlan(vid)
        if status in (CREATE_AND_GO, CREATE_AND_WAIT):
            raise SetError(
                "inconsistentValue", f"dot1qVlanStaticRowStatus.{vid}: VLAN {vid} already exists"
            )
        if status == ACTIVE:
            return lambda: sw.activate_vlan(vid)
        if status == NOT_IN_SERVICE:
            return lambda: sw.deactivate_vlan(vid)
        raise SetError(
            "wrongValue", f"dot1qVlanStaticRowStatus.{vid}: {status} is not a RowStatus value"
        )

    def egress() -> Value:
        return v.octets(sw.portlist(sw.vlans[vid].egress))

    def untagged() -> Value:
        return v.octets(sw.portlist(sw.vlans[vid].untagged))

    m.add(
        (*VLAN_STATIC, 1, vid),
        Var(Tag.OCTET_STRING, lambda: v.octets(sw.vlans[vid].name), write_name),
    )
    m.add((*VLAN_STATIC, 2, vid), Var(Tag.OCTET_STRING, egress, ports_writer("Egress")))
    m.constant((*VLAN_STATIC, 3, vid), v.octets(sw.portlist(set())))  # ForbiddenEgressPorts
    m.add((*VLAN_STATIC, 4, vid), Var(Tag.OCTET_STRING, untagged, ports_writer("Untagged")))
    m.add((*VLAN_STATIC, 5, vid), Var(Tag.INTEGER, row_status, write_row_status))
    cur = (0, vid)  # dot1qVlanTimeMark 0, dot1qVlanIndex
    m.constant((*VLAN_CURRENT, 3, *cur), v.gauge(vid))  # dot1qVlanFdbId
    m.scalar(
        (*VLAN_CURRENT, 4, *cur),
        Tag.OCTET_STRING,
        lambda: v.octets(sw.portlist(sw.vlans[vid].egress if sw.vlans[vid].active else set())),
    )
    m.scalar(
        (*VLAN_CURRENT, 5, *cur),
        Tag.OCTET_STRING,
        lambda: v.octets(sw.portlist(sw.vlans[vid].untagged if sw.vlans[vid].active else set())),
    )
    m.constant(
        (*VLAN_CURRENT, 6, *cur), v.integer(2 if vid == 1 else 1)
    )  # dot1qVlanStatus permanent(2)/other(1)
    m.constant((*VLAN_CURRENT, 7, *cur), v.timeticks(sw.uptime()))  # dot1qVlanCreationTime


def _check_destroy(sw: SwitchModel, vid: int) -> None:
    from agent.sim.snmp.switch import VlanRefusedError  # noqa: PLC0415

    if vid == 1:
        raise VlanRefusedError("wrongValue", f"{sw.id}: the default VLAN 1 cannot be deleted")
    users = sorted(p for p, pv in sw.pvid.items() if pv == vid)
    if users:
        raise VlanRefusedError(
            "inconsistentValue", f"{sw.id}: VLAN {vid} is the PVID of ports {users}"
        )


def add_entities(sw: SwitchModel) -> None:
    m = sw.mib
    spec = sw.spec
    rows = {CHASSIS: (f"{spec.model} chassis", 3, spec.model)}  # entPhysicalClass chassis(3)
    for f in sw.fan_ok:
        rows[FAN_BASE + f] = (f"Fan {f}", 7, "FAN-MOD")  # fan(7)
    rows[TEMP_SENSOR] = ("Board temperature sensor", 8, "TEMP")  # sensor(8)
    for index, (descr, cls, model) in rows.items():
        m.constant((*ENT_PHYSICAL, 2, index), v.octets(descr))  # entPhysicalDescr
        m.constant((*ENT_PHYSICAL, 5, index), v.integer(cls))  # entPhysicalClass
        m.constant((*ENT_PHYSICAL, 7, index), v.octets(descr))  # entPhysicalName
        m.constant(
            (*ENT_PHYSICAL, 10, index), v.octets(spec.firmware if index == CHASSIS else "")
        )  # entPhysicalSoftwareRev
        m.constant(
            (*ENT_PHYSICAL, 11, index), v.octets(spec.serial if index == CHASSIS else "")
        )  # entPhysicalSerialNum
        m.constant((*ENT_PHYSICAL, 13, index), v.octets(model))  # entPhysicalModelName

    def sensor(index: int, kind: int, read: Callable[[], float], ok: Callable[[], bool]) -> None:
        m.constant((*ENT_SENSOR, 1, index), v.integer(kind))  # entPhySensorType
        m.constant((*ENT_SENSOR, 2, index), v.integer(9))  # entPhySensorScale units(9)
        m.constant((*ENT_SENSOR, 3, index), v.integer(0))  # entPhySensorPrecision
        m.scalar(
            (*ENT_SENSOR, 4, index), Tag.INTEGER, lambda: v.integer(round(read()))
        )  # entPhySensorValue
        # entPhySensorOperStatus ok(1) nonoperational(3)
        m.scalar((*ENT_SENSOR, 5, index), Tag.INTEGER, lambda: v.integer(1 if ok() else 3))

    def fan(f: int) -> None:
        sensor(FAN_BASE + f, 10, lambda: 9000.0 if sw.fan_ok[f] else 0.0, lambda: sw.fan_ok[f])

    for f in sw.fan_ok:
        fan(f)  # entPhySensorType rpm(10)
    sensor(TEMP_SENSOR, 8, sw.temperature_c, lambda: True)  # celsius(8)
