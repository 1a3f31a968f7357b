"""The Cisco IOS (Catalyst) switch driver: access ports through CISCO-VLAN-MEMBERSHIP-MIB.

Catalyst switches do not take Q-BRIDGE-MIB writes (most answer none of it). Instead:

- an access port's VLAN is ``vmVlan.ifIndex`` (SET INTEGER); it is the port's PVID and
  its one untagged VLAN;
- a trunk (``vlanTrunkPortDynamicStatus`` trunking) carries ``vlanTrunkPortVlansEnabled*``
  tagged and its native VLAN untagged; this driver reads trunks but does not configure
  them: a port the plan wants tagged, or a trunk the plan wants as an access port, is
  refused before anything is written, with the console command that does it;
- a VLAN exists when ``vtpVlanState.<domain>.<vid>`` is operational(1); a missing VLAN is
  created through CISCO-VTP-MIB's edit buffer: ``vtpVlanEditOperation`` copy (with
  ``vtpVlanEditBufferOwner``), one ``vtpVlanEditRowStatus`` createAndGo row per VLAN
  (with its type, name and 802.10 SAID), apply, ``vtpVlanApplyStatus`` polled until it
  leaves inProgress, and release, always;
- ports are shut and opened through IF-MIB ``ifAdminStatus``.

Config ports are bridge ports (BRIDGE-MIB ``dot1dBasePortIfIndex``) when the switch lists
them; IOS answers BRIDGE-MIB per VLAN context only, so without rows the switching
interfaces (those with a vmVlan or a trunk row) are numbered 1, 2, ... in ifIndex order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent.adapters.snmp import Integer, OctetString, SetValue, SnmpTarget, Value
from agent.conf.schema import Switch
from agent.devices.switch import membership as mem
from agent.devices.switch import mibs
from agent.devices.switch.driver import Culprit, SwitchDiff
from agent.devices.switch.model import ActualSwitch, DesiredPort
from agent.devices.switch.snmp_session import SnmpSwitch
from agent.errors import NegativeReply, ProtocolError

UP, DOWN = 1, 2
# vtpVlanEditOperation
COPY, APPLY, RELEASE = 2, 3, 4
# vtpVlanApplyStatus
IN_PROGRESS, SUCCEEDED = 1, 2
APPLY_STATUS = {
    1: "inProgress",
    2: "succeeded",
    3: "configNumberError",
    4: "inconsistentEdit",
    5: "tooBig",
    6: "localNVStoreFail",
    7: "remoteNVStoreFail",
    8: "editBufferEmpty",
    9: "someOtherError",
    10: "notPrimaryServer",
}
CREATE_AND_GO = 4  # RowStatus
ETHERNET = 1  # VlanType
SAID_BASE = 100000  # IOS's default 802.10 SAID of VLAN V is 100000 + V
OWNER = "cleanroom-agent"
MAX_VARBINDS = 32


class CiscoIosDriver(SnmpSwitch):
    """One Catalyst switch running IOS. ``async with CiscoIosDriver(...) as sw:``."""

    def __init__(
        self,
        switch: Switch,
        target: SnmpTarget,
        *,
        apply_timeout: float = 10.0,
        apply_poll: float = 0.2,
    ) -> None:
        super().__init__(switch, target)
        self._apply_timeout = apply_timeout
        self._apply_poll = apply_poll
        self._if_index: dict[int, int] = {}
        self._domain = 1
        self._trunks: frozenset[int] = frozenset()

    # --- read ------------------------------------------------------------------------

    async def _walk_all(self, columns: Sequence[str]) -> dict[str, list[tuple[str, Value]]]:
        rows = await asyncio.gather(*(self._snmp.walk(c) for c in columns))
        return dict(zip(columns, rows, strict=True))

    async def _port_map(self, rows: dict[str, list[tuple[str, Value]]]) -> dict[int, int]:
        if not self._if_index:
            base = await self._snmp.walk(mibs.BASE_PORT_IF_INDEX)
            found = mem.port_map(
                base, mem.cisco_if_indexes(rows[mibs.VM_VLAN], rows[mibs.TRUNK_DYNAMIC_STATUS])
            )
            missing = sorted(set(range(1, self._switch.port_count + 1)) - set(found))
            if missing:
                raise ProtocolError(
                    self.switch_id,
                    f"the switch lists {len(found)} switching ports (BRIDGE-MIB "
                    "dot1dBasePortIfIndex, else interfaces with a CISCO-VLAN-MEMBERSHIP-MIB "
                    f"vmVlan or CISCO-VTP-MIB trunk row) and has none for ports {missing}; "
                    f"the config says {self._switch.port_count}: check switch[].port_count "
                    "against the switch model",
                )
            self._if_index = found
        return self._if_index

    async def read(self) -> ActualSwitch:
        rows = await self._walk_all((*mem.CISCO_COLUMNS, mibs.IF_ADMIN, mibs.IF_OPER))
        if_index = await self._port_map(rows)
        state = mem.ints(rows[mibs.VTP_VLAN_STATE], mibs.VTP_VLAN_STATE)
        if state:
            self._domain = min(i[0] for i in state)
        vlans = frozenset(
            v for v, s in mem.vtp_vlans(rows[mibs.VTP_VLAN_STATE]).items() if s == mem.OPERATIONAL
        )
        views = mem.cisco_views(rows)
        egress: dict[int, set[int]] = {}
        untagged: dict[int, set[int]] = {}
        pvid: dict[int, int] = {}
        trunks = set()
        for port, i in if_index.items():
            view = views.get(i)
            if view is None:
                continue
            if view.trunk:
                trunks.add(port)
            if view.pvid is not None:
                pvid[port] = view.pvid
            for vid in view.untagged | view.tagged:
                egress.setdefault(vid, set()).add(port)
            for vid in view.untagged:
                untagged.setdefault(vid, set()).add(port)
        self._trunks = frozenset(trunks)
        port_of = {i: p for p, i in if_index.items()}
        status: dict[str, dict[int, bool]] = {mibs.IF_ADMIN: {}, mibs.IF_OPER: {}}
        for column, into in status.items():
            for index, value in mem.ints(rows[column], column).items():
                found = port_of.get(index[0]) if len(index) == 1 else None
                if found is not None:
                    into[found] = value == UP
        return ActualSwitch(
            switch=self.switch_id,
            vlans=vlans,
            egress={v: frozenset(ps) for v, ps in egress.items()},
            untagged={v: frozenset(ps) for v, ps in untagged.items()},
            pvid=pvid,
            admin_up=status[mibs.IF_ADMIN],
            oper_up=status[mibs.IF_OPER],
            if_index=dict(if_index),
        )

    # --- write -----------------------------------------------------------------------

    def _check_access(self, number: int, want: DesiredPort) -> None:
        """Refuse, before any write, a port this driver cannot set (trunks)."""
        if want.tagged or want.untagged != {want.pvid}:
            allowed = ",".join(str(v) for v in sorted(want.vlans))
            raise NegativeReply(
                self.switch_id,
                f"{want.label()} must carry VLANs untagged {sorted(want.untagged)} and tagged "
                f"{sorted(want.tagged)} with PVID {want.pvid}: the cisco-ios driver sets access "
                "ports only (CISCO-VLAN-MEMBERSHIP-MIB vmVlan); configure the trunk on the "
                f"switch (switchport mode trunk, allowed vlan {allowed}, native vlan "
                f"{want.pvid}) or give the port an access role",
            )
        if number in self._trunks:
            raise NegativeReply(
                self.switch_id,
                f"{want.label()} is a trunk on the switch (CISCO-VTP-MIB "
                "vlanTrunkPortDynamicStatus trunking) and must be an access port of VLAN "
                f"{want.pvid}; the cisco-ios driver does not change a port's mode: set "
                "'switchport mode access' on the switch",
            )

    async def apply(self, diff: SwitchDiff) -> None:
        if not self._if_index:
            await self.read()
        before = diff.before
        access: list[tuple[int, int]] = []
        for number, want in sorted(diff.desired.ports.items()):
            have = before.port(number)
            if (have.pvid, have.untagged, have.tagged) != (
                want.pvid,
                want.untagged,
                want.tagged,
            ):
                self._check_access(number, want)
                access.append((number, want.pvid))
        self._touched = {}
        shut = [n for n, p in sorted(diff.desired.ports.items()) if not p.admin_up]
        shut = [n for n in shut if before.admin_up.get(n) is not False]
        opened = [n for n, p in sorted(diff.desired.ports.items()) if p.admin_up]
        opened = [n for n in opened if before.admin_up.get(n) is not True]
        await self._set_ports("shut", mibs.IF_ADMIN, [(n, DOWN) for n in shut])
        if diff.create_vlans:
            await self._create_vlans(sorted(diff.create_vlans), diff)
        await self._set_ports("access vlan", mibs.VM_VLAN, access)
        await self._set_ports("open", mibs.IF_ADMIN, [(n, UP) for n in opened])

    async def _set_ports(self, stage: str, column: str, values: list[tuple[int, int]]) -> None:
        varbinds: list[tuple[str, SetValue]] = []
        for port, value in values:
            oid = f"{column}.{self._if_index[port]}"
            self._touched[oid] = (port,)
            varbinds.append((oid, Integer(value)))
        for start in range(0, len(varbinds), MAX_VARBINDS):
            await self._set(stage, varbinds[start : start + MAX_VARBINDS])

    async def _create_vlans(self, vids: list[int], diff: SwitchDiff) -> None:
        domain = self._domain
        for vid in vids:
            users = tuple(
                sorted(n for n, p in diff.desired.ports.items() if vid in p.vlans | {p.pvid})
            )
            self._touched[f"{mibs.VTP_EDIT_ROW_STATUS}.{domain}.{vid}"] = users
        await self._set(
            "create vlans: copy",
            [
                (f"{mibs.VTP_EDIT_OPERATION}.{domain}", Integer(COPY)),
                (f"{mibs.VTP_EDIT_OWNER}.{domain}", OctetString(OWNER.encode())),
            ],
        )
        try:
            per_pdu = MAX_VARBINDS // 4  # four objects per VLAN row
            for start in range(0, len(vids), per_pdu):
                rows: list[tuple[str, SetValue]] = []
                for vid in vids[start : start + per_pdu]:
                    index = f"{domain}.{vid}"
                    name = f"VLAN{vid:04d}".encode()
                    said = (SAID_BASE + vid).to_bytes(4)
                    rows += [
                        (f"{mibs.VTP_EDIT_ROW_STATUS}.{index}", Integer(CREATE_AND_GO)),
                        (f"{mibs.VTP_EDIT_TYPE}.{index}", Integer(ETHERNET)),
                        (f"{mibs.VTP_EDIT_NAME}.{index}", OctetString(name)),
                        (f"{mibs.VTP_EDIT_SAID}.{index}", OctetString(said)),
                    ]
                await self._set("create vlans: edit", rows)
            await self._set(
                "create vlans: apply", [(f"{mibs.VTP_EDIT_OPERATION}.{domain}", Integer(APPLY))]
            )
            await self._wait_applied(vids)
        finally:
            await self._set(
                "create vlans: release",
                [(f"{mibs.VTP_EDIT_OPERATION}.{domain}", Integer(RELEASE))],
            )

    async def _wait_applied(self, vids: list[int]) -> None:
        oid = f"{mibs.VTP_APPLY_STATUS}.{self._domain}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._apply_timeout
        while True:
            value = await self._snmp.get_one(oid)
            status = value if isinstance(value, int) else None
            if status == SUCCEEDED:
                return
            if status != IN_PROGRESS or loop.time() >= deadline:
                what = APPLY_STATUS.get(status, repr(value)) if status is not None else repr(value)
                raise NegativeReply(
                    self.switch_id,
                    f"creating VLANs {vids} through the VTP edit buffer: vtpVlanApplyStatus "
                    f"is {what} ({oid})"
                    + (f" after {self._apply_timeout:g} s" if status == IN_PROGRESS else "")
                    + f"; create VLAN {', '.join(map(str, vids))} on the switch "
                    "('vlan V' in configuration mode; a VTP client switch cannot create "
                    "VLANs: do it on the VTP server or set 'vtp mode transparent')",
                    status=what,
                    oid=oid,
                )
            await asyncio.sleep(self._apply_poll)

    async def _set(self, stage: str, varbinds: Sequence[tuple[str, SetValue]]) -> None:
        try:
            await self._snmp.set(varbinds)
        except NegativeReply as exc:
            culprit = self.culprit(exc.oid)
            raise NegativeReply(
                self.switch_id,
                f"stage {stage!r}: the switch refused to set {culprit.what} "
                f"({exc.status or 'error'}); the ports involved are {list(culprit.ports)}; "
                "check the switch log and that the write community/user may write "
                f"CISCO-VLAN-MEMBERSHIP-MIB, CISCO-VTP-MIB and IF-MIB ({exc})",
                status=exc.status,
                oid=exc.oid,
            ) from exc

    def culprit(self, oid: str) -> Culprit:
        by_if = {i: p for p, i in self._if_index.items()}
        for column in (mibs.VM_VLAN, mibs.IF_ADMIN):
            if oid.startswith(column + "."):
                port = by_if.get(mibs.index_of(oid, column)[0], 0)
                return Culprit((port,), f"{mibs.name_of(oid)} of port {port} ({oid})")
        edit_entry = mibs.VTP_EDIT_ROW_STATUS.rsplit(".", 1)[0]
        if oid.startswith(edit_entry + "."):
            vid = int(oid.rsplit(".", 1)[1])
            row = f"{mibs.VTP_EDIT_ROW_STATUS}.{self._domain}.{vid}"
            return Culprit(self._touched.get(row, ()), f"{mibs.name_of(oid)} of VLAN {vid} ({oid})")
        if oid:
            return Culprit((), f"{mibs.name_of(oid)} ({oid})")
        return Culprit((), "an object the switch did not name")
