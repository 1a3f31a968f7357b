"""The SNMP Q-BRIDGE-MIB switch driver (RFC 4363 over the SNMP adapter).

Objects (Q-BRIDGE under 1.3.6.1.2.1.17.7.1.4, BRIDGE-MIB under 1.3.6.1.2.1.17):

- dot1dBasePortIfIndex ``17.1.4.1.2.P``: bridge port P -> ifIndex. Config port numbers
  are bridge ports; IF-MIB admin status is indexed by ifIndex, which on most switches
  is *not* the port number (the simulator uses 1000 + P to catch the confusion).
- dot1qVlanStaticEgressPorts ``.3.1.2.V``, UntaggedPorts ``.3.1.4.V``: PortList bitmaps,
  read and written at the length the switch uses; RowStatus ``.3.1.5.V``.
- dot1qPvid ``.5.1.1.P``: indexed by bridge port.
- ifAdminStatus ``1.3.6.1.2.1.2.2.1.7.I`` (up 1, down 2) and ifOperStatus ``.8.I``.

The order of the writes and how they share SET PDUs is the vendor profile's
(`qbridge_quirks`), computed by `qbridge_stages`; this module only turns them into OIDs
and values, and measures them for the PDU size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.adapters.snmp import (
    MESSAGE_RESERVE,
    Gauge,
    Integer,
    OctetString,
    SetValue,
    SnmpTarget,
    expect_bytes,
    expect_int,
    expect_oid,
    varbind_octets,
)
from agent.conf.schema import Switch
from agent.devices.switch import mibs, portlist
from agent.devices.switch.driver import Culprit, SwitchDiff
from agent.devices.switch.model import ActualSwitch
from agent.devices.switch.qbridge_quirks import QBridgeProfile, profile_for
from agent.devices.switch.qbridge_stages import Write, pack, plan_writes
from agent.devices.switch.snmp_session import SnmpSwitch
from agent.errors import NegativeReply, ProtocolError

# The OIDs, each with its MIB name, are in `mibs` (shared with the survey and cisco_ios).
SYS_OBJECT_ID = mibs.SYS_OBJECT_ID
BASE_PORT_IF_INDEX = mibs.BASE_PORT_IF_INDEX
VLAN_STATIC = mibs.VLAN_STATIC
EGRESS = mibs.STATIC_EGRESS
UNTAGGED = mibs.STATIC_UNTAGGED
ROW_STATUS = mibs.STATIC_ROW_STATUS
PVID = mibs.PVID
IF_ADMIN = mibs.IF_ADMIN
IF_OPER = mibs.IF_OPER
UP, DOWN = 1, 2
ACTIVE = 1


def _index(oid: str, column: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid[len(column) + 1 :].split("."))


def _ports_of(write: Write, diff: SwitchDiff) -> tuple[int, ...]:
    """The managed ports a write changes (for a bitmap: whose bit flips)."""
    if write.kind in ("admin", "pvid"):
        return (write.key,)
    if write.kind == "create":  # every port that needs the VLAN
        return tuple(
            sorted(n for n, p in diff.desired.ports.items() if write.key in p.vlans | {p.pvid})
        )
    before = diff.before.egress if write.kind == "egress" else diff.before.untagged
    assert isinstance(write.value, frozenset)
    flipped = write.value ^ before.get(write.key, frozenset())
    return tuple(sorted(flipped & set(diff.desired.ports)))


class QBridgeDriver(SnmpSwitch):
    """One SNMP switch speaking Q-BRIDGE-MIB. ``async with QBridgeDriver(...) as sw:``."""

    def __init__(
        self,
        switch: Switch,
        target: SnmpTarget,
        *,
        profile: QBridgeProfile | None = None,
    ) -> None:
        super().__init__(switch, target)
        self.profile = profile
        self._if_index: dict[int, int] = {}
        self._lengths: dict[int, int] = {}
        self.set_pdus = 0
        self.set_varbinds = 0

    # --- read ------------------------------------------------------------------------

    async def _detect(self) -> QBridgeProfile:
        if self.profile is None:
            value = await self._snmp.get_one(SYS_OBJECT_ID)
            self.profile = profile_for(expect_oid(self.switch_id, SYS_OBJECT_ID, value))
        return self.profile

    async def _port_map(self) -> dict[int, int]:
        # Read once per session: the bridge port to ifIndex mapping changes only when
        # a line card is swapped, and then the switch reboots.
        if not self._if_index:
            rows = await self._snmp.walk(BASE_PORT_IF_INDEX)
            found = {
                _index(oid, BASE_PORT_IF_INDEX)[0]: expect_int(self.switch_id, oid, value)
                for oid, value in rows
            }
            missing = sorted(set(range(1, self._switch.port_count + 1)) - set(found))
            if missing:
                raise ProtocolError(
                    self.switch_id,
                    f"dot1dBasePortIfIndex has no row for bridge ports {missing}; the config "
                    f"says {self._switch.port_count} ports: check switch[].port_count against "
                    "the switch model",
                )
            self._if_index = found
        return self._if_index

    async def read(self) -> ActualSwitch:
        await self._detect()
        if_index = await self._port_map()
        port_of = {i: p for p, i in if_index.items()}
        snmp = self._snmp
        device = self.switch_id
        egress: dict[int, frozenset[int]] = {}
        untagged: dict[int, frozenset[int]] = {}
        active: set[int] = set()
        # Every column at once: the client keeps to the device's max_in_flight, and a
        # read costs the round trips of its longest column instead of the sum of all.
        (
            status_rows,
            egress_rows,
            untagged_rows,
            pvid_rows,
            admin_rows,
            oper_rows,
        ) = await asyncio.gather(
            *(snmp.walk(c) for c in (ROW_STATUS, EGRESS, UNTAGGED, PVID, IF_ADMIN, IF_OPER))
        )
        for oid, value in status_rows:
            if expect_int(device, oid, value) == ACTIVE:
                active.add(_index(oid, ROW_STATUS)[0])
        for column, rows, into in (
            (EGRESS, egress_rows, egress),
            (UNTAGGED, untagged_rows, untagged),
        ):
            for oid, value in rows:
                vid = _index(oid, column)[0]
                raw = expect_bytes(device, oid, value)
                self._lengths[vid] = max(self._lengths.get(vid, 0), len(raw))
                into[vid] = portlist.decode(raw) if vid in active else frozenset()
        pvid = {_index(oid, PVID)[0]: expect_int(device, oid, value) for oid, value in pvid_rows}
        admin: dict[int, bool] = {}
        oper: dict[int, bool] = {}
        for column, rows, into2 in ((IF_ADMIN, admin_rows, admin), (IF_OPER, oper_rows, oper)):
            for oid, value in rows:
                port = port_of.get(_index(oid, column)[0])
                if port is not None:
                    into2[port] = expect_int(device, oid, value) == UP
        return ActualSwitch(
            switch=device,
            vlans=frozenset(active),
            egress=egress,
            untagged=untagged,
            pvid=pvid,
            admin_up=admin,
            oper_up=oper,
            if_index=dict(if_index),
        )

    # --- write -----------------------------------------------------------------------

    def _length(self, vid: int) -> int:
        return self._lengths.get(vid) or portlist.octets_for(
            max(self._switch.port_count, len(self._if_index))
        )

    def _varbind(self, write: Write, profile: QBridgeProfile) -> tuple[str, SetValue]:
        key, value = write.key, write.value
        if write.kind == "admin":
            return f"{IF_ADMIN}.{self._if_index[key]}", Integer(UP if value else DOWN)
        if write.kind == "create":
            return f"{ROW_STATUS}.{key}", Integer(profile.row_create)
        if write.kind == "pvid":
            assert isinstance(value, int)
            return f"{PVID}.{key}", Gauge(value) if profile.pvid_syntax == "gauge" else Integer(
                value
            )
        assert isinstance(value, frozenset)
        column = EGRESS if write.kind == "egress" else UNTAGGED
        return f"{column}.{key}", OctetString(portlist.encode(value, self._length(key)))

    async def apply(self, diff: SwitchDiff) -> None:
        profile = await self._detect()
        await self._port_map()
        self._touched = {}
        varbinds: dict[Write, tuple[str, SetValue]] = {}

        def size(write: Write) -> int:
            varbinds[write] = self._varbind(write, profile)
            return varbind_octets(*varbinds[write])

        budget = profile.max_message_octets - MESSAGE_RESERVE
        for pdu in pack(plan_writes(diff, profile), profile, size, budget):
            chunk = []
            for write in pdu.writes:
                oid, value = varbinds[write]
                self._touched[oid] = _ports_of(write, diff)
                chunk.append((oid, value))
            await self._set(pdu.label, chunk)
        for vid in diff.create_vlans:
            self._lengths.setdefault(vid, self._length(vid))

    async def _set(self, stage: str, varbinds: Sequence[tuple[str, SetValue]]) -> None:
        self.set_pdus += 1
        self.set_varbinds += len(varbinds)
        try:
            await self._snmp.set(varbinds)
        except NegativeReply as exc:
            culprit = self.culprit(exc.oid)
            raise NegativeReply(
                self.switch_id,
                f"stage {stage!r}: the switch refused to set {culprit.what} "
                f"({exc.status or 'error'}); the ports involved are {list(culprit.ports)}; "
                f"check the switch log and that the write community/user may write "
                f"Q-BRIDGE-MIB ({exc})",
                status=exc.status,
                oid=exc.oid,
            ) from exc

    def culprit(self, oid: str) -> Culprit:
        by_if = {i: p for p, i in self._if_index.items()}
        for column, what in ((PVID, "dot1qPvid"), (IF_ADMIN, "ifAdminStatus")):
            if oid.startswith(column + "."):
                index = _index(oid, column)[0]
                port = index if column == PVID else by_if.get(index, 0)
                return Culprit((port,), f"{what} of port {port} ({oid})")
        for column, what in (
            (EGRESS, "dot1qVlanStaticEgressPorts"),
            (UNTAGGED, "dot1qVlanStaticUntaggedPorts"),
            (ROW_STATUS, "dot1qVlanStaticRowStatus"),
        ):
            if oid.startswith(column + "."):
                vid = _index(oid, column)[0]
                return Culprit(self._touched.get(oid, ()), f"{what} of VLAN {vid} ({oid})")
        return Culprit((), oid or "an object the switch did not name")
