"""Netlink adapter: the only module that imports pyroute2.

A thin async layer over pyroute2 0.9's ``AsyncIPRoute`` (the synchronous ``IPRoute`` runs its
own event loop and fails inside ours). It speaks in interface names, returns our own records
and raises the agent's errors: :class:`EnvironmentMissing` when the kernel lacks a feature or
we lack the privilege, :class:`NetlinkRefused` (a :class:`NegativeReply`) when the kernel
refuses a request, always naming the interface.

One :class:`Netlink` talks to one network namespace (the agent's own by default). Network
namespaces themselves are named bind mounts under ``/run/netns`` (iproute2's convention, so
``ip netns exec`` sees them too) and are made by :func:`create_netns` / :func:`remove_netns`.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from pyroute2 import AsyncIPRoute, netns
from pyroute2 import config as pyroute2_config
from pyroute2.netlink.exceptions import NetlinkError

from agent.errors import EnvironmentMissing, NegativeReply

__all__ = [
    "BridgeVlan",
    "Netlink",
    "NetlinkRefused",
    "create_netns",
    "list_netns",
    "remove_netns",
]

# include/uapi/linux/if_bridge.h: BRIDGE_VLAN_INFO_PVID, BRIDGE_VLAN_INFO_UNTAGGED.
_VLAN_PVID = 0x2
_VLAN_UNTAGGED = 0x4
# include/uapi/linux/rtnetlink.h: RTEXT_FILTER_BRVLAN asks for per-port VLAN entries.
_AF_BRIDGE = 7
_RTEXT_FILTER_BRVLAN = 1 << 1
_NO_FEATURE = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT}
_LAB_FIX = "run inside the kernel lab (tests/kernel_lab) or on Debian's kernel"

# pyroute2 makes namespaces and namespace sockets in a forked helper and gives it 2 s to
# answer (10 s in all for a socket). A loaded controller, or the emulated kernel-lab VM,
# can take longer to fork a Python process, and a timeout there would look like a netlink
# failure. This module is pyroute2's only user in the process, so it owns these settings.
pyroute2_config.default_communicate_timeout = max(pyroute2_config.default_communicate_timeout, 30)
pyroute2_config.default_create_socket_timeout = max(
    pyroute2_config.default_create_socket_timeout, 60
)


class NetlinkRefused(NegativeReply):
    """The kernel refused a netlink request (errno in ``status``) for the named interface."""


@dataclass(frozen=True, slots=True)
class BridgeVlan:
    """One VLAN entry of a bridge port, as ``bridge vlan show`` prints it."""

    vid: int
    pvid: bool = False
    untagged: bool = False


def _errno_name(code: int) -> str:
    return errno.errorcode.get(code, str(code))


def _translate(exc: NetlinkError, ifname: str, action: str, feature: str = "") -> Exception:
    """Map a pyroute2 NetlinkError to our family, naming the interface and the fix."""
    code = int(exc.code or 0)
    if code == errno.EPERM:
        return EnvironmentMissing(
            f"netlink: {action} {ifname}: permission denied: run as root or grant the "
            "process CAP_NET_ADMIN (systemd: AmbientCapabilities=CAP_NET_ADMIN)"
        )
    if feature and code in _NO_FEATURE:
        return EnvironmentMissing(
            f"netlink: {action} {ifname}: this kernel ({os.uname().release}) lacks {feature}: "
            f"{_LAB_FIX}"
        )
    return NetlinkRefused(
        f"netlink {ifname}",
        f"{action} refused by the kernel: {_errno_name(code)} ({os.strerror(code)})",
        status=_errno_name(code),
    )


def _check_vid(vid: int, ifname: str) -> None:
    if not 1 <= vid <= 4094:
        raise ValueError(f"netlink: {ifname}: VLAN id {vid} is outside 1..4094")


class Netlink:
    """One rtnetlink socket in one network namespace; an async context manager.

    ``Netlink()`` works in the caller's namespace, ``Netlink("ns1")`` inside ``ns1`` (which
    must exist: this class never creates a namespace behind the caller's back).
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        self._ipr: Any = None

    async def __aenter__(self) -> Self:
        where = f"namespace {self.namespace}" if self.namespace else "the current namespace"
        if self.namespace is not None and self.namespace not in await list_netns():
            raise NetlinkRefused(
                f"netns {self.namespace}",
                "no such network namespace under /run/netns: create it first "
                "(create_netns or `ip netns add`)",
                status="ENOENT",
            )
        try:
            # With netns=..., pyroute2 forks a helper that opens the socket inside the
            # namespace; flags=0 stops it from creating a missing namespace on its own.
            if self.namespace is None:
                self._ipr = AsyncIPRoute()
            else:
                self._ipr = AsyncIPRoute(netns=self.namespace, flags=0)
        except PermissionError as exc:
            raise EnvironmentMissing(
                f"netlink: opening a socket in {where}: {exc}: run as root (CAP_NET_ADMIN, "
                "CAP_SYS_ADMIN for namespaces)"
            ) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    @property
    def _sock(self) -> Any:
        if self._ipr is None:
            raise RuntimeError("Netlink used outside `async with Netlink(...)`")
        return self._ipr

    async def _call(self, ifname: str, action: str, coro: Any, feature: str = "") -> Any:
        try:
            return await coro
        except NetlinkError as exc:
            raise _translate(exc, ifname, action, feature) from exc

    # -- links -------------------------------------------------------------------------

    async def index(self, ifname: str) -> int:
        """The ifindex of ``ifname``; NetlinkRefused(ENODEV) if there is none."""
        found = await self._call(ifname, "lookup", self._sock.link_lookup(ifname=ifname))
        if not found:
            where = self.namespace or "the current namespace"
            raise NetlinkRefused(
                f"netlink {ifname}", f"no such interface in {where}", status="ENODEV"
            )
        return int(found[0])

    async def exists(self, ifname: str) -> bool:
        found = await self._call(ifname, "lookup", self._sock.link_lookup(ifname=ifname))
        return bool(found)

    async def links(self) -> list[str]:
        """Names of every interface in this namespace."""
        dump = await self._call("*", "dump links", self._sock.link("dump"))
        return [str(msg.get("ifname")) async for msg in dump]

    async def create_bridge(
        self, ifname: str, *, vlan_filtering: bool, default_pvid: int = 0
    ) -> None:
        """A bridge; with ``vlan_filtering`` and ``default_pvid 0`` a new port is in no VLAN
        (fail-closed), instead of landing untagged in VLAN 1."""
        attrs: dict[str, Any] = {
            # Bridged frames must not go through the host's iptables/nftables FORWARD
            # chains: the lab's verdicts must come from the bridge alone.
            "br_nf_call_iptables": 0,
            "br_nf_call_ip6tables": 0,
            "br_nf_call_arptables": 0,
        }
        if vlan_filtering:
            attrs |= {"br_vlan_filtering": 1, "br_vlan_default_pvid": default_pvid}
        await self._call(
            ifname,
            "create bridge",
            self._sock.link("add", ifname=ifname, kind="bridge", **attrs),
            feature="bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)"
            if vlan_filtering
            else "",
        )

    async def bridge_vlan_filtering(self, ifname: str) -> bool:
        """Read back whether the bridge filters VLANs."""
        index = await self.index(ifname)
        (msg,) = await self._call(ifname, "get", self._sock.link("get", index=index))
        info = msg.get(("IFLA_LINKINFO", "IFLA_INFO_DATA"))
        if info is None:
            raise NetlinkRefused(f"netlink {ifname}", "is not a bridge", status="EINVAL")
        return bool(info.get("IFLA_BR_VLAN_FILTERING"))

    async def create_veth(self, ifname: str, peer: str) -> None:
        await self._call(
            ifname, "create veth", self._sock.link("add", ifname=ifname, kind="veth", peer=peer)
        )

    async def create_vlan(self, ifname: str, parent: str, vid: int) -> None:
        """An 802.1Q sub-interface ``ifname`` of ``parent`` (needs the 8021q module)."""
        _check_vid(vid, ifname)
        link = await self.index(parent)
        await self._call(
            ifname,
            "create vlan",
            self._sock.link("add", ifname=ifname, kind="vlan", link=link, vlan_id=vid),
            feature="802.1Q VLAN devices (module 8021q, CONFIG_VLAN_8021Q)",
        )

    async def delete(self, ifname: str, *, missing_ok: bool = False) -> None:
        """Delete a link (both ends, for a veth)."""
        if missing_ok and not await self.exists(ifname):
            return
        index = await self.index(ifname)
        try:
            await self._sock.link("del", index=index)
        except NetlinkError as exc:
            if missing_ok and exc.code == errno.ENODEV:
                return
            raise _translate(exc, ifname, "delete") from exc

    async def set_master(self, ifname: str, bridge: str) -> None:
        index, master = await self.index(ifname), await self.index(bridge)
        await self._call(
            ifname, f"enslave to {bridge}", self._sock.link("set", index=index, master=master)
        )

    async def move_to_netns(self, ifname: str, namespace: str) -> None:
        """Move a link into another namespace (it arrives down, without addresses)."""
        index = await self.index(ifname)
        await self._call(
            ifname,
            f"move to netns {namespace}",
            self._sock.link("set", index=index, net_ns_fd=namespace),
        )

    async def set_up(self, ifname: str, up: bool = True) -> None:
        index = await self.index(ifname)
        state = "up" if up else "down"
        await self._call(ifname, f"set {state}", self._sock.link("set", index=index, state=state))

    async def is_up(self, ifname: str) -> bool:
        """Administrative state (IFF_UP) read back from the kernel."""
        index = await self.index(ifname)
        (msg,) = await self._call(ifname, "get", self._sock.link("get", index=index))
        return bool(int(msg["flags"]) & 0x1)

    async def add_address(self, ifname: str, address: ipaddress.IPv4Interface) -> None:
        index = await self.index(ifname)
        await self._call(
            ifname,
            f"add address {address}",
            self._sock.addr(
                "add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen
            ),
        )

    # -- bridge port VLANs --------------------------------------------------------------

    async def bridge_vlan_add(
        self, port: str, vid: int, *, pvid: bool = False, untagged: bool = False
    ) -> None:
        """Add (or update the flags of) one VLAN on a bridge port."""
        _check_vid(vid, port)
        flags = (_VLAN_PVID if pvid else 0) | (_VLAN_UNTAGGED if untagged else 0)
        index = await self.index(port)
        await self._call(
            port,
            f"add vlan {vid}",
            self._sock.vlan_filter("add", index=index, vlan_info={"vid": vid, "flags": flags}),
            feature="bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)",
        )

    async def bridge_vlan_del(self, port: str, vid: int) -> None:
        _check_vid(vid, port)
        index = await self.index(port)
        await self._call(
            port,
            f"delete vlan {vid}",
            self._sock.vlan_filter("del", index=index, vlan_info={"vid": vid}),
            feature="bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)",
        )

    async def bridge_vlans(self, port: str) -> list[BridgeVlan]:
        """The port's VLAN entries, sorted by VLAN id (empty if it has none)."""
        index = await self.index(port)
        dump = await self._call(
            port,
            "dump vlans",
            self._sock.link("dump", family=_AF_BRIDGE, ext_mask=_RTEXT_FILTER_BRVLAN),
            feature="bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)",
        )
        entries: list[BridgeVlan] = []
        async for msg in dump:
            if msg.get("index") != index:
                continue
            spec = msg.get("IFLA_AF_SPEC")
            if spec is None:
                continue
            for info in spec.get_attrs("IFLA_BRIDGE_VLAN_INFO"):
                flags = int(info["flags"])
                entries.append(
                    BridgeVlan(
                        vid=int(info["vid"]),
                        pvid=bool(flags & _VLAN_PVID),
                        untagged=bool(flags & _VLAN_UNTAGGED),
                    )
                )
        return sorted(entries, key=lambda entry: entry.vid)


