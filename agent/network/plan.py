"""The desired state of every switch port, per phase: a pure function of the config.

A `Layout` is the rack's phase plus, optionally, the phase of single devices (a runbook
step may move one server to the clean VLAN while the others stay in quarantine). The
plan turns it into a `DesiredSwitch` per switch:

==============  ============================================================================
role            desired state
==============  ============================================================================
server/storage  access port, up: quarantine VLAN in *quarantine*, clean VLAN in *restore*,
                *operational* and *connected*, drill VLAN in *drill*
drill           access port in the drill VLAN, up, in the *drill* phase; otherwise parked
unused, and     parked: shut, PVID and untagged VLAN quarantine (so a port someone brings
unlisted ports  up by hand still lands where nothing trusted lives)
uplink          access port in the uplink VLAN, up in *connected* only, shut otherwise
controller      management VLAN untagged (its PVID), plus tagged the clean and drill VLANs
                when some port uses them, and the uplink VLAN in *connected*: the
                controller routes the clean VLAN to the hospital, nothing bridges it
trunk           tagged link to another switch of the rack: the workload VLANs in use, but
                never clean and quarantine together (clean wins, quarantined hosts across
                a trunk lose each other, which is fail-closed); PVID quarantine, no
                untagged VLAN, so untagged frames from a mis-patched cable land there
==============  ============================================================================

The management VLAN goes to controller ports only; VLAN 1 is on no port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from agent.conf.schema import RackConfig, Switch, Vlans
from agent.devices.switch.model import (
    DEVICE_PHASES,
    PHASES,
    DesiredPort,
    DesiredSwitch,
    Phase,
    Role,
)
from agent.errors import PolicyRefusal

_MOVABLE: frozenset[Role] = frozenset({"server", "storage", "drill"})


@dataclass(frozen=True, slots=True)
class Layout:
    """The rack phase and the phases of devices moved on their own."""

    phase: Phase = "quarantine"
    devices: Mapping[str, Phase] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise PolicyRefusal(f"network layout: phase {self.phase!r} is not one of {PHASES}")
        for device, phase in self.devices.items():
            if phase not in DEVICE_PHASES:
                raise PolicyRefusal(
                    f"network layout: device {device!r} cannot be put alone in phase "
                    f"{phase!r}; single devices take one of {DEVICE_PHASES} (only the "
                    "whole rack enters 'connected', by a two-person approved command)"
                )

    def enter(self, phase: Phase, devices: Iterable[str] = ()) -> Layout:
        """The layout after entering ``phase``: for the whole rack (device moves are
        forgotten), or for the named devices only."""
        chosen = tuple(devices)
        if not chosen:
            return Layout(phase)
        moved = dict(self.devices)
        moved.update(dict.fromkeys(chosen, phase))
        return Layout(self.phase, MappingProxyType(moved))

    def phase_of(self, device: str) -> Phase:
        if device and device in self.devices:
            return self.devices[device]
        return "operational" if self.phase == "connected" else self.phase


def workload_vlan(vlans: Vlans, phase: Phase) -> int:
    """The VLAN a server's access port sits in during ``phase``."""
    if phase == "quarantine":
        return vlans.quarantine
    if phase == "drill":
        return vlans.drill
    return vlans.clean


def port_roles(switch: Switch) -> dict[int, tuple[Role, str, str]]:
    parked: tuple[Role, str, str] = ("unused", "", "")
    found = dict.fromkeys(range(1, switch.port_count + 1), parked)
    for port in switch.ports:
        found[port.number] = (port.role, port.device, port.name)
    return found


def _access_state(
    role: Role, device: str, config: RackConfig, layout: Layout
) -> tuple[Phase, int, bool]:
    """(phase, VLAN, up) of an access port."""
    vlans = config.vlans
    if role == "uplink":
        return layout.phase, vlans.uplink, layout.phase == "connected"
    if role in ("server", "storage"):
        phase = layout.phase_of(device)
        return phase, workload_vlan(vlans, phase), True
    if role == "drill":
        phase = layout.phase_of(device)
        if phase == "drill":
            return phase, vlans.drill, True
        return phase, vlans.quarantine, False
    return layout.phase, vlans.quarantine, False  # unused, parked


def vlans_in_use(config: RackConfig, layout: Layout) -> frozenset[int]:
    """Workload VLANs some up access port of the rack sits in (what trunks and the
    controller must carry)."""
    used: set[int] = set()
    for switch in config.switch:
        for role, device, _ in port_roles(switch).values():
            if role in _MOVABLE:
                _, vid, up = _access_state(role, device, config, layout)
                if up:
                    used.add(vid)
    return frozenset(used)


def plan_switch(config: RackConfig, switch: Switch, layout: Layout) -> DesiredSwitch:
    vlans = config.vlans
    used = vlans_in_use(config, layout)
    ports: dict[int, DesiredPort] = {}
    for number, (role, device, name) in sorted(port_roles(switch).items()):
        if role == "controller":
            tagged = used & {vlans.clean, vlans.drill}
            if layout.phase == "connected":
                tagged |= {vlans.uplink}
            ports[number] = DesiredPort(
                number, role, layout.phase, vlans.management,
                frozenset({vlans.management}), frozenset(tagged), True, device, name,
            )  # fmt: skip
        elif role == "trunk":
            tagged = used - {vlans.management, vlans.uplink}
            if vlans.clean in tagged:
                tagged -= {vlans.quarantine}
            ports[number] = DesiredPort(
                number, role, layout.phase, vlans.quarantine,
                frozenset(), frozenset(tagged), True, device, name,
            )  # fmt: skip
        else:
            phase, vid, up = _access_state(role, device, config, layout)
            ports[number] = DesiredPort(
                number, role, phase, vid, frozenset({vid}), frozenset(), up, device, name
            )
    return DesiredSwitch(switch.id, layout.phase, MappingProxyType(ports))


def plan(config: RackConfig, layout: Layout) -> dict[str, DesiredSwitch]:
    """The desired state of every switch of the rack."""
    return {switch.id: plan_switch(config, switch, layout) for switch in config.switch}
