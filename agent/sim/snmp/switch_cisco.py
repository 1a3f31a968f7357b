"""A Cisco Catalyst running IOS: the same port and VLAN state as `switch.SwitchModel`,
published the way IOS publishes it, written from CISCO-VLAN-MEMBERSHIP-MIB and
CISCO-VTP-MIB (independently of the agent's driver):

- IF-MIB ports GigabitEthernet0/P at ifIndex 10100 + P, ifAdminStatus writable;
- CISCO-VLAN-MEMBERSHIP-MIB vmMembershipTable (1.3.6.1.4.1.9.9.68.1.2.2.1, by ifIndex):
  vmVlanType static(1), vmVlan (read-write: the access port's VLAN), vmPortStatus;
  rows for access ports only, as a Catalyst 3560 answers;
- CISCO-VTP-MIB (1.3.6.1.4.1.9.9.46.1): vtpVlanTable (state, type, name per domain 1 and
  VLAN, with the default VLANs 1002-1005), vlanTrunkPortTable for every port (dynamic
  status, native VLAN, the four VlansEnabled bitmaps: an access port's allow "all", as on
  a real one), and the edit buffer: vtpVlanEditOperation copy/apply/release,
  vtpVlanEditBufferOwner, vtpVlanApplyStatus (inProgress for ``apply_delay_s``), and the
  vtpVlanEditTable's RowStatus, type, name and 802.10 SAID, written only;
- ENTITY-MIB / ENTITY-SENSOR-MIB as the generic switch;
- no BRIDGE-MIB and no Q-BRIDGE-MIB (IOS answers BRIDGE-MIB per VLAN context only): a
  Q-BRIDGE write answers notWritable, as a Catalyst does.

Trunks are fixed by the spec (``trunks``: port -> (native VLAN, allowed VLANs)); a vmVlan
written on a trunk is kept, as IOS keeps ``switchport access vlan`` on a trunk, and changes
nothing until the port is an access port.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.sim.snmp import portlist
from agent.sim.snmp import values as v
from agent.sim.snmp.device import Clock
from agent.sim.snmp.mib import Commit, Creator, SetError, Var
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.switch import MAX_VLAN, SwitchModel, SwitchSpec, VlanRefusedError
from agent.sim.snmp.switch_mib import IF_NUMBER, add_entities, add_interface
from agent.sim.snmp.values import Oid, Tag, Value

CISCO = (1, 3, 6, 1, 4, 1, 9)
VM_ENTRY = (*CISCO, 9, 68, 1, 2, 2, 1)  # CISCO-VLAN-MEMBERSHIP-MIB::vmMembershipEntry
VTP = (*CISCO, 9, 46, 1)  # CISCO-VTP-MIB::vtpMIBObjects
VTP_VLAN_ENTRY = (*VTP, 3, 1, 1)  # vtpVlanEntry (managementDomainIndex, vtpVlanIndex)
EDIT_CONTROL_ENTRY = (*VTP, 4, 1, 1)  # vtpEditControlEntry (managementDomainIndex)
EDIT_ENTRY = (*VTP, 4, 2, 1)  # vtpVlanEditEntry (managementDomainIndex, vtpVlanEditIndex)
TRUNK_ENTRY = (*VTP, 6, 1, 1)  # vlanTrunkPortEntry (ifIndex)
DOMAIN = 1

# vtpVlanEditOperation none(1) copy(2) apply(3) release(4) restartTimer(5)
NONE, COPY, APPLY, RELEASE, RESTART_TIMER = 1, 2, 3, 4, 5
# vtpVlanApplyStatus
IN_PROGRESS, SUCCEEDED, INCONSISTENT_EDIT, EDIT_BUFFER_EMPTY, NOT_PRIMARY = 1, 2, 4, 8, 10
ACTIVE, CREATE_AND_GO, CREATE_AND_WAIT, DESTROY = 1, 4, 5, 6  # RowStatus
TRUNKING, NOT_TRUNKING = 1, 2  # vlanTrunkPortDynamicStatus
DEFAULT_VLANS = {
    1: "default",
    1002: "fddi-default",
    1003: "token-ring-default",
    1004: "fddinet-default",
    1005: "trnet-default",
}
EDIT_COLUMNS = {2: "vtpVlanEditState", 3: "vtpVlanEditType", 4: "vtpVlanEditName"}
EDIT_COLUMNS |= {6: "vtpVlanEditDot10Said", 11: "vtpVlanEditRowStatus"}


@dataclass(frozen=True)
class CiscoSwitchSpec(SwitchSpec):
    model: str = "WS-C3560G-48TS-E"
    firmware: str = "12.2(55)SE3"
    vlans: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_VLANS))
    if_index_base: int = 10100
    sys_object_id: tuple[int, ...] = (*CISCO, 1, 617)  # a Catalyst 3560G, as recorded
    trunks: Mapping[int, tuple[int, frozenset[int]]] = field(default_factory=dict)
    apply_delay_s: float = 0.2  # vtpVlanApplyStatus stays inProgress this long
    # False: a VTP version 3 secondary server, whose apply fails with notPrimaryServer(10)
    vtp_primary: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for port, (native, allowed) in self.trunks.items():
            if not 1 <= port <= self.ports:
                raise ValueError(f"CiscoSwitchSpec {self.id!r}: trunk port {port} not in 1..")
            missing = sorted(({native} | set(allowed)) - set(self.vlans))
            if missing:
                raise ValueError(
                    f"CiscoSwitchSpec {self.id!r}: trunk port {port} uses VLANs {missing} "
                    "that are not in vlans"
                )


class CiscoSwitchModel(SwitchModel):
    kind = "switch"

    def __init__(
        self, spec: CiscoSwitchSpec, set_log: SetLog, clock: Clock = time.monotonic
    ) -> None:
        self.cisco = spec
        self.access_vlan: dict[int, int] = {}
        self.edit_buffer: dict[int, dict[str, int | bytes]] | None = None
        self.edit_owner = b""
        self.apply_status = SUCCEEDED
        self._apply_due: float | None = None
        super().__init__(spec, set_log, clock)

    # -- state ----------------------------------------------------------------------

    def _publish(self) -> None:
        spec = self.cisco
        for port in self.pvid:
            self.access_vlan[port] = 1
        for port, (native, allowed) in spec.trunks.items():
            for vid, vlan in self.vlans.items():
                vlan.egress.discard(port)
                vlan.untagged.discard(port)
                if vid in allowed or vid == native:
                    vlan.egress.add(port)
            self.vlans[native].untagged.add(port)
            self.pvid[port] = native
        _add_objects(self)

    def is_trunk(self, port: int) -> bool:
        return port in self.cisco.trunks

    def set_access(self, port: int, vid: int) -> None:
        """vmVlan: the access port's VLAN (its PVID and only, untagged, VLAN)."""
        self._check_port(port)
        if vid not in self.vlans or not self.vlans[vid].active:
            raise VlanRefusedError(
                "inconsistentValue", f"{self.id}: VLAN {vid} does not exist; create it first"
            )
        self.access_vlan[port] = vid
        if self.is_trunk(port):
            return  # kept for when the port becomes an access port
        for vlan in self.vlans.values():
            vlan.egress.discard(port)
            vlan.untagged.discard(port)
        self.vlans[vid].egress.add(port)
        self.vlans[vid].untagged.add(port)
        self.pvid[port] = vid
        self._changed()

    def rows_changed(self, vid: int) -> None:
        m = self.mib
        m.remove_index([(*VTP_VLAN_ENTRY, c) for c in (2, 3, 4)], (DOMAIN, vid))
        if vid in self.vlans:
            _add_vtp_vlan(self, vid)

    # -- the VTP edit buffer ------------------------------------------------------------

    def settle(self) -> None:
        if self._apply_due is not None and self.clock() >= self._apply_due:
            self._apply_due = None
            self.apply_status = self._apply_buffer()

    def _apply_buffer(self) -> int:
        buffer = self.edit_buffer
        if not buffer:
            return EDIT_BUFFER_EMPTY
        if not self.cisco.vtp_primary:
            return NOT_PRIMARY
        for row in buffer.values():
            if row.get("status") != ACTIVE or not row.get("name") or "said" not in row:
                return INCONSISTENT_EDIT
        if 1 not in buffer:
            return INCONSISTENT_EDIT
        for vid in sorted(set(self.vlans) - set(buffer)):
            if any(pv == vid for pv in self.pvid.values()):
                return INCONSISTENT_EDIT
        for vid in sorted(set(self.vlans) - set(buffer)):
            self.destroy_vlan(vid)
        for vid, row in sorted(buffer.items()):
            name = row["name"]
            if vid not in self.vlans and isinstance(name, bytes):
                self.create_vlan(vid, name.decode("ascii", "replace"))
        return SUCCEEDED

    def edit_operation(self, op: int) -> Commit:
        if op == COPY:
            if self.edit_buffer is not None:
                raise SetError(
                    "inconsistentValue",
                    f"vtpVlanEditOperation: the edit buffer is in use by "
                    f"{self.edit_owner.decode('ascii', 'replace')!r}; release it first",
                )

            def copy() -> None:
                self.edit_buffer = {
                    vid: {
                        "status": ACTIVE,
                        "type": 1,
                        "name": vlan.name.encode(),
                        "said": (100000 + vid).to_bytes(4),
                    }
                    for vid, vlan in self.vlans.items()
                }

            return copy
        if op == APPLY:
            if self.edit_buffer is None:
                return lambda: setattr(self, "apply_status", EDIT_BUFFER_EMPTY)

            def apply() -> None:
                self.apply_status = IN_PROGRESS
                self._apply_due = self.clock() + self.cisco.apply_delay_s

            return apply
        if op == RELEASE:

            def release() -> None:
                self.edit_buffer = None
                self.edit_owner = b""

            return release
        if op in (NONE, RESTART_TIMER):
            return lambda: None
        raise SetError("wrongValue", f"vtpVlanEditOperation: {op} is not an operation (1..5)")

    def edit_row(self, index: Oid, column: int, value: Value) -> Commit:
        where = f"{EDIT_COLUMNS[column]}.{'.'.join(map(str, index))}"
        if len(index) != 2 or index[0] != DOMAIN or not 1 <= index[1] <= MAX_VLAN:
            raise SetError("noCreation", f"{where}: index is (domain {DOMAIN}, VLAN 1..4094)")
        buffer = self.edit_buffer
        if buffer is None:
            raise SetError(
                "inconsistentValue", f"{where}: the edit buffer is empty; write copy(2) first"
            )
        vid = index[1]
        wanted = Tag.OCTET_STRING if column in (4, 6) else Tag.INTEGER
        if value.tag is not wanted:
            raise SetError("wrongType", f"{where}: expects {wanted.name}, got {value.tag.name}")
        if column == 11:
            status = value.number
            if status in (CREATE_AND_GO, CREATE_AND_WAIT) and vid in buffer:
                raise SetError("inconsistentValue", f"{where}: VLAN {vid} is already a row")
            if status == DESTROY:

                def drop() -> None:
                    buffer.pop(vid, None)

                return drop
            if status not in (CREATE_AND_GO, CREATE_AND_WAIT, ACTIVE):
                raise SetError("wrongValue", f"{where}: {status} is not a RowStatus action")
            final = ACTIVE if status in (CREATE_AND_GO, ACTIVE) else 2  # notInService
            return lambda: buffer.setdefault(vid, {}).__setitem__("status", final)
        if column == 4 and not 1 <= len(value.octets) <= 32:
            raise SetError("wrongLength", f"{where}: a VLAN name is 1..32 octets")
        if column == 6 and len(value.octets) != 4:
            raise SetError("wrongLength", f"{where}: the 802.10 SAID is 4 octets")
        key = {2: "state", 3: "type", 4: "name", 6: "said"}[column]
        data = value.octets if wanted is Tag.OCTET_STRING else value.number
        return lambda: buffer.setdefault(vid, {}).__setitem__(key, data)


