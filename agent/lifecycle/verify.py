"""Operational means verified: the restored applications keep being checked, and lost ones
are brought back by the runbook's own steps.

`Verifier.watch` runs while the rack is operational (or degraded): every poll interval it
probes each application through its runbook wait steps (``wait_tcp``/``wait_http``, one
probe each, no side effect) and asks the health watch which servers lost power. An
application that fails two probes in a row, or a server that lost power, ends the watch
with a `Loss` naming each application and its recovery target; the lifecycle then leaves
operational for ``recovering``.

`recovery_steps` is the part of the runbook that brings given applications back: their
own steps, with ``needs`` on other steps dropped (those applications still answer, and
the network phase is held by the reconcile loop, which repairs a switch that lost its
layout). Every step kind is idempotent through its ``check``, so a re-run skips what is
still in place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from agent.bus import Bus
from agent.conf.schema import Application, RackConfig, Step
from agent.lifecycle.runbook import StepExecutor

SOURCE = "lifecycle"
PROBE_KINDS = ("wait_tcp", "wait_http")
MISSES = 2
"""Consecutive failed probes before an application counts as lost (one may be a blip)."""
MAX_BACKOFF_S = 60.0


@dataclass
class Loss:
    """What was lost, when, and why: the reason a transition and an alarm carry."""

    apps: list[str]
    since: float
    why: dict[str, str] = field(default_factory=dict)

    def reason(self, config: RackConfig) -> str:
        by_id = {a.id: a for a in config.application}
        parts = [
            f"{app} ({by_id[app].name}, recovery target {float(by_id[app].rto):g}s): "
            f"{self.why[app]}"
            for app in self.apps
            if app in by_id
        ]
        return "; ".join(parts) or "; ".join(self.why.values())


def journaled_loss(entries: Iterable[tuple[str, str, dict[str, Any]]]) -> Loss | None:
    """The outage the current recovery began with, from `Journal.since_transition`: the
    newest one found at a restart (kind ``outage``), else the one journaled with the
    transition into recovering. None when neither is there."""
    for kind, phase, data in entries:
        outage = data if kind == "outage" else data.get("outage") if phase == "entered" else None
        if isinstance(outage, dict):
            return Loss(
                [str(a) for a in outage["apps"]],
                float(outage["since"]),
                {str(k): str(v) for k, v in outage.get("why", {}).items()},
            )
    return None


def probes_by_app(config: RackConfig) -> dict[str, list[Step]]:
    """Each application's readiness checks: its runbook wait steps."""
    found: dict[str, list[Step]] = {a.id: [] for a in config.application}
    for step in config.runbook.step:
        if step.app in found and step.kind in PROBE_KINDS:
            found[step.app].append(step)
    return {app: steps for app, steps in found.items() if steps}


def servers_of(config: RackConfig) -> dict[str, str]:
    """server id -> application ids whose runbook steps name it (in their args)."""
    hosts: dict[str, set[str]] = {}
    ids = {s.id for s in config.server}
    for step in config.runbook.step:
        if not step.app:
            continue
        text = msgspec.json.encode(step.args).decode()
        for server in ids:
            if f'"{server}"' in text:
                hosts.setdefault(server, set()).add(step.app)
    return {server: ",".join(sorted(apps)) for server, apps in hosts.items()}


class Verifier:
    def __init__(
        self,
        config: RackConfig,
        executors: Mapping[str, StepExecutor],
        bus: Bus,
        *,
        unpowered: Callable[[], set[str]] | None = None,
        interval: float | None = None,
    ) -> None:
        self.config = config
        self.executors = executors
        self.bus = bus
        self.unpowered = unpowered
        self.interval = float(config.health.interval) if interval is None else interval
        self.probes = probes_by_app(config)
        self.hosting = servers_of(config)

    async def probe(self) -> dict[str, str]:
        """One round: application -> why it does not answer (absent when it answers)."""

        async def one(app: str, steps: list[Step]) -> tuple[str, str]:
            for step in steps:
                if not await self.executors[step.kind].check(step):
                    return app, f"{step.id} ({step.kind}) does not answer"
            return app, ""

        results = await asyncio.gather(*(one(app, s) for app, s in self.probes.items()))
        failed = {app: why for app, why in results if why}
        if self.unpowered is not None:
            for server in sorted(self.unpowered()):
                for app in self.hosting.get(server, "").split(","):
                    if app:
                        failed.setdefault(app, f"its server {server} lost power")
        return failed

    async def watch(self) -> Loss:
        """Probe until an application is lost; returns what was lost."""
        misses: dict[str, int] = {}
        first_miss: dict[str, float] = {}
        while True:
            failed = await self.probe()
            now = time.time()
            for app in list(misses):
                if app not in failed:
                    misses.pop(app)
                    first_miss.pop(app, None)
            for app in failed:
                misses[app] = misses.get(app, 0) + 1
                first_miss.setdefault(app, now)
            lost = sorted(app for app, n in misses.items() if n >= MISSES)
            if lost:
                loss = Loss(lost, min(first_miss[a] for a in lost), {a: failed[a] for a in lost})
                self._alarms(loss)
                return loss
            await asyncio.sleep(self.interval)

    def _alarms(self, loss: Loss) -> None:
        by_id = {a.id: a for a in self.config.application}
        for app in loss.apps:
            target = float(by_id[app].rto) if app in by_id else 0.0
            self.bus.emit(
                "alarm.raised",
                SOURCE,
                alarm_id=f"app:{app}:down",
                device=app,
                sensor="liveness",
                severity="critical",
                action="degraded",
                message=f"application {app} is down: {loss.why[app]}; recovery target {target:g}s",
                app=app,
                rto_s=target,
            )

    def cleared(self, loss: Loss, downtime: Mapping[str, float]) -> None:
        for app in loss.apps:
            self.bus.emit(
                "alarm.cleared",
                SOURCE,
                alarm_id=f"app:{app}:down",
                device=app,
                sensor="liveness",
                message=f"application {app} answers again after {downtime[app]:.1f}s",
                duration_s=downtime[app],
            )


def policies(config: RackConfig, apps: list[str]) -> list[Application]:
    return [a for a in config.application if a.id in apps]


def backoff(apps: list[Application], attempt: int) -> float:
    """Pause before retry ``attempt`` (1-based): the smallest backoff of the applications,
    doubling, at most a minute."""
    base = min((float(a.recovery_backoff) for a in apps), default=5.0)
    return float(min(base * 2 ** (attempt - 1), MAX_BACKOFF_S))


def recovery_steps(config: RackConfig, apps: list[str]) -> list[Step]:
    """The runbook part that brings ``apps`` back: their own steps."""
    wanted = [s for s in config.runbook.step if s.app and s.app in apps]
    ids = {s.id for s in wanted}
    return [
        msgspec.structs.replace(s, needs=[n for n in s.needs if n in ids]) if s.needs else s
        for s in wanted
    ]
