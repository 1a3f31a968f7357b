"""The controller's own interfaces, per phase: the host-side mirror of its switch port.

The plan gives the controller's switch port the management VLAN untagged and, tagged,
the clean and drill VLANs while some port uses them and the uplink VLAN in *connected*
(the controller routes the clean network to the hospital; no switch bridges them). On
the controller that is:

- the *trunk* interface (cabled to the controller port): up, with
  ``controller.management_address`` on it (untagged, so on the interface itself);
- one 802.1Q sub-interface ``<trunk>.<vid>`` per tagged VLAN, created when first needed,
  up while the switch carries that VLAN to the controller and held down otherwise, with
  its address when one is given;
- ``controller.uplink_interface`` (a NIC cabled straight to the hospital network, for a
  rack without a switch uplink port): up in *connected* only, down in every other phase.

`apply_host(config, phase, ...)` makes the interfaces so and reads them back; it is
idempotent (calling it twice writes nothing the second time) and runs in the agent's own
network namespace. The config has no key for the trunk interface yet, so the caller
passes it (``trunk``), with the sub-interfaces' addresses (``addresses``).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.adapters.netlink import Netlink, NetlinkRefused
from agent.conf.schema import RackConfig
from agent.devices.switch import linuxbridge_sysfs as sysfs
from agent.devices.switch.model import Phase
from agent.errors import ConfigError, VerifyError
from agent.network.plan import Layout, vlans_in_use

log = logging.getLogger(__name__)
Address = ipaddress.IPv4Interface


@dataclass(frozen=True, slots=True)
class HostPlan:
    """What the controller's interfaces must be in one phase."""

    phase: Phase
    trunk: str
    management: Address | None
    vlans_up: frozenset[int]  # sub-interfaces that must be up
    vlans_known: frozenset[int]  # every sub-interface the agent manages (others held down)
    addresses: Mapping[int, Address] = field(default_factory=dict)
    uplink: str = ""
    uplink_up: bool = False

    def sub(self, vid: int) -> str:
        """The sub-interface name, as iproute2 names it (``eth0.20``)."""
        return f"{self.trunk}.{vid}"


@dataclass(frozen=True, slots=True)
class HostState:
    """The interfaces as read back after applying."""

    up: Mapping[str, bool]
    changed: tuple[str, ...]


def management_address(config: RackConfig) -> Address | None:
    text = config.controller.management_address
    if not text:
        return None
    if "/" not in text:
        raise ConfigError(
            [
                f"controller.management_address: {text!r} has no prefix length; write it as "
                f"'{text}/24' (the management network's size) so the controller knows which "
                "addresses are on its management VLAN"
            ]
        )
    try:
        return ipaddress.IPv4Interface(text)
    except ValueError as exc:
        raise ConfigError(
            [f"controller.management_address: {text!r} is not an IPv4 address/prefix ({exc})"]
        ) from exc


def host_plan(
    config: RackConfig,
    phase: Phase,
    *,
    trunk: str = "",
    addresses: Mapping[int, Address] | None = None,
) -> HostPlan:
    """The desired state of the controller's interfaces in ``phase`` (pure)."""
    vlans = config.vlans
    tagged = vlans_in_use(config, Layout(phase)) & {vlans.clean, vlans.drill}
    if phase == "connected":
        tagged |= {vlans.uplink}
    given = dict(addresses or {})
    known = frozenset({vlans.clean, vlans.drill, vlans.uplink} | set(given))
    stray = sorted(set(given) - {vlans.clean, vlans.drill, vlans.uplink})
    if stray:
        raise ConfigError(
            [
                f"controller sub-interface addresses: VLANs {stray} are never carried to the "
                f"controller (only clean {vlans.clean}, drill {vlans.drill} and uplink "
                f"{vlans.uplink}); drop them"
            ]
        )
    return HostPlan(
        phase=phase,
        trunk=trunk,
        management=management_address(config) if trunk else None,
        vlans_up=frozenset(tagged) if trunk else frozenset(),
        vlans_known=known if trunk else frozenset(),
        addresses=given,
        uplink=config.controller.uplink_interface,
        uplink_up=phase == "connected",
    )


