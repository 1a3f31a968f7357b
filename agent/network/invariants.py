"""The isolation rules every desired state must keep, checked before anything is
written (and on what a switch reads back, to show how unsafe a state found is).

1. ``clean-and-quarantine``: no port is in both the clean and the quarantine VLAN.
2. ``uplink``: outside the *connected* phase the hospital uplink is shut and never
   carries the clean VLAN, and no other port carries the uplink VLAN; in *connected* the
   uplink VLAN reaches only the uplink and the controller.
3. ``pvid``: no port keeps a default (1), missing or unknown PVID, an access port's PVID
   is its own untagged VLAN, and no port is in VLAN 1 or a VLAN the config does not name.
4. ``management``: the management VLAN reaches the controller's ports only.

A port's VLANs are its untagged and tagged VLANs and its PVID, except that a trunk's
PVID does not count: it only parks the untagged frames a trunk should never receive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec

from agent.conf.schema import RackConfig, Vlans
from agent.devices.switch.model import ActualSwitch, DesiredSwitch, Phase, Role
from agent.errors import PolicyRefusal
from agent.network.plan import port_roles

_ACCESS: frozenset[Role] = frozenset({"server", "storage", "drill", "unused", "uplink"})


@dataclass(frozen=True, slots=True)
class PortView:
    """What the rules look at: a desired port, or an actual one with its config role."""

    number: int
    role: Role
    pvid: int | None
    untagged: frozenset[int]
    tagged: frozenset[int]
    admin_up: bool | None

    def vlans(self) -> frozenset[int]:
        found = self.untagged | self.tagged
        if self.role != "trunk" and self.pvid is not None:
            found |= {self.pvid}
        return found


@dataclass(frozen=True, slots=True)
class Violation:
    switch: str
    port: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.switch} port {self.port}: [{self.rule}] {self.message}"


def _check_port(switch: str, port: PortView, vlans: Vlans, phase: Phase) -> list[Violation]:
    out: list[Violation] = []

    def bad(rule: str, message: str) -> None:
        out.append(Violation(switch, port.number, rule, message))

    mine = port.vlans()
    known = set(msgspec.structs.astuple(vlans))
    if {vlans.clean, vlans.quarantine} <= mine:
        bad(
            "clean-and-quarantine",
            f"{port.role} port is in both the clean VLAN {vlans.clean} and the quarantine "
            f"VLAN {vlans.quarantine}; it would bridge quarantined hosts into the clean network",
        )
    if port.role == "uplink" and phase != "connected":
        if vlans.clean in mine:
            bad(
                "uplink",
                f"the hospital uplink carries the clean VLAN {vlans.clean} in phase {phase!r}; "
                "only the two-person approved 'connected' phase may join them",
            )
        if port.admin_up is not False:
            bad("uplink", f"the hospital uplink must be shut in phase {phase!r}, it is not")
    if port.role != "uplink" and vlans.uplink in mine:
        allowed = port.role == "controller" and phase == "connected"
        if not allowed:
            bad(
                "uplink",
                f"{port.role} port carries the hospital uplink VLAN {vlans.uplink}; only the "
                "uplink port (and the controller, in 'connected') may",
            )
    if port.pvid is None or port.pvid not in known:
        what = "no PVID" if port.pvid is None else f"PVID {port.pvid}"
        bad(
            "pvid",
            f"{what} is not one of the rack's VLANs {sorted(known)}; an untagged frame "
            "would land in a default or unknown VLAN",
        )
    elif port.role in _ACCESS and port.pvid not in port.untagged:
        bad(
            "pvid",
            f"access port PVID {port.pvid} is not its untagged VLAN "
            f"{sorted(port.untagged) or 'none'}",
        )
    unknown = sorted(mine - known)
    if unknown:
        bad(
            "pvid",
            f"port is in VLANs {unknown} that the rack does not use (VLAN 1 is the default "
            "VLAN); remove it from them",
        )
    if vlans.management in mine and port.role != "controller":
        bad(
            "management",
            f"{port.role} port carries the management VLAN {vlans.management}, which must "
            "reach the controller's ports only",
        )
    return out


def check_ports(
    switch: str, ports: Iterable[PortView], vlans: Vlans, phase: Phase
) -> list[Violation]:
    return [v for port in ports for v in _check_port(switch, port, vlans, phase)]


def check_desired(desired: DesiredSwitch, vlans: Vlans) -> list[Violation]:
    views = (
        PortView(p.number, p.role, p.pvid, p.untagged, p.tagged, p.admin_up)
        for p in desired.ports.values()
    )
    return check_ports(desired.switch, views, vlans, desired.phase)


def check_actual(config: RackConfig, actual: ActualSwitch, phase: Phase) -> list[Violation]:
    """The rules applied to a switch as read back, with the roles from the config."""
    switch = next((s for s in config.switch if s.id == actual.switch), None)
    if switch is None:
        raise PolicyRefusal(
            f"invariants: switch {actual.switch!r} is not in the rack config "
            f"(switches: {', '.join(s.id for s in config.switch)})"
        )
    views = []
    for number, (role, _, _) in sorted(port_roles(switch).items()):
        port = actual.port(number)
        views.append(PortView(number, role, port.pvid, port.untagged, port.tagged, port.admin_up))
    return check_ports(actual.switch, views, config.vlans, phase)


def enforce(desired: Mapping[str, DesiredSwitch], vlans: Vlans) -> None:
    """Raise PolicyRefusal naming every offending port if a desired state breaks a rule.

    Called on every desired state before a single SET is sent: a planner bug must stop
    at this line, not reach a switch.
    """
    found = [v for d in desired.values() for v in check_desired(d, vlans)]
    if found:
        raise PolicyRefusal(
            "network plan refused, it breaks the isolation rules (nothing was written; "
            "this is a bug in the plan or the config, report it):\n  "
            + "\n  ".join(str(v) for v in found)
        )