def _add_objects(sw: CiscoSwitchModel) -> None:
    m = sw.mib
    m.constant(IF_NUMBER, v.integer(sw.spec.ports))
    for p in sw.pvid:
        add_interface(sw, p, f"GigabitEthernet0/{p}", f"Gi0/{p}")
        _add_membership(sw, p)
        _add_trunk_port(sw, p)
    for vid in sw.vlans:
        _add_vtp_vlan(sw, vid)
    _add_edit_control(sw)
    add_entities(sw)


def _add_membership(sw: CiscoSwitchModel, p: int) -> None:
    if sw.is_trunk(p):
        return  # a Catalyst lists access ports only
    m = sw.mib
    i = sw.if_index(p)

    def write_vlan(value: Value) -> Commit:
        vid = value.number
        if not 1 <= vid <= MAX_VLAN:
            raise SetError("wrongValue", f"vmVlan.{i}: {vid} outside 1..{MAX_VLAN}")
        if vid not in sw.vlans or not sw.vlans[vid].active:
            raise SetError("inconsistentValue", f"vmVlan.{i}: VLAN {vid} does not exist on {sw.id}")
        return lambda: sw.set_access(p, vid)

    m.constant((*VM_ENTRY, 1, i), v.integer(1))  # vmVlanType static(1)
    m.add((*VM_ENTRY, 2, i), Var(Tag.INTEGER, lambda: v.integer(sw.access_vlan[p]), write_vlan))
    # vmPortStatus inactive(1) active(2) shutdown(3)
    m.scalar(
        (*VM_ENTRY, 3, i),
        Tag.INTEGER,
        lambda: v.integer(3 if not sw.admin_up[p] else 2 if sw.oper_up(p) else 1),
    )