async def _ensure_address(nl: Netlink, ifname: str, address: Address) -> bool:
    """Add the address; True when it was added, False when the kernel says the interface
    already has it (EEXIST is the kernel's own read-back of that exact address/prefix)."""
    try:
        await nl.add_address(ifname, address)
    except NetlinkRefused as exc:
        if exc.status == "EEXIST":
            return False
        raise
    return True


async def _ensure_link(nl: Netlink, ifname: str, up: bool, changed: list[str]) -> None:
    if await nl.is_up(ifname) != up:
        await nl.set_up(ifname, up)
        changed.append(f"{ifname} {'up' if up else 'down'}")


async def _ensure_vlan(nl: Netlink, want: HostPlan, vid: int, changed: list[str]) -> None:
    name = want.sub(vid)
    if not await nl.exists(name):
        if vid not in want.vlans_up:
            return  # never made: nothing to hold down
        await nl.create_vlan(name, want.trunk, vid)
        changed.append(f"{name} created")
    found = sysfs.vlan_device(name)
    if found != (want.trunk, vid):
        what = "not a VLAN device" if found is None else f"VLAN {found[1]} on {found[0]}"
        raise VerifyError(
            "controller",
            f"interface {name} exists but is {what}, not VLAN {vid} on {want.trunk}; delete "
            "or rename it, the agent uses that name for its own sub-interface",
        )
    # Down before anything else changes, up only once its address is in place.
    if vid not in want.vlans_up:
        await _ensure_link(nl, name, False, changed)
        return
    if vid in want.addresses and await _ensure_address(nl, name, want.addresses[vid]):
        changed.append(f"{name} address {want.addresses[vid]}")
    await _ensure_link(nl, name, True, changed)


async def apply_host(
    config: RackConfig,
    phase: Phase,
    *,
    trunk: str = "",
    addresses: Mapping[int, Address] | None = None,
) -> HostState:
    """Make the controller's interfaces as `host_plan` says and read them back; raise
    VerifyError when one reads back otherwise. The hospital-facing interface goes down
    first and comes up last."""
    want = host_plan(config, phase, trunk=trunk, addresses=addresses)
    changed: list[str] = []
    async with Netlink() as nl:
        if want.uplink and not want.uplink_up:
            await _ensure_link(nl, want.uplink, False, changed)
        if want.trunk:
            if want.management is not None and await _ensure_address(
                nl, want.trunk, want.management
            ):
                changed.append(f"{want.trunk} address {want.management}")
            await _ensure_link(nl, want.trunk, True, changed)
            for vid in sorted(want.vlans_known):
                await _ensure_vlan(nl, want, vid, changed)
        if want.uplink and want.uplink_up:
            await _ensure_link(nl, want.uplink, True, changed)
        up = await _read_back(nl, want)
    if changed:
        log.info("controller interfaces for phase %s: %s", phase, ", ".join(changed))
    return HostState(up, tuple(changed))


async def _read_back(nl: Netlink, want: HostPlan) -> dict[str, bool]:
    expected: dict[str, bool] = {}
    if want.uplink:
        expected[want.uplink] = want.uplink_up
    if want.trunk:
        expected[want.trunk] = True
        for vid in want.vlans_known:
            if vid in want.vlans_up or await nl.exists(want.sub(vid)):
                expected[want.sub(vid)] = vid in want.vlans_up
    seen = {name: await nl.is_up(name) for name in expected}
    wrong = sorted(name for name, up in expected.items() if seen[name] != up)
    if wrong:
        raise VerifyError(
            "controller",
            f"interfaces {wrong} read back {[('up' if seen[n] else 'down') for n in wrong]} "
            f"after applying phase {want.phase!r}; something else manages them (check "
            "systemd-networkd / NetworkManager and leave these interfaces to the agent)",
        )
    return seen
