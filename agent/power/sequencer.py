"""Power sequencing: the rack up in groups within its budget, and down in reverse.

Up: power groups in config order. Within a group, every outlet switched on is followed by
the group's ``inrush_delay`` before the next one (power supplies draw several times their
nominal current for a moment when switched on; staggering keeps those peaks apart), and
every device is checked against the budget (`budget.PowerBudget`) before its first
outlet, and against the meters once it is on. Then the group's servers are powered
through their BMC once it answers, staggered the same way, and the group's ``settle``
pause lets it boot before the next group starts.

Down: groups in reverse order. Servers first get a graceful shutdown through their BMC
(ForceOff after their ``graceful_timeout``), all servers of a group at once since a
shutdown draws no inrush and the UPS clock is running; then their outlets are switched
off. Protected outlets (the controller's, the switch's) are never switched off here.

Device failures do not stop a sequence: an unreachable PDU is marked dead and its
outlets are skipped for the rest of the run (a silent PDU would otherwise cost its
full timeout on every outlet and hold the healthy PDU back), a stuck outlet is reported,
and a dual-corded device still comes up on its other feed. What stops a sequence is a
budget refusal: `PolicyRefusal`, raised before the outlet that would overrun.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agent.bus import Bus
from agent.conf.schema import Bmc, OutletRef, PowerGroup, RackConfig
from agent.conf.units import Duration
from agent.devices.bmc import BmcDriver
from agent.devices.pdu.driver import OutletState
from agent.errors import (
    AgentError,
    ConfigError,
    DeviceError,
    DeviceUnreachable,
    PolicyRefusal,
)
from agent.power.actions import ActionResult
from agent.power.budget import PowerBudget

log = logging.getLogger(__name__)
SOURCE = "power"
Direction = Literal["up", "down"]
# Default pause between outlets when the config has no power group at all.
DEFAULT_INRUSH_S = 2.0


# --- what a run reports --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of a run, as it happens (for a live display). ``status`` is "start",
    "ok", "skipped" or "failed"; ``at`` is time.monotonic()."""

    direction: Direction
    group: str
    device: str
    step: str
    status: str
    detail: str = ""
    at: float = field(default_factory=time.monotonic)


ProgressFn = Callable[[Progress], None]


@dataclass(slots=True)
class DeviceResult:
    """What happened to one device. ``errors``: it did not reach the wanted state;
    ``warnings``: it did, degraded (one feed of two, a forced shutdown)."""

    device: str
    group: str
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    powered: bool = False  # has outlet power at the end
    kept_on: bool = False  # left on because an outlet is protected

    def note(self, action: str) -> None:
        self.actions.append(action)

    def fail(self, problem: str) -> None:
        self.errors.append(problem)

    def warn(self, problem: str) -> None:
        self.warnings.append(problem)

    @property
    def outcome(self) -> str:
        if self.errors:
            return "failed"
        if self.kept_on:
            return "kept_on"
        return "on" if self.powered else "off"

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "group": self.group,
            "outcome": self.outcome,
            "actions": list(self.actions),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class GroupResult:
    name: str
    devices: list[DeviceResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.errors for d in self.devices)

    def errors(self) -> list[str]:
        return [f"{d.device}: {e}" for d in self.devices for e in d.errors]

    def warnings(self) -> list[str]:
        return [f"{d.device}: {w}" for d in self.devices for w in d.warnings]


