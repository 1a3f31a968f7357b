"""The network lab: the simulated top-of-rack switch's data plane.

One Linux bridge plays the switch, one network namespace per server plus one for the
hospital network plays the machines cabled to it, each joined to a bridge port by a veth
pair. With ``vlan_filtering`` (the default) the bridge has ``default_pvid 0``, so a port
with no VLAN entries forwards nothing (fail-closed, like the real switch after isolation),
and :meth:`NetworkLab.apply_port` sets a port's VLAN table exactly as the simulated SNMP
switch's Q-BRIDGE-MIB says. Pings between namespaces then prove (or disprove) isolation.

Only 10.x addresses inside the lab's own namespaces are used; no traffic leaves them.
Names carry a random per-instance prefix so parallel labs never collide, and everything the
lab made is removed on exit, also on error or cancellation.

Kernels without bridge VLAN filtering (the development kernel) refuse the default mode with
EnvironmentMissing; ``vlan_filtering=False`` builds a plain bridge that forwards everything
(``make demo``): it shows traffic, but cannot prove isolation, and says so in the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import shutil
from collections.abc import Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from agent.adapters.netlink import BridgeVlan, Netlink, create_netns, list_netns, remove_netns
from agent.errors import EnvironmentMissing

__all__ = ["HOSPITAL", "LabHost", "NetworkLab", "PortTable", "SwitchPortState"]

log = logging.getLogger(__name__)

HOSPITAL = "hospital"
"""Logical name of the namespace that stands for the hospital network."""

_PING_SLACK_S = 10.0  # beyond ping's own -W wait: bounds a stuck `ip netns exec`


class SwitchPortState(Protocol):
    """What the simulated switch reports per port (agent.sim.snmp.switch.PortState)."""

    @property
    def port(self) -> int: ...
    @property
    def pvid(self) -> int: ...
    @property
    def tagged(self) -> frozenset[int]: ...
    @property
    def untagged(self) -> frozenset[int]: ...
    @property
    def admin_up(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class LabHost:
    """One namespace cabled to one bridge port."""

    name: str  # logical name: a server's name or HOSPITAL
    port: int  # bridge port number (the switch's dot1dBasePort)
    netns: str  # actual namespace name under /run/netns
    port_ifname: str  # the veth end enslaved to the bridge (the switch port)
    host_ifname: str  # the veth end inside the namespace (the machine's NIC)
    address: ipaddress.IPv4Interface


@dataclass(frozen=True, slots=True)
class PortTable:
    """The VLAN membership of one switch port, as the SNMP switch holds it."""

    pvid: int | None = None
    tagged: frozenset[int] = field(default_factory=frozenset)
    untagged: frozenset[int] = field(default_factory=frozenset)
    admin_up: bool = True

    def entries(self) -> list[BridgeVlan]:
        """The Linux bridge entries that realise this table, sorted by VLAN id.

        The PVID VLAN gets the ``pvid`` flag; it is also a member even when neither list
        names it, because Linux ties ingress classification to membership. A PVID VLAN
        that is not untagged then egresses tagged, which the namespace's plain NIC drops,
        just as a host behind a switch with that inconsistent setting would.
        """
        vids = set(self.tagged) | set(self.untagged)
        if self.pvid is not None:
            vids.add(self.pvid)
        return [
            BridgeVlan(vid=vid, pvid=vid == self.pvid, untagged=vid in self.untagged)
            for vid in sorted(vids)
        ]


def _check_table(port: int, table: PortTable) -> None:
    both = table.tagged & table.untagged
    if both:
        raise ValueError(
            f"lab port {port}: VLANs {sorted(both)} are both tagged and untagged; "
            "a port carries a VLAN one way only"
        )
    for vid in {*table.tagged, *table.untagged, *([table.pvid] if table.pvid else [])}:
        if not 1 <= vid <= 4094:
            raise ValueError(f"lab port {port}: VLAN id {vid} is outside 1..4094")


class NetworkLab:
    """A bridge plus one namespace per host; ``async with NetworkLab(...) as lab``.

    ``servers`` maps each server's name to its bridge port; ``hospital_port`` is the port
    of the hospital uplink's namespace (named :data:`HOSPITAL`). Hosts get consecutive
    addresses in ``subnet`` (a 10.x network, in the lab's namespaces only). A ping waits
    ``ping_wait_s`` for its answer (``ping -c 1 -W 1`` by default; slow emulated VMs may
    want more).
    """

    def __init__(
        self,
        servers: Mapping[str, int],
        *,
        hospital_port: int | None = None,
        vlan_filtering: bool = True,
        subnet: str = "10.213.0.0/24",
        ping_wait_s: int = 1,
    ) -> None:
        hosts = dict(servers)
        if hospital_port is not None:
            if HOSPITAL in hosts:
                raise ValueError(f"lab: a server may not be named {HOSPITAL!r} (reserved)")
            hosts[HOSPITAL] = hospital_port
        ports = list(hosts.values())
        if len(set(ports)) != len(ports):
            raise ValueError(f"lab: two hosts share a bridge port: {hosts}")
        if any(not 1 <= port <= 9999 for port in ports):
            raise ValueError(f"lab: bridge ports must be 1..9999, got {sorted(ports)}")
        network = ipaddress.IPv4Network(subnet)
        if not network.subnet_of(ipaddress.IPv4Network("10.0.0.0/8")):
            raise ValueError(f"lab: subnet {subnet} is not inside 10.0.0.0/8; use a 10.x net")
        if network.num_addresses - 2 < len(hosts):
            raise ValueError(f"lab: subnet {subnet} is too small for {len(hosts)} hosts")
        if ping_wait_s < 1:
            raise ValueError(f"lab: ping_wait_s must be at least 1 s, got {ping_wait_s}")
        self.vlan_filtering = vlan_filtering
        self.ping_wait_s = ping_wait_s
        self._wanted = hosts
        self._network = network
        self.prefix = ""
        self.bridge = ""
        self.hosts: dict[str, LabHost] = {}
        self._tables: dict[int, PortTable] = {}
        self._stack = AsyncExitStack()
        self._nl: Netlink | None = None
        self._lock = asyncio.Lock()
        # observe() -> applier task: the switch's latest port states, and a generation
        # count so settled() knows when the bridge has caught up.
        self._pending: dict[int, PortTable] = {}
        self._wake = asyncio.Event()
        self._requested = 0
        self._applied = 0
        self._caught_up = asyncio.Condition()
        self._group: asyncio.TaskGroup | None = None
        self._applier: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if shutil.which("ip") is None:
            raise EnvironmentMissing("lab: the `ip` command is missing: apt-get install iproute2")
        try:
            await self._build()
        except BaseException:
            await self._teardown()
            raise
        # Entered here, in the owner's task, so failures of the applier reach the owner.
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._applier = self._group.create_task(
            self._apply_observed(), name=f"lab-{self.prefix}-applier"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._applier is not None:
                self._applier.cancel()  # it loops forever; the group then closes
            if self._group is not None:
                # Not given the body's exception: TaskGroup would wrap it in an
                # ExceptionGroup, and the caller must see its own exception unchanged.
                await self._group.__aexit__(None, None, None)
        finally:
            self._group = self._applier = None
            await self._teardown()

    async def _teardown(self) -> None:
        # Shielded so a cancellation that arrives while we clean up cannot leave a bridge
        # or a namespace behind; the cancellation is re-raised once cleanup has finished.
        cleanup = asyncio.ensure_future(self._stack.aclose())
        try:
            await asyncio.shield(cleanup)
        except asyncio.CancelledError:
            await cleanup
            raise

    async def _build(self) -> None:
        self.prefix = await self._free_prefix()
        self.bridge = f"{self.prefix}br"
        nl = await self._stack.enter_async_context(Netlink())
        self._nl = nl
        await nl.create_bridge(self.bridge, vlan_filtering=self.vlan_filtering, default_pvid=0)
        self._stack.push_async_callback(nl.delete, self.bridge, missing_ok=True)
        if self.vlan_filtering and not await nl.bridge_vlan_filtering(self.bridge):
            raise EnvironmentMissing(
                f"lab: bridge {self.bridge} was created but reads back vlan_filtering 0: "
                "run inside the kernel lab (tests/kernel_lab) or on Debian's kernel"
            )
        if not self.vlan_filtering:
            log.warning(
                "lab %s: plain bridge without VLAN filtering: every port reaches every other, "
                "so this lab CANNOT prove isolation (run inside the kernel lab or on "
                "Debian's kernel for that)",
                self.prefix,
            )
        await nl.set_up(self.bridge)
        addresses = self._network.hosts()
        for name, port in sorted(self._wanted.items(), key=lambda item: item[1]):
            host = LabHost(
                name=name,
                port=port,
                netns=f"{self.prefix}-{name}",
                port_ifname=f"{self.prefix}p{port}",
                host_ifname=f"{self.prefix}h{port}",
                address=ipaddress.IPv4Interface(f"{next(addresses)}/{self._network.prefixlen}"),
            )
            await self._add_host(nl, host)
            self.hosts[name] = host

    async def _free_prefix(self) -> str:
        """A short random prefix no existing namespace uses (interface names are <= 15
        characters, so the prefix stays at 8)."""
        taken = await list_netns()
        for _ in range(16):
            prefix = f"cr{secrets.token_hex(3)}"
            if not any(name.startswith(prefix) for name in taken):
                return prefix
        raise RuntimeError("lab: could not find a free name prefix in 16 tries")

    async def _add_host(self, nl: Netlink, host: LabHost) -> None:
        await create_netns(host.netns)
        self._stack.push_async_callback(remove_netns, host.netns, missing_ok=True)
        await nl.create_veth(host.port_ifname, host.host_ifname)
        # Deleting either end deletes the pair; the namespace end goes with the namespace.
        self._stack.push_async_callback(nl.delete, host.port_ifname, missing_ok=True)
        await nl.set_master(host.port_ifname, self.bridge)
        await nl.move_to_netns(host.host_ifname, host.netns)
        async with Netlink(host.netns) as inside:
            await inside.add_address(host.host_ifname, host.address)
            await inside.set_up(host.host_ifname)
            await inside.set_up("lo")
        # A new port starts with no VLAN at all (default_pvid 0): fail-closed until
        # apply_port says otherwise.
        self._tables[host.port] = PortTable()
        await nl.set_up(host.port_ifname)

    # -- switch side ----------------------------------------------------------------------

    def _port_ifname(self, port: int) -> str:
        for host in self.hosts.values():
            if host.port == port:
                return host.port_ifname
        raise KeyError(f"lab {self.prefix}: no host on bridge port {port}")

    def table(self, port: int) -> PortTable:
        """What the lab last applied to ``port``."""
        self._port_ifname(port)
        return self._tables[port]

    async def apply_port(
        self,
        port: int,
        pvid: int | None,
        tagged: Iterable[int] = (),
        untagged: Iterable[int] = (),
        admin_up: bool = True,
    ) -> None:
        """Make the bridge's VLAN table for ``port`` exactly this, and its link up or down.

        This is what the simulated switch's observer calls after a SET; ``pvid`` None or 0
        means no PVID. In degraded mode only the link state is applied.
        """
        table = PortTable(
            pvid=pvid or None,
            tagged=frozenset(tagged),
            untagged=frozenset(untagged),
            admin_up=admin_up,
        )
        _check_table(port, table)
        ifname = self._port_ifname(port)
        nl = self._netlink()
        async with self._lock:
            if self.vlan_filtering:
                await self._sync_vlans(nl, ifname, table.entries())
            else:
                log.warning(
                    "lab %s: port %d VLAN table (pvid %s, tagged %s, untagged %s) NOT enforced: "
                    "the bridge has no VLAN filtering",
                    self.prefix,
                    port,
                    table.pvid,
                    sorted(table.tagged),
                    sorted(table.untagged),
                )
            await nl.set_up(ifname, admin_up)
            self._tables[port] = table

    def observe(self, states: Mapping[int, SwitchPortState]) -> None:
        """Observer for the simulated switch (``switch.on_vlan_change(lab.observe)``).

        Synchronous, as the switch calls it from its SET handler: it only records the
        latest state of the lab's ports; the lab's applier task then makes the bridge match.
        Await :meth:`settled` before probing.
        """
        ports = {host.port for host in self.hosts.values()}
        for port, state in states.items():
            if port in ports:
                self._pending[port] = PortTable(
                    pvid=state.pvid or None,
                    tagged=frozenset(state.tagged),
                    untagged=frozenset(state.untagged),
                    admin_up=state.admin_up,
                )
        self._requested += 1
        self._wake.set()

    async def settled(self) -> None:
        """Return once every state passed to :meth:`observe` so far is applied."""
        target = self._requested
        async with self._caught_up:
            await self._caught_up.wait_for(lambda: self._applied >= target)

    async def _apply_observed(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            generation = self._requested
            pending, self._pending = self._pending, {}
            for port, table in sorted(pending.items()):
                if self._tables.get(port) != table:
                    await self.apply_port(
                        port, table.pvid, table.tagged, table.untagged, table.admin_up
                    )
            async with self._caught_up:
                self._applied = generation
                self._caught_up.notify_all()

    async def port_vlans(self, port: int) -> list[BridgeVlan]:
        """The bridge's VLAN entries for ``port``, read back from the kernel."""
        return await self._netlink().bridge_vlans(self._port_ifname(port))

    @staticmethod
    async def _sync_vlans(nl: Netlink, ifname: str, wanted: list[BridgeVlan]) -> None:
        current = {entry.vid: entry for entry in await nl.bridge_vlans(ifname)}
        target = {entry.vid: entry for entry in wanted}
        # Remove first: a PVID moving from one VLAN to another must not leave two.
        for vid in sorted(current.keys() - target.keys()):
            await nl.bridge_vlan_del(ifname, vid)
        for vid, entry in sorted(target.items()):
            if current.get(vid) != entry:
                await nl.bridge_vlan_add(ifname, vid, pvid=entry.pvid, untagged=entry.untagged)

    def _netlink(self) -> Netlink:
        if self._nl is None:
            raise RuntimeError("NetworkLab used outside `async with`")
        return self._nl

    # -- probes ---------------------------------------------------------------------------

    async def ping(self, src: str, dst: str) -> bool:
        """True when one ICMP echo from ``src``'s namespace to ``dst``'s address is
        answered within ``ping_wait_s``."""
        if src not in self.hosts or dst not in self.hosts:
            raise KeyError(
                f"lab {self.prefix}: unknown host {src!r} or {dst!r}: {sorted(self.hosts)}"
            )
        if shutil.which("ping") is None:
            raise EnvironmentMissing(
                "lab: the `ping` command is missing: apt-get install iputils-ping"
            )
        argv = [
            "ip", "netns", "exec", self.hosts[src].netns,
            "ping", "-n", "-q", "-c", "1", "-W", str(self.ping_wait_s),
            str(self.hosts[dst].address.ip),
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            async with asyncio.timeout(self.ping_wait_s + _PING_SLACK_S):
                _, err = await proc.communicate()
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if proc.returncode not in (0, 1):  # 1: no reply; anything else: ping itself failed
            raise EnvironmentMissing(
                f"lab: {' '.join(argv)} failed with exit code {proc.returncode}: "
                f"{err.decode(errors='replace').strip()}"
            )
        return proc.returncode == 0

    async def reachability(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bool]:
        """Ping every (src, dst) pair concurrently."""
        wanted = list(dict.fromkeys(pairs))
        async with asyncio.TaskGroup() as group:
            tasks = {
                pair: group.create_task(self.ping(*pair), name=f"lab-ping-{pair[0]}-{pair[1]}")
                for pair in wanted
            }
        return {pair: task.result() for pair, task in tasks.items()}