def _vlan_bitmap(vlans: set[int], first: int) -> bytes:
    """128 octets, VLAN ``first`` in the MSB of the first octet (CISCO-VTP-MIB)."""
    bits = {vid - first + 1 for vid in vlans if first <= vid < first + 1024}
    return portlist.encode(bits, 1024)


def _add_trunk_port(sw: CiscoSwitchModel, p: int) -> None:
    m = sw.mib
    i = sw.if_index(p)
    native, allowed = sw.cisco.trunks.get(p, (1, frozenset(range(1, 4095))))
    trunk = sw.is_trunk(p)
    m.constant((*TRUNK_ENTRY, 2, i), v.integer(DOMAIN))  # vlanTrunkPortManagementDomain
    m.constant((*TRUNK_ENTRY, 3, i), v.integer(4 if trunk else 5))  # dot1Q(4) negotiate(5)
    for column, first in ((4, 0), (17, 1024), (18, 2048), (19, 3072)):
        m.constant((*TRUNK_ENTRY, column, i), v.octets(_vlan_bitmap(set(allowed), first)))
    m.constant((*TRUNK_ENTRY, 5, i), v.integer(native))  # vlanTrunkPortNativeVlan
    m.constant((*TRUNK_ENTRY, 6, i), v.integer(ACTIVE))  # vlanTrunkPortRowStatus
    m.constant((*TRUNK_ENTRY, 13, i), v.integer(1 if trunk else 2))  # DynamicState on/off
    m.constant((*TRUNK_ENTRY, 14, i), v.integer(TRUNKING if trunk else NOT_TRUNKING))


