"""What the ARS knows of a rack beyond its messages: its config (``--rack-config``).

The ARS writes every rack's config (it lists the ARS keys), so the board may read it to
name switch ports by role, outlets by the device they feed, each application's recovery
target and the runbook's dependency graph. Without a config the board still shows all
that racks publish; ports and outlets are then numbered, and applications have no target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.conf import RackConfig, load_config
from agent.conf.schema import OutletRef
from agent.errors import ConfigError
from agent.network.plan import port_roles


@dataclass(frozen=True, slots=True)
class Port:
    number: int
    role: str
    device: str
    name: str


@dataclass(frozen=True, slots=True)
class Step:
    step_id: str
    app: str
    title: str
    needs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RackLayout:
    site: str
    rack: str
    name: str
    switches: dict[str, tuple[Port, ...]] = field(default_factory=dict)
    outlets: dict[str, dict[int, str]] = field(default_factory=dict)
    """pdu id -> outlet number -> device it feeds."""
    apps: dict[str, tuple[str, float]] = field(default_factory=dict)
    """application id -> (name, recovery target in seconds)."""
    steps: dict[str, Step] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "switches": {
                sid: [[p.number, p.role, p.device, p.name] for p in ports]
                for sid, ports in self.switches.items()
            },
            "outlets": {pdu: {str(n): d for n, d in o.items()} for pdu, o in self.outlets.items()},
            "apps": {a: {"name": n, "target_s": t} for a, (n, t) in self.apps.items()},
            "steps": {
                s.step_id: {"app": s.app, "title": s.title, "needs": list(s.needs)}
                for s in self.steps.values()
            },
        }


def vlan_role(port_role: str, phase: str) -> str:
    """The VLAN role a port sits in during a network phase (agent/network/plan.py's
    rules, named for the picture): quarantine, clean, drill, uplink, management, unused."""
    if port_role == "uplink":
        return "uplink"
    if port_role == "controller":
        return "management"
    if port_role in ("server", "storage"):
        if phase in ("", "quarantine"):
            return "quarantine"
        return "drill" if phase == "drill" else "clean"
    if port_role == "drill":
        return "drill" if phase == "drill" else "quarantine"
    return "unused"


def from_config(config: RackConfig) -> RackLayout:
    outlets: dict[str, dict[int, str]] = {}

    def feeds(device: str, refs: list[OutletRef]) -> None:
        for ref in refs:
            outlets.setdefault(ref.pdu, {})[ref.outlet] = device

    for switch in config.switch:
        feeds(switch.id, switch.power)
    for server in config.server:
        feeds(server.id, server.power)
    feeds("controller", config.controller.power)
    switches = {
        switch.id: tuple(
            Port(number, role, device, name)
            for number, (role, device, name) in sorted(port_roles(switch).items())
        )
        for switch in config.switch
    }
    apps = {app.id: (app.name, float(app.rto)) for app in config.application}
    steps = {
        s.id: Step(s.id, s.app or "", s.title or s.id, tuple(s.needs)) for s in config.runbook.step
    }
    return RackLayout(
        config.rack.site, config.rack.id, config.rack.name, switches, outlets, apps, steps
    )


def load_layouts(paths: list[Path]) -> dict[tuple[str, str], RackLayout]:
    """Every ``--rack-config``, validated as the agent validates it (errors name the
    file and the TOML path); two files for the same rack are an error."""
    layouts: dict[tuple[str, str], RackLayout] = {}
    for path in paths:
        layout = from_config(load_config(path))
        key = (layout.site, layout.rack)
        if key in layouts:
            raise ConfigError(
                [
                    f"--rack-config {path}: rack {layout.rack!r} at site {layout.site!r} "
                    "was already given by another file; give each rack's config once"
                ]
            )
        layouts[key] = layout
    return layouts
