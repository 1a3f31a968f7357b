"""The Linux-bridge switch driver: a bridge on the controller driven over netlink
(`agent.adapters.netlink`), read into the same `ActualSwitch` the Q-BRIDGE driver gives.

Port numbers. The config numbers a bridge's ports 1..``port_count``; port N is the N-th
member interface of ``switch.bridge`` in *natural* name order (``ls -v``: digits compare
as numbers, so ``eth2`` < ``eth10`` and ``tap-p2`` < ``tap-p24``). Names are stable across
reboots, unlike the kernel's own port numbers, which follow the order the interfaces
were enslaved. The bridge must have exactly ``port_count`` members: a missing member or
an extra one (a port no plan covers, which could carry anything) stops the driver with
an error naming the interfaces, so a renumbering can never go unnoticed.

Fail-closed options. A bridge without ``vlan_filtering 1`` forwards every frame between
every port, and one with ``default_pvid`` other than 0 puts every new member untagged in
that VLAN. On entry the driver sets both (``default_pvid`` can only be changed while
filtering is off, so every member is shut first and stays shut until a plan brings it
up), reads them back, and refuses with `EnvironmentMissing` when the kernel lacks the
option or will not take it.

Linux quirks, as data (`LINUX_BRIDGE`): a port's PVID VLAN is always one of its member
VLANs (the kernel ties ingress classification to membership), egressing tagged when it is
not untagged. A planned port whose PVID is not among its VLANs (a trunk with PVID
quarantine in the restore phase) is written that way and reads back with the PVID VLAN
tagged, which the manager's compare then reports: the bridge really does carry it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from agent.adapters.netlink import BridgeVlan, Netlink, NetlinkRefused
from agent.conf.schema import Switch
from agent.devices.switch import linuxbridge_sysfs as sysfs
from agent.devices.switch.driver import Culprit, SwitchDiff
from agent.devices.switch.model import ActualSwitch, DesiredPort
from agent.errors import EnvironmentMissing, NegativeReply, ProtocolError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BridgeQuirks:
    """How the kernel's bridge differs from Q-BRIDGE-MIB, as the driver relies on it."""

    pvid_is_member: bool = True  # a PVID VLAN without membership is not representable
    default_pvid_needs_filtering_off: bool = True  # the kernel answers EPERM otherwise


LINUX_BRIDGE = BridgeQuirks()


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key comparing runs of digits as numbers (``eth2`` before ``eth10``)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part
    )


def port_interfaces(switch: Switch, members: list[str]) -> dict[int, str]:
    """Port number -> member interface by the naming rule (see the module doc)."""
    ordered = sorted(members, key=natural_key)
    count = switch.port_count
    where = f"switch {switch.id!r} (bridge {switch.bridge})"
    if len(ordered) < count:
        raise ProtocolError(
            switch.id,
            f"{where} has {len(ordered)} member interfaces ({', '.join(ordered) or 'none'}) "
            f"but port_count is {count}: ports {list(range(len(ordered) + 1, count + 1))} "
            "have no interface; enslave the missing interfaces or lower switch[].port_count",
        )
    if len(ordered) > count:
        raise ProtocolError(
            switch.id,
            f"{where} has members {ordered[count:]} beyond port_count {count} (ports are "
            f"the members in natural name order: {', '.join(ordered)}); an unplanned port "
            "could bridge anything, so remove them from the bridge or raise port_count",
        )
    return dict(enumerate(ordered, start=1))


def entries_for(port: DesiredPort, quirks: BridgeQuirks = LINUX_BRIDGE) -> list[BridgeVlan]:
    """The bridge VLAN entries that realise a planned port, sorted by VLAN id."""
    vids = set(port.untagged) | set(port.tagged)
    if quirks.pvid_is_member and port.pvid:
        vids.add(port.pvid)
    return [
        BridgeVlan(vid, pvid=vid == port.pvid, untagged=vid in port.untagged)
        for vid in sorted(vids)
    ]


@dataclass(frozen=True, slots=True)
class PortWrite:
    """The netlink writes one port needs: VLANs to delete, entries to add, link state."""

    port: int
    delete: tuple[int, ...]
    add: tuple[BridgeVlan, ...]
    admin_up: bool | None  # None: leave the link as it is


