"""The records the network part speaks in: desired and actual switch state, the
differences between them, and the report of a verification.

Desired state comes from the plan (pure, from the config); actual state from a driver's
read. Both describe a port the same way (PVID, untagged VLANs, tagged VLANs, admin
status), so comparing them is a field-by-field equality, done in one place (`compare`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Phase = Literal["quarantine", "restore", "operational", "drill", "connected"]
PHASES: tuple[Phase, ...] = ("quarantine", "restore", "operational", "drill", "connected")
# Phases a single device's ports may be put in (the uplink follows the rack phase only).
DEVICE_PHASES: tuple[Phase, ...] = ("quarantine", "restore", "operational", "drill")

Role = Literal["server", "storage", "uplink", "controller", "trunk", "drill", "unused"]
Field = Literal["pvid", "untagged", "tagged", "admin"]


@dataclass(frozen=True, slots=True)
class DesiredPort:
    """What one switch port must be in a phase. ``phase`` is the port's own phase (a
    device moved alone by a runbook step may differ from the rack's)."""

    number: int
    role: Role
    phase: Phase
    pvid: int
    untagged: frozenset[int]
    tagged: frozenset[int]
    admin_up: bool
    device: str = ""
    name: str = ""

    @property
    def vlans(self) -> frozenset[int]:
        """Every VLAN the port egresses in."""
        return self.untagged | self.tagged

    def label(self) -> str:
        extra = self.device or self.name
        return f"port {self.number} ({self.role}{', ' + extra if extra else ''})"


@dataclass(frozen=True, slots=True)
class DesiredSwitch:
    switch: str
    phase: Phase
    ports: Mapping[int, DesiredPort]

    @property
    def vlans(self) -> frozenset[int]:
        """The VLANs that must exist on the switch for this state."""
        found: set[int] = set()
        for port in self.ports.values():
            found |= port.vlans | {port.pvid}
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class ActualPort:
    number: int
    pvid: int | None
    untagged: frozenset[int]
    tagged: frozenset[int]
    admin_up: bool | None
    oper_up: bool | None = None
    if_index: int | None = None


@dataclass(frozen=True, slots=True)
class ActualSwitch:
    """A switch as read: per-VLAN membership (as Q-BRIDGE stores it) and per-port
    PVID and status. Ports are the switch's own numbers (bridge ports)."""

    switch: str
    vlans: frozenset[int]
    egress: Mapping[int, frozenset[int]]
    untagged: Mapping[int, frozenset[int]]
    pvid: Mapping[int, int]
    admin_up: Mapping[int, bool]
    oper_up: Mapping[int, bool] = field(default_factory=dict)
    if_index: Mapping[int, int] = field(default_factory=dict)

    def port(self, number: int) -> ActualPort:
        untagged = frozenset(v for v, ports in self.untagged.items() if number in ports)
        egress = frozenset(v for v, ports in self.egress.items() if number in ports)
        return ActualPort(
            number=number,
            pvid=self.pvid.get(number),
            untagged=untagged,
            tagged=egress - untagged,
            admin_up=self.admin_up.get(number),
            oper_up=self.oper_up.get(number),
            if_index=self.if_index.get(number),
        )


@dataclass(frozen=True, slots=True)
class PortChange:
    """One field of one port that differs from its desired value."""

    switch: str
    port: int
    field: Field
    actual: object
    desired: object

    def describe(self) -> str:
        return (
            f"{self.switch} port {self.port}: {self.field} is {_show(self.actual)}, "
            f"should be {_show(self.desired)}"
        )


def _show(value: object) -> str:
    if isinstance(value, frozenset):
        return "{" + ", ".join(str(v) for v in sorted(value)) + "}" if value else "{}"
    if isinstance(value, bool):
        return "up" if value else "down"
    return "none" if value is None else str(value)


def compare(desired: DesiredSwitch, actual: ActualSwitch) -> list[PortChange]:
    """Every field of every managed port where the switch differs from the plan."""
    changes: list[PortChange] = []
    for number, want in sorted(desired.ports.items()):
        have = actual.port(number)
        pairs: tuple[tuple[Field, object, object], ...] = (
            ("admin", have.admin_up, want.admin_up),
            ("pvid", have.pvid, want.pvid),
            ("untagged", have.untagged, want.untagged),
            ("tagged", have.tagged, want.tagged),
        )
        changes += [
            PortChange(desired.switch, number, name, got, wanted)
            for name, got, wanted in pairs
            if got != wanted
        ]
    return changes


@dataclass(frozen=True, slots=True)
class SwitchVerify:
    switch: str
    mismatches: tuple[PortChange, ...]
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.error


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of entering a phase: per switch read-back, and the traffic probe when
    one ran (``probe_ok`` None: no lab or probe host, the read-back alone decides)."""

    phase: Phase
    switches: tuple[SwitchVerify, ...]
    probe_ok: bool | None = None
    probe_detail: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return all(s.ok for s in self.switches) and self.probe_ok is not False

    def problems(self) -> list[str]:
        out: list[str] = []
        for s in self.switches:
            if s.error:
                out.append(f"{s.switch}: {s.error}")
            out += [m.describe() for m in s.mismatches]
        if self.probe_ok is False:
            out += list(self.probe_detail)
        return out