def _add_vtp_vlan(sw: CiscoSwitchModel, vid: int) -> None:
    m = sw.mib
    index = (DOMAIN, vid)
    # vtpVlanState operational(1) suspended(2)
    m.scalar(
        (*VTP_VLAN_ENTRY, 2, *index),
        Tag.INTEGER,
        lambda: v.integer(1 if vid in sw.vlans and sw.vlans[vid].active else 2),
    )
    kinds = {1002: 2, 1003: 3, 1004: 4, 1005: 5}  # VlanType: fddi, tokenRing, fddiNet, trNet
    m.constant((*VTP_VLAN_ENTRY, 3, *index), v.integer(kinds.get(vid, 1)))
    m.scalar(
        (*VTP_VLAN_ENTRY, 4, *index),
        Tag.OCTET_STRING,
        lambda: v.octets(sw.vlans[vid].name if vid in sw.vlans else ""),
    )


def _add_edit_control(sw: CiscoSwitchModel) -> None:
    m = sw.mib

    def write_operation(value: Value) -> Commit:
        return sw.edit_operation(value.number)

    def write_owner(value: Value) -> Commit:
        if len(value.octets) > 127:
            raise SetError("wrongLength", "vtpVlanEditBufferOwner: at most 127 octets")
        return lambda: setattr(sw, "edit_owner", value.octets)

    c = EDIT_CONTROL_ENTRY
    m.add((*c, 1, DOMAIN), Var(Tag.INTEGER, lambda: v.integer(NONE), write_operation))
    m.scalar((*c, 2, DOMAIN), Tag.INTEGER, lambda: v.integer(sw.apply_status))
    m.add((*c, 3, DOMAIN), Var(Tag.OCTET_STRING, lambda: v.octets(sw.edit_owner), write_owner))
    for column in EDIT_COLUMNS:
        m.column((*EDIT_ENTRY, column), _edit_creator(sw, column))


def _edit_creator(sw: CiscoSwitchModel, column: int) -> Creator:
    def create(index: Oid, value: Value) -> Commit:
        return sw.edit_row(index, column, value)

    return create