@dataclass(slots=True)
class PowerReport:
    """The outcome of a whole sequence. ``ok``: every device reached the wanted state
    and nothing was refused; ``degraded``: ok, with warnings."""

    direction: Direction
    reason: str
    groups: list[GroupResult] = field(default_factory=list)
    refusal: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def close(self) -> None:
        self.finished = time.time()

    @property
    def ok(self) -> bool:
        return self.refusal is None and all(g.ok for g in self.groups)

    @property
    def degraded(self) -> bool:
        return self.ok and any(g.warnings() for g in self.groups)

    def errors(self) -> list[str]:
        found = [e for g in self.groups for e in g.errors()]
        return [self.refusal, *found] if self.refusal else found

    def warnings(self) -> list[str]:
        return [w for g in self.groups for w in g.warnings()]

    def summary(self) -> str:
        devices = [d for g in self.groups for d in g.devices]
        counts: dict[str, int] = {}
        for d in devices:
            counts[d.outcome] = counts.get(d.outcome, 0) + 1
        took = (self.finished or time.time()) - self.started
        state = "refused" if self.refusal else "ok" if self.ok else "failed"
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no devices"
        extra = f", {len(self.warnings())} warning(s)" if self.warnings() else ""
        return f"power {self.direction} {state} in {took:.1f} s: {parts}{extra}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "reason": self.reason,
            "ok": self.ok,
            "degraded": self.degraded,
            "refusal": self.refusal,
            "summary": self.summary(),
            "started": self.started,
            "finished": self.finished,
            "groups": [
                {"name": g.name, "ok": g.ok, "devices": [d.to_dict() for d in g.devices]}
                for g in self.groups
            ],
        }


# --- the sequencer -------------------------------------------------------------------------


class Plant(Protocol):
    """The I/O the sequencer needs; `agent.power.manager.PowerManager` provides it."""

    async def outlet_states(self, pdu: str) -> dict[int, OutletState]: ...

    async def switch(self, pdu: str, outlet: int, on: bool, *, remote: bool) -> ActionResult: ...

    async def inlet_power(self, pdu: str) -> float | None: ...

    async def ups_power(self, ups: str) -> float | None: ...

    def bmc(self, device: str) -> BmcDriver | None: ...


@dataclass(frozen=True, slots=True)
class Member:
    """A powered device as the sequencer sees it."""

    id: str
    kind: Literal["server", "switch"]
    outlets: tuple[OutletRef, ...]
    bmc: Bmc | None


def members_of(config: RackConfig) -> dict[str, Member]:
    found = {s.id: Member(s.id, "switch", tuple(s.power), None) for s in config.switch if s.power}
    found |= {s.id: Member(s.id, "server", tuple(s.power), s.bmc) for s in config.server}
    return found


def groups_of(config: RackConfig) -> list[PowerGroup]:
    """The power groups in power-up order. A config without any gets one implicit group:
    switches first (so the network is there to isolate), then servers, in config order."""
    if config.power_group:
        return list(config.power_group)
    order = [s.id for s in config.switch if s.power] + [s.id for s in config.server if s.power]
    return [PowerGroup(name="all", members=order, inrush_delay=Duration(DEFAULT_INRUSH_S))]


def group_of(config: RackConfig, device: str) -> PowerGroup | None:
    return next((g for g in groups_of(config) if device in g.members), None)


class Run:
    """One sequence or device operation: what was read, what happened, who is told."""

    def __init__(
        self, seq: Sequencer, direction: Direction, reason: str, progress: ProgressFn | None
    ) -> None:
        self.seq = seq
        self.direction = direction
        self.progress = progress
        self.report = PowerReport(direction=direction, reason=reason)
        self.states: dict[tuple[str, int], OutletState] = {}
        self.dead: dict[str, str] = {}  # PDU id -> why it is skipped for this run
        self.unreachable: set[str] = set()  # dead PDUs that did not answer at all

    def tell(self, group: str, device: str, step: str, status: str, detail: str = "") -> None:
        event = Progress(self.direction, group, device, step, status, detail)
        if self.progress is not None:
            self.progress(event)

    def state(self, ref: OutletRef) -> OutletState:
        return self.states.get((ref.pdu, ref.outlet), OutletState.UNKNOWN)