def port_writes(diff: SwitchDiff, quirks: BridgeQuirks = LINUX_BRIDGE) -> list[PortWrite]:
    """Per changed port, what to delete and add so its VLAN table is exactly the plan's,
    and whether to change its link (pure; the driver orders and sends them)."""
    out = []
    for number in diff.ports():
        want = diff.desired.ports[number]
        have = diff.before.port(number)
        current = {vid: BridgeVlan(vid, have.pvid == vid, vid in have.untagged)
                   for vid in have.untagged | have.tagged}  # fmt: skip
        if have.pvid and have.pvid not in current:  # a PVID always is a member on Linux
            current[have.pvid] = BridgeVlan(have.pvid, pvid=True)
        target = {entry.vid: entry for entry in entries_for(want, quirks)}
        out.append(
            PortWrite(
                port=number,
                delete=tuple(sorted(current.keys() - target.keys())),
                add=tuple(e for vid, e in sorted(target.items()) if current.get(vid) != e),
                admin_up=None if have.admin_up == want.admin_up else want.admin_up,
            )
        )
    return out


class LinuxBridgeDriver:
    """A Linux bridge of the controller as a switch. ``async with LinuxBridgeDriver(sw):``"""

    def __init__(
        self,
        switch: Switch,
        *,
        quirks: BridgeQuirks = LINUX_BRIDGE,
        sysfs_root: Path = sysfs.SYSFS_NET,
    ) -> None:
        if not switch.bridge:
            raise EnvironmentMissing(
                f"switch {switch.id!r}: driver 'linux-bridge' needs switch[].bridge, the "
                "bridge's interface name"
            )
        self.switch_id = switch.id
        self.bridge = switch.bridge
        self.quirks = quirks
        self._switch = switch
        self._root = sysfs_root
        self._nl: Netlink | None = None
        self._requests = 0
        self._ports: dict[int, str] = {}

    async def __aenter__(self) -> Self:
        nl = Netlink()
        await nl.__aenter__()
        self._nl = nl
        try:
            await self._ensure_fail_closed()
        except BaseException:
            self._nl = None
            await nl.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        nl, self._nl = self._nl, None
        if nl is not None:
            await nl.__aexit__(exc_type, exc, tb)

    @property
    def requests(self) -> int:
        """Netlink requests and sysfs accesses so far."""
        return self._requests

    @property
    def _netlink(self) -> Netlink:
        if self._nl is None:
            raise RuntimeError(
                f"LinuxBridgeDriver {self.switch_id!r} used outside 'async with'; open it first"
            )
        return self._nl

    async def _call(self, request: Awaitable[T]) -> T:
        self._requests += 1
        return await request

    # --- the bridge's own options ---------------------------------------------------

    def _options(self) -> sysfs.BridgeOptions:
        self._requests += 1
        options = sysfs.bridge_options(self.bridge, self._root)
        if options.vlan_filtering is None or options.default_pvid is None:
            raise EnvironmentMissing(
                f"switch {self.switch_id!r}: bridge {self.bridge} cannot filter VLANs: this "
                "kernel lacks CONFIG_BRIDGE_VLAN_FILTERING, so every port would reach every "
                "other; run the agent on Debian's kernel (or inside tests/kernel_lab)"
            )
        return options

    async def _ensure_fail_closed(self) -> None:
        """vlan_filtering 1 and default_pvid 0, set if needed and read back."""
        options = self._options()
        if options.vlan_filtering and options.default_pvid == 0:
            return
        members = sysfs.bridge_members(self.bridge, self._root)
        log.warning(
            "switch %s: bridge %s has vlan_filtering %d, default_pvid %d; shutting its "
            "members %s and setting vlan_filtering 1, default_pvid 0",
            self.switch_id, self.bridge, int(bool(options.vlan_filtering)),
            options.default_pvid, sorted(members, key=natural_key),
        )  # fmt: skip
        # While filtering is off (the kernel refuses a default_pvid change otherwise) the
        # bridge forwards everything: no member may be up then.
        for name in members:
            await self._call(self._netlink.set_up(name, False))
        if options.default_pvid != 0:
            if options.vlan_filtering:
                sysfs.write_bridge_option(self.bridge, "vlan_filtering", 0, self._root)
            sysfs.write_bridge_option(self.bridge, "default_pvid", 0, self._root)
        sysfs.write_bridge_option(self.bridge, "vlan_filtering", 1, self._root)
        after = self._options()
        if not after.vlan_filtering or after.default_pvid != 0:
            raise EnvironmentMissing(
                f"switch {self.switch_id!r}: bridge {self.bridge} reads back vlan_filtering "
                f"{int(bool(after.vlan_filtering))}, default_pvid {after.default_pvid} after "
                "setting 1 and 0; the kernel did not take them (see `dmesg`); the agent "
                "will not drive a bridge that forwards between every port"
            )

    # --- read -------------------------------------------------------------------------

    async def _port_map(self) -> dict[int, str]:
        self._requests += 1
        self._ports = port_interfaces(self._switch, sysfs.bridge_members(self.bridge, self._root))
        return self._ports

    async def read(self) -> ActualSwitch:
        options = self._options()
        if not options.vlan_filtering or options.default_pvid != 0:
            raise ProtocolError(
                self.switch_id,
                f"bridge {self.bridge} now has vlan_filtering {int(bool(options.vlan_filtering))}"
                f", default_pvid {options.default_pvid} (changed behind the agent's back); "
                "every port may reach every other: restart the agent to set them again",
            )
        nl = self._netlink
        egress: dict[int, set[int]] = {}
        untagged: dict[int, set[int]] = {}
        pvid: dict[int, int] = {}
        admin: dict[int, bool] = {}
        oper: dict[int, bool] = {}
        if_index: dict[int, int] = {}
        for number, name in sorted((await self._port_map()).items()):
            for entry in await self._call(nl.bridge_vlans(name)):
                egress.setdefault(entry.vid, set()).add(number)
                if entry.untagged:
                    untagged.setdefault(entry.vid, set()).add(number)
                if entry.pvid:
                    pvid[number] = entry.vid
            admin[number] = await self._call(nl.is_up(name))
            if_index[number] = await self._call(nl.index(name))
            state = sysfs.oper_up(name, self._root)
            if state is not None:
                oper[number] = state
        return ActualSwitch(
            switch=self.switch_id,
            vlans=frozenset(egress),
            egress={vid: frozenset(ports) for vid, ports in egress.items()},
            untagged={vid: frozenset(ports) for vid, ports in untagged.items()},
            pvid=pvid,
            admin_up=admin,
            oper_up=oper,
            if_index=if_index,
        )

    # --- write ------------------------------------------------------------------------

    async def apply(self, diff: SwitchDiff) -> None:
        """Shut what goes down, rewrite VLAN tables, then bring up what goes up, so no
        port forwards in a half-written state. VLANs need no creation on a bridge."""
        ports = await self._port_map()
        writes = port_writes(diff, self.quirks)
        for w in writes:
            if w.admin_up is False:
                name = ports[w.port]
                await self._write(name, "link", self._netlink.set_up(name, False))
        for w in writes:
            name = ports[w.port]
            # Deleted first: a PVID moving to another VLAN never leaves two entries, and
            # in between the port has none (drops untagged frames).
            for vid in w.delete:
                await self._write(name, f"vlan {vid}", self._netlink.bridge_vlan_del(name, vid))
            for e in w.add:
                add = self._netlink.bridge_vlan_add(name, e.vid, pvid=e.pvid, untagged=e.untagged)
                await self._write(name, f"vlan {e.vid}", add)
        for w in writes:
            if w.admin_up is True:
                name = ports[w.port]
                await self._write(name, "link", self._netlink.set_up(name, True))

    async def _write(self, name: str, what: str, request: Awaitable[None]) -> None:
        try:
            await self._call(request)
        except NetlinkRefused as exc:
            obj = f"{name} {what}"
            port = self.culprit(obj).ports
            raise NegativeReply(
                self.switch_id,
                f"the kernel refused to set {what} on bridge {self.bridge} port "
                f"{port[0] if port else '?'} ({name}): {exc.status}; check `dmesg` and that "
                f"{name} is still a member of {self.bridge} ({exc})",
                status=exc.status,
                oid=obj,
            ) from exc

    def culprit(self, oid: str) -> Culprit:
        """``oid`` is the object name a refused write carries: ``<ifname> <what>``."""
        name, _, what = oid.partition(" ")
        for number, member in self._ports.items():
            if member == name:
                return Culprit((number,), f"{what or 'the link'} of port {number} ({name})")
        return Culprit((), oid or "an object the kernel did not name")