# -- namespaces -------------------------------------------------------------------------


async def list_netns() -> list[str]:
    """Names of the network namespaces under /run/netns."""
    return sorted(await asyncio.to_thread(netns.listnetns))


async def create_netns(name: str) -> None:
    """Create a named network namespace (like ``ip netns add``); it must not exist."""
    if name in await list_netns():
        raise NetlinkRefused(
            f"netns {name}", "already exists: pick another name or remove it", status="EEXIST"
        )
    try:
        # pyroute2 forks a child that unshares and bind-mounts the namespace: blocking work,
        # kept off the event loop.
        await asyncio.to_thread(netns.create, name)
    except PermissionError as exc:
        raise EnvironmentMissing(
            f"netns {name}: creating a network namespace needs root (CAP_SYS_ADMIN): {exc}"
        ) from exc
    except OSError as exc:
        raise NetlinkRefused(
            f"netns {name}", f"create failed: {exc}", status=_errno_name(exc.errno or 0)
        ) from exc


async def remove_netns(name: str, *, missing_ok: bool = False) -> None:
    """Remove a named network namespace; the links inside it go with it."""
    if missing_ok and name not in await list_netns():
        return
    try:
        await asyncio.to_thread(netns.remove, name)
    except OSError as exc:
        raise NetlinkRefused(
            f"netns {name}", f"remove failed: {exc}", status=_errno_name(exc.errno or 0)
        ) from exc