class Sequencer:
    """Runs power sequences and single-device operations against a `Plant`."""

    def __init__(self, config: RackConfig, plant: Plant, budget: PowerBudget, bus: Bus) -> None:
        self.config = config
        self.plant = plant
        self.budget = budget
        self.bus = bus
        self.members = members_of(config)
        self.protected = config.protected_outlets()

    # --- snapshot ------------------------------------------------------------------------

    async def snapshot(self, run: Run) -> None:
        """Read every PDU's outlets (all PDUs at once) and the meters, and bring the
        budget up to date. A PDU that does not answer is dead for this run."""

        async def read(pdu: str) -> None:
            try:
                for number, state in (await self.plant.outlet_states(pdu)).items():
                    run.states[(pdu, number)] = state
            except (DeviceError, ConfigError) as exc:  # silent, or a model we cannot drive
                run.dead[pdu] = str(exc)
                if isinstance(exc, DeviceUnreachable):
                    run.unreachable.add(pdu)
                run.tell("", pdu, "read outlets", "failed", str(exc))

        async with asyncio.TaskGroup() as tg:
            for pdu in self.config.pdu:
                tg.create_task(read(pdu.id), name=f"power-snapshot-{pdu.id}")
        self.budget.drawing.clear()
        for member in self.members.values():
            # A device behind a dead PDU may be drawing: count it (the safe side).
            if any(run.state(r) != OutletState.OFF for r in member.outlets):
                self.budget.mark_on(member.id)
        await self._observe_meters(
            {p.id for p in self.config.pdu} - set(run.dead), {u.id for u in self.config.ups}
        )

    async def _observe_meters(
        self, pdus: set[str], upses: set[str]
    ) -> dict[tuple[str, str], float | None]:
        seen: dict[tuple[str, str], float | None] = {}
        for pdu in sorted(pdus):
            seen[("pdu", pdu)] = await self._quiet(self.plant.inlet_power(pdu))
        for ups in sorted(upses):
            seen[("ups", ups)] = await self._quiet(self.plant.ups_power(ups))
        for (kind, feed), watts in seen.items():
            self.budget.observe(kind, feed, watts)
        return seen

    @staticmethod
    async def _quiet(reading: Awaitable[float | None]) -> float | None:
        # A meter that does not answer only loses us a reading, not the sequence.
        try:
            return await reading
        except (DeviceError, ConfigError) as exc:
            log.info("power: meter reading skipped: %s", exc)
            return None

    # --- whole-rack sequences ------------------------------------------------------------

    async def up(self, progress: ProgressFn | None = None) -> PowerReport:
        run = Run(self, "up", "power-up sequence", progress)
        self.bus.emit("power.sequence", SOURCE, direction="up", phase="started")
        await self.snapshot(run)
        # One pause for the whole run: inrush peaks do not care about group boundaries.
        pause = Pause(0.0, run, "")
        try:
            for group in groups_of(self.config):
                await self._group_up(run, group, pause)
        except PolicyRefusal as exc:
            run.report.refusal = str(exc)
            run.tell("", "", "refused", "failed", str(exc))
            self._finish(run)
            raise
        self._finish(run)
        return run.report

    async def down(self, reason: str, progress: ProgressFn | None = None) -> PowerReport:
        run = Run(self, "down", reason, progress)
        self.bus.emit("power.sequence", SOURCE, direction="down", phase="started", reason=reason)
        await self.snapshot(run)
        for group in reversed(groups_of(self.config)):
            result = GroupResult(group.name)
            run.report.groups.append(result)
            devices = [self.members[m] for m in reversed(group.members) if m in self.members]
            outcomes = {m.id: DeviceResult(m.id, group.name) for m in devices}
            result.devices.extend(outcomes.values())
            async with asyncio.TaskGroup() as tg:
                for member in devices:
                    if member.bmc is not None:
                        tg.create_task(
                            self.bmc_down(run, group.name, member, outcomes[member.id]),
                            name=f"power-shutdown-{member.id}",
                        )
            for member in devices:
                await self.outlets_off(
                    run, group.name, member, outcomes[member.id], remote=False, keep_protected=True
                )
            self.bus.emit(
                "power.group_down",
                SOURCE,
                group=group.name,
                ok=result.ok,
                devices={d.device: d.outcome for d in result.devices},
            )
            run.tell(
                group.name,
                "",
                "group down",
                "ok" if result.ok else "failed",
                "; ".join(result.errors()),
            )
        self._finish(run)
        return run.report

    def _finish(self, run: Run) -> None:
        run.report.close()
        self.bus.emit(
            "power.sequence",
            SOURCE,
            direction=run.direction,
            phase="finished",
            ok=run.report.ok,
            summary=run.report.summary(),
            errors=run.report.errors(),
            refusal=run.report.refusal,
        )

    async def _group_up(self, run: Run, group: PowerGroup, pause: Pause) -> None:
        result = GroupResult(group.name)
        run.report.groups.append(result)
        devices = [self.members[m] for m in group.members if m in self.members]
        todo = [m.id for m in devices if any(run.state(r) != OutletState.ON for r in m.outlets)]
        run.tell(group.name, "", "budget", "start", f"checking {len(todo)} device(s) to switch")
        self.budget.project(group.name, todo)
        pause.delay, pause.group = float(group.inrush_delay), group.name
        outcomes: list[tuple[Member, DeviceResult]] = []
        for member in devices:
            outcome = DeviceResult(member.id, group.name)
            result.devices.append(outcome)
            outcomes.append((member, outcome))
            await self.outlets_on(run, group.name, member, outcome, pause)
        for member, outcome in outcomes:
            if member.bmc is not None and outcome.powered:
                await self.bmc_up(run, group.name, member, outcome, pause)
        self.bus.emit(
            "power.group_up",
            SOURCE,
            group=group.name,
            ok=result.ok,
            devices={d.device: d.outcome for d in result.devices},
        )
        run.tell(
            group.name, "", "group up", "ok" if result.ok else "failed", "; ".join(result.errors())
        )
        if group.settle > 0:
            run.tell(group.name, "", "settle", "start", f"{float(group.settle):g} s")
            await asyncio.sleep(float(group.settle))
            if group.settle >= group.inrush_delay:
                pause.armed = False  # the settle already spaced the next switch-on

    # --- device steps --------------------------------------------------------------------

    async def outlets_on(
        self, run: Run, group: str, member: Member, outcome: DeviceResult, pause: Pause
    ) -> None:
        pending = [r for r in member.outlets if run.state(r) != OutletState.ON]
        outcome.powered = len(pending) < len(member.outlets)
        if not pending:
            outcome.note("outlets already on")
            run.tell(group, member.id, "outlets", "skipped", "already on")
            return
        self.budget.check(member.id, group=group)
        feed_problems: list[str] = []
        for ref in pending:
            where = f"outlet {ref.pdu}:{ref.outlet}"
            if ref.pdu in run.dead:
                feed_problems.append(f"{where} not switched on: PDU skipped ({run.dead[ref.pdu]})")
                run.tell(group, member.id, f"{where} on", "failed", "PDU unreachable")
                continue
            await pause.wait(member.id)
            run.tell(group, member.id, f"{where} on", "start")
            pause.armed = True
            try:
                action = await self.plant.switch(ref.pdu, ref.outlet, True, remote=False)
            except AgentError as exc:
                if isinstance(exc, DeviceUnreachable):
                    run.dead[ref.pdu] = str(exc)
                feed_problems.append(f"{where}: {exc}")
                run.tell(group, member.id, f"{where} on", "failed", str(exc))
                continue
            run.states[(ref.pdu, ref.outlet)] = action.after
            outcome.powered = True
            outcome.note(f"{where} on" + ("" if action.sent else " (already)"))
            run.tell(group, member.id, f"{where} on", "ok")
        for problem in feed_problems:
            # Powered through another cord: the device runs, without redundancy.
            if outcome.powered:
                outcome.warn(f"{problem}; running on its other feed(s)")
            else:
                outcome.fail(problem)
        if outcome.powered:
            self.budget.mark_on(member.id)
            await self._check_meters(run, group, member)

    async def _check_meters(self, run: Run, group: str, member: Member) -> None:
        load = self.budget.devices[member.id]
        seen = await self._observe_meters(set(load.pdus) - set(run.dead), set(load.upses))
        for (kind, feed), watts in seen.items():
            self.budget.check_measured(kind, feed, watts, after=member.id, group=group)

    async def bmc_up(
        self, run: Run, group: str, member: Member, outcome: DeviceResult, pause: Pause
    ) -> None:
        bmc = self.plant.bmc(member.id)
        assert member.bmc is not None
        if bmc is None:
            outcome.fail("BMC configured but not opened; see the power manager's log")
            return
        boot = float(member.bmc.boot_timeout)
        run.tell(group, member.id, "BMC answers", "start", f"up to {boot:g} s")
        try:
            await bmc.wait_until_answering(boot)
            if await bmc.power_state() == "on":
                outcome.note("host already on")
                run.tell(group, member.id, "host on", "skipped", "already on")
                return
            await pause.wait(member.id)
            run.tell(group, member.id, "host on", "start", "BMC power on")
            pause.armed = True
            await bmc.power_on()
        except AgentError as exc:
            outcome.fail(f"BMC: {exc}")
            run.tell(group, member.id, "host on", "failed", str(exc))
            return
        outcome.note("host on (BMC)")
        self._audit_bmc(member.id, "on", "ok", group)
        run.tell(group, member.id, "host on", "ok")

    async def bmc_down(self, run: Run, group: str, member: Member, outcome: DeviceResult) -> None:
        assert member.bmc is not None
        if all(run.state(r) == OutletState.OFF for r in member.outlets) and member.outlets:
            return  # no outlet power: no BMC, no host
        bmc = self.plant.bmc(member.id)
        if bmc is None:
            outcome.fail("BMC configured but not opened; outlets cut without a graceful shutdown")
            return
        graceful = float(member.bmc.graceful_timeout)
        run.tell(group, member.id, "host shutdown", "start", f"graceful, up to {graceful:g} s")
        try:
            how = await bmc.shutdown(graceful)
        except AgentError as exc:
            outcome.fail(f"BMC shutdown: {exc}; outlets cut without a graceful shutdown")
            run.tell(group, member.id, "host shutdown", "failed", str(exc))
            return
        outcome.note(f"host off ({how})")
        if how == "forced":
            outcome.warn(f"graceful shutdown not done in {graceful:g} s: forced off")
        self._audit_bmc(member.id, "shutdown", how, group)
        run.tell(group, member.id, "host shutdown", "ok", how)

    async def outlets_off(
        self,
        run: Run,
        group: str,
        member: Member,
        outcome: DeviceResult,
        *,
        remote: bool,
        keep_protected: bool,
    ) -> None:
        """Switch the device's outlets off, last cord first. ``keep_protected`` leaves
        protected outlets on (sequences); ``remote`` refuses them (switch_outlet)."""
        protected_on = False
        for ref in reversed(member.outlets):
            where = f"outlet {ref.pdu}:{ref.outlet}"
            if keep_protected and ref.outlet in self.protected.get(ref.pdu, frozenset()):
                protected_on = protected_on or run.state(ref) != OutletState.OFF
                outcome.note(f"{where} kept on (protected)")
                run.tell(group, member.id, f"{where} off", "skipped", "protected: kept on")
                continue
            if run.state(ref) == OutletState.OFF:
                continue
            if ref.pdu in run.dead:
                outcome.fail(f"{where} not switched off: PDU skipped ({run.dead[ref.pdu]})")
                run.tell(group, member.id, f"{where} off", "failed", "PDU unreachable")
                continue
            run.tell(group, member.id, f"{where} off", "start")
            try:
                action = await self.plant.switch(ref.pdu, ref.outlet, False, remote=remote)
            except (DeviceError, ConfigError) as exc:
                if isinstance(exc, DeviceUnreachable):
                    run.dead[ref.pdu] = str(exc)
                outcome.fail(f"{where}: {exc}")
                run.tell(group, member.id, f"{where} off", "failed", str(exc))
                continue
            run.states[(ref.pdu, ref.outlet)] = action.after
            outcome.note(f"{where} off" + ("" if action.sent else " (already)"))
            run.tell(group, member.id, f"{where} off", "ok")
        if all(run.state(r) == OutletState.OFF for r in member.outlets):
            self.budget.mark_off(member.id)
            outcome.powered = False
        else:
            outcome.powered = True
            outcome.kept_on = protected_on

    def _audit_bmc(self, device: str, action: str, result: str, group: str) -> None:
        self.bus.emit(
            "power.bmc",
            SOURCE,
            category="audit",
            device=device,
            action=action,
            result=result,
            group=group,
        )


class Pause:
    """The inrush delay of a group: waited before every switch-on but the first."""

    def __init__(self, delay: float, run: Run, group: str) -> None:
        self.delay = delay
        self.run = run
        self.group = group
        self.armed = False

    async def wait(self, device: str) -> None:
        if self.armed and self.delay > 0:
            self.run.tell(self.group, device, "inrush delay", "start", f"{self.delay:g} s")
            await asyncio.sleep(self.delay)
        self.armed = False
