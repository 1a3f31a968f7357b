"""The lifecycle machine: drives the rack through the state table, journaling every
transition before the new state's entry action starts.

Each active state has one entry action (self-test, isolate, power up, restore, shut
down, drill) that ends by naming the next event. Events from outside (the operator, the
UPS policy, alarms, the emergency button) arrive through `post`; one that the table
accepts interrupts the running entry action, which is cancelled and its state left.

After a crash the machine resumes in the last journaled state and runs its entry action
again: every entry action is idempotent (isolation and power are diffs against what the
devices read back; the restore runbook resumes its own run from the journal).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Protocol

from agent.bus import Bus
from agent.bus import Event as BusEvent
from agent.cancel import cancel_and_wait
from agent.conf.schema import RackConfig, Step
from agent.errors import AgentError, PolicyRefusal
from agent.lifecycle.journal import Journal
from agent.lifecycle.runbook import Decision, RunbookEngine, RunResult
from agent.lifecycle.states import GUARDS, INITIAL, Event, Refusal, State, Transition, lookup
from agent.lifecycle.steps.context import StepContext
from agent.lifecycle.steps.registry import build_executors
from agent.lifecycle.verify import (
    Loss,
    Verifier,
    backoff,
    journaled_loss,
    policies,
    recovery_steps,
)

log = logging.getLogger(__name__)

SOURCE = "lifecycle"
# States whose entry does not take the hospital uplink down first: connected itself, and
# the two that quarantine the whole rack at once (uplink included).
_UPLINK_STATES = frozenset({State.CONNECTED, State.ISOLATED, State.SAFE_HOLD})


class Network(Protocol):
    async def isolate(self) -> tuple[bool, str]: ...

    async def resume(self) -> None: ...

    async def emergency(self, reason: str) -> str: ...

    async def hold(self, reason: str) -> tuple[bool, str]: ...

    def release(self) -> None: ...

    @property
    def connected(self) -> bool: ...

    async def connect(self, approvals: tuple[str, ...]) -> tuple[bool, str]: ...

    async def disconnect(self) -> tuple[bool, str]: ...


class Power(Protocol):
    async def up(self) -> tuple[bool, str]: ...

    async def down(self, reason: str) -> tuple[bool, str]: ...


Selftest = Callable[[], Awaitable[tuple[bool, str]]]


@dataclass(frozen=True)
class Hold:
    """Emergency isolation in force: why, who pressed it, since when (wall clock)."""

    reason: str
    actor: str
    since: float


@dataclass
class Outcome:
    event: Event
    detail: str


class Lifecycle:
    def __init__(
        self,
        config: RackConfig,
        bus: Bus,
        journal: Journal,
        *,
        selftest: Selftest,
        network: Network,
        power: Power,
        steps: StepContext,
        on_run: Callable[[RunResult], Awaitable[None]] | None = None,
        unpowered: Callable[[], set[str]] | None = None,
    ) -> None:
        self.config = config
        self.bus = bus
        self.journal = journal
        if journal.record is None and journal.bus is None:
            # A journal with no record of its own (tests, tools) still announces its
            # entries on the lifecycle's bus; with a record they are committed with it.
            journal.bus = bus
        self.selftest = selftest
        self.network = network
        self.power = power
        self.steps = steps
        self.on_run = on_run
        self.state: State = INITIAL
        self.isolation_verified = False
        # Set by the health part's policy: True while an alarm with action "degraded" is
        # active. Checked on entering operational, so an alarm raised during the restore
        # is not lost when it had no edge to report later.
        self.health_degraded = False
        self.engine: RunbookEngine | None = None
        self.hold: Hold | None = None  # emergency isolation, journaled, survives restarts
        self._released_before_restart = False  # the newest isolation entry is a release
        self.last_run: RunResult | None = None
        self._events: asyncio.Queue[tuple[Event, str, str]] = asyncio.Queue()
        self._changed = asyncio.Event()
        self.verifier = Verifier(config, build_executors(steps), bus, unpowered=unpowered)
        self.loss: Loss | None = None

    # --- from outside -------------------------------------------------------------

    def post(self, event: Event, *, actor: str = SOURCE, reason: str = "") -> str | None:
        """Ask for an event. Returns None if the table accepts it in the current state
        (it will take effect), else the refusal's reason (nothing changes)."""
        row = self._check(self.state, event)
        if isinstance(row, Refusal):
            self.bus.emit(
                "lifecycle.refused",
                SOURCE,
                category="audit",
                state=self.state,
                event=event,
                actor=actor,
                reason=row.reason,
            )
            return row.reason
        self._events.put_nowait((event, actor, reason))
        return None

    def set_health(self, degraded: bool, reason: str) -> None:
        """The health policy's level changed: degrade or recover when that applies now."""
        self.health_degraded = degraded
        event = Event.DEGRADE if degraded else Event.RECOVERED
        if not isinstance(self._check(self.state, event), Refusal):
            self.post(event, actor="health", reason=reason)

    def decide(self, step_id: str, decision: Decision) -> str | None:
        """An operator's answer to a runbook step that waits (retry / skip / abort)."""
        if self.engine is None or step_id not in self.engine.waiting:
            return f"step {step_id!r} is not waiting for a decision"
        self.engine.decide(step_id, decision)
        self.bus.emit(
            "runbook.decision",
            SOURCE,
            category="audit",
            step=step_id,
            action=decision.action,
            actor=decision.actor,
            reason=decision.reason,
        )
        return None

    async def isolate(self, *, actor: str, reason: str) -> tuple[bool, str]:
        """The emergency button (console, CLI, signed command, health policy): journal
        the hold before acting, isolate at once (quarantine verified by read-back, the
        hospital uplinks down), then enter the isolated state, which keeps it so until
        `release`. Returns whether the isolation verified, and a summary."""
        said = _isolation(actor, reason, held=True)
        if self.hold is None:
            hold = Hold(reason, actor, time.time())
            await self.journal.write("isolation", "held", "entered", announce=said, **asdict(hold))
            self.hold = hold
        else:
            self.bus.publish(said)
        verified, summary = await self.network.hold(reason)
        self.post(Event.ISOLATE_NOW, actor=actor, reason=reason)
        return verified, summary

    async def release(self, *, actor: str, reason: str) -> str:
        """Leave emergency isolation (explicit, audited): to safe hold, still quarantined,
        where a person decides what comes next."""
        if self.hold is None:
            raise PolicyRefusal(f"release refused in {self.state}: the rack is not held isolated")
        said = _isolation(actor, reason, held=False, held_since=self.hold.since)
        await self.journal.write(
            "isolation", "released", "entered", announce=said, actor=actor, reason=reason
        )
        self.hold = None
        self.network.release()
        if self.state is State.ISOLATED:
            self.post(Event.RELEASE, actor=actor, reason=reason)
        return str(self.state)

    async def connect(
        self, *, actor: str, reason: str, approvals: tuple[str, ...]
    ) -> tuple[bool, str]:
        """Join the hospital uplink (network.connect, two-person approved): from
        operational only, the uplink up and verified, then the connected state. Refused
        (nothing switched) in any other state."""
        self._refuse_unless(Event.CONNECT, actor)
        verified, summary = await self.network.connect(approvals)
        refusal = self.post(Event.CONNECT, actor=actor, reason=reason)
        if refusal is not None:  # the state moved on while the switches were written
            _, down = await self.network.disconnect()
            raise PolicyRefusal(f"{refusal}; the uplink was taken down again ({down})")
        return verified, summary

    async def disconnect(self, *, actor: str, reason: str) -> tuple[bool, str]:
        """Leave the hospital uplink (network.disconnect): the uplink down and the clean
        VLAN as before the connection, read back, then operational again."""
        self._refuse_unless(Event.DISCONNECT, actor)
        verified, summary = await self.network.disconnect()
        # Verified or not, the uplink is down: a failed read-back put the rack in
        # quarantine, where operational's verification finds what no longer answers.
        self.post(Event.DISCONNECT, actor=actor, reason=reason)
        return verified, summary

    def _refuse_unless(self, event: Event, actor: str) -> None:
        row = self._check(self.state, event)
        if isinstance(row, Refusal):
            self.bus.emit("lifecycle.refused", SOURCE, category="audit", state=self.state,
                          event=event, actor=actor, reason=row.reason)  # fmt: skip
            raise PolicyRefusal(row.reason)

    async def wait_for(self, *states: State) -> State:
        while self.state not in states:
            self._changed.clear()
            await self._changed.wait()
        return self.state

    # --- the loop --------------------------------------------------------------------

    def _check(self, state: State, event: Event) -> Transition | Refusal:
        row = lookup(state, event)
        if isinstance(row, Transition) and row.guard is not None and not self._guard(row.guard):
            return Refusal(state, event, f"{event} refused in {state}: {GUARDS[row.guard]}")
        return row

    def _guard(self, name: str) -> bool:
        if name == "isolation_verified":
            return self.isolation_verified
        if name == "drill_enabled":
            return self.config.drill.enabled
        if name == "isolation_released":
            return self.hold is None
        raise AgentError(f"lifecycle: unknown guard {name!r}")

    async def _resume_hold(self) -> None:
        row = await self.journal.store.call(
            lambda c: c.execute(
                "SELECT subject, data FROM journal WHERE kind = 'isolation' "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
        )
        if row is not None and row[0] == "held":
            data = json.loads(row[1])
            self.hold = Hold(str(data["reason"]), str(data["actor"]), float(data["since"]))
            log.warning("emergency isolation holds since a previous run: %s", self.hold.reason)
        self._released_before_restart = row is not None and row[0] == "released"

    async def _resume_network(self) -> bool:
        """Replay the journaled network layout after a restart. A switch that does not
        verify, or a refusal, degrades the rack into safe_hold (quarantined by the network
        part), never the agent: False then."""
        try:
            await self.network.resume()
        except AgentError as exc:
            log.warning("network layout not restored after the restart, holding: %s", exc)
            await self._enter(
                State.SAFE_HOLD,
                f"network layout not restored after the restart: {exc}",
                SOURCE,
            )
            return False
        return True

    async def run(self) -> None:
        await self._resume_hold()
        resumed = await self.journal.last_state()
        if resumed is None:
            await self._enter(INITIAL, "agent started on a fresh rack", "system")
        else:
            self.state = State(resumed)
            self._changed.set()  # wake whoever waits for the state (it is not arrival)
            log.info("lifecycle state: %s (resumed after restart)", self.state)
            said = BusEvent(kind="lifecycle.resumed", source=SOURCE, category="status",
                            data={"state": self.state})  # fmt: skip
            await self.journal.write("transition", self.state, "resumed", announce=said)
            # Under a hold the layout from before it is never replayed, not even for a
            # moment: entering `isolated` below applies quarantine instead.
            restored = True if self.hold is not None else await self._resume_network()
            held = self.hold is not None and self.state not in (State.ISOLATED, State.SHUTDOWN)
            if not restored:
                pass  # _resume_network entered safe_hold, the rack quarantined
            elif self.state == State.ISOLATED and self._released_before_restart:
                # The release was journaled, the move it asked for was not: finish it,
                # never re-hold what an operator released.
                await self._enter(
                    State.SAFE_HOLD,
                    "emergency isolation released before the restart",
                    SOURCE,
                    Event.RELEASE,
                )
            elif self.state in (State.OPERATIONAL, State.DEGRADED, State.CONNECTED) and not held:
                # Connected too: the network part comes back without the uplink (joining
                # it needs a new two-person approval), so the rack is not connected now.
                # The rack may have changed behind a stopped controller: verify it first.
                await self._enter(
                    State.RECOVERING,
                    f"controller restarted in {self.state}: re-verifying every application "
                    "before saying so again",
                    SOURCE,
                )
        if self.hold is not None and self.state not in (State.ISOLATED, State.SHUTDOWN):
            # Isolated while no agent ran (`cleanroom net isolate` acting directly).
            await self._enter(State.ISOLATED, self.hold.reason, self.hold.actor, Event.ISOLATE_NOW)
        while True:
            entry = asyncio.create_task(
                self._entry_action(self.state), name=f"lifecycle-{self.state}"
            )
            outside = asyncio.create_task(self._events.get(), name="lifecycle-events")
            try:
                done, _ = await asyncio.wait({entry, outside}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # The losers are cancelled and awaited; a cancellation of this loop that
                # arrives meanwhile propagates (never swallowed with theirs).
                await cancel_and_wait((entry, outside))
            if outside in done:
                event, actor, reason = outside.result()
            else:
                outcome = entry.result()
                if outcome is None:
                    continue  # a waiting state was woken with nothing to do
                event, actor, reason = outcome.event, SOURCE, outcome.detail
            row = self._check(self.state, event)
            if isinstance(row, Refusal):
                log.warning("%s", row.reason)
                self.bus.emit(
                    "lifecycle.refused",
                    SOURCE,
                    category="event",
                    state=self.state,
                    event=event,
                    reason=row.reason,
                )
                if outside not in done:
                    await self._hold(f"{event} refused: {row.reason}")
                elif event is Event.CONNECT and self.network.connected:
                    # The state moved on between the connect's check and now: the uplink
                    # must not stay up in a state that does not say so.
                    verified, summary = await self.network.disconnect()
                    self.bus.emit("lifecycle.uplink_down", SOURCE, category="event",
                                  state=self.state, verified=verified, summary=summary)  # fmt: skip
                continue
            await self._enter(row.target, reason or row.reason, actor, event)

    async def _hold(self, why: str) -> None:
        await self._enter(State.SAFE_HOLD, why, SOURCE)

    async def _enter(
        self, state: State, reason: str, actor: str, event: Event | None = None
    ) -> None:
        previous = self.state
        said: dict[str, object] = {
            "previous": previous,
            "event": event,
            "actor": actor,
            "reason": reason,
        }
        announce = BusEvent(
            kind="lifecycle.transition", source=SOURCE, category="status",
            data={**said, "state": state},
        )  # fmt: skip
        if state is State.RECOVERING and self.loss is not None:
            # The outage, journaled with the transition: its downtime survives a restart.
            said["outage"] = asdict(self.loss)
        # Journaled before the entry action starts: a crash from here on resumes in it.
        await self.journal.write("transition", state, "entered", announce=announce, **said)
        self.state = state
        self._changed.set()
        log.info("lifecycle state: %s (%s)", state, reason)

    # --- entry actions ---------------------------------------------------------------------

    async def _entry_action(self, state: State) -> Outcome | None:
        if state not in _UPLINK_STATES and self.network.connected:
            # Leaving connected other than by disconnect (an application lost, a
            # power-down): the uplink goes down first, read back.
            verified, summary = await self.network.disconnect()
            self.bus.emit("lifecycle.uplink_down", SOURCE, category="event", state=state,
                          verified=verified, summary=summary)  # fmt: skip
        handler = {
            State.OPERATIONAL: self._operational,
            State.CONNECTED: self._verify,
            State.DEGRADED: self._degraded,
            State.RECOVERING: self._recovering,
            State.ARRIVAL: self._arrival,
            State.SELFTEST: self._selftest,
            State.ISOLATE: self._isolate,
            State.POWER_UP: self._power_up,
            State.RESTORE: self._restore,
            State.SAFE_HOLD: self._safe_hold,
            State.ISOLATED: self._isolated,
            State.SHUTDOWN: self._shutdown,
            State.DRILL: self._drill,
        }.get(state)
        assert handler is not None, f"no entry action for {state}"
        return await handler()

    async def _operational(self) -> Outcome | None:
        if self.health_degraded:
            return Outcome(Event.DEGRADE, "a degrading alarm is active")
        return await self._verify()  # until an application is lost or an outside event

    async def _degraded(self) -> Outcome | None:
        if not self.health_degraded:
            return Outcome(Event.RECOVERED, "no degrading alarm is active")
        return await self._verify()

    async def _verify(self) -> Outcome:
        self.loss = await self.verifier.watch()
        return Outcome(Event.WORKLOAD_LOST, self.loss.reason(self.config))

    async def _recovering(self) -> Outcome:
        """Bring the lost applications back with the runbook's own steps, per their policy."""
        config, loss = self.config, self.loss
        if loss is None:  # resumed after a restart: the outage journaled, or what answers now
            loss = journaled_loss(await self.journal.since_transition())
        if loss is None:
            failed = await self.verifier.probe()
            if not failed:
                return Outcome(Event.WORKLOAD_BACK, "every application answers (re-verified)")
            loss = Loss(sorted(failed), time.time(), failed)
            await self.journal.write("outage", str(self.state), "found", **asdict(loss))
        self.loss = loss
        apps = policies(config, loss.apps)
        held = [a.id for a in apps if a.recovery == "hold"]
        if held:
            why = f"recovery policy of {', '.join(held)} is hold: waiting for an operator"
            return Outcome(Event.RECOVERY_FAILED, f"{why} ({loss.reason(config)})")
        retries = min((a.recovery_retries for a in apps), default=0)
        detail = ""
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(backoff(apps, attempt))
            detail = await self._recover_once(loss, attempt + 1)
            if not detail:
                return Outcome(Event.WORKLOAD_BACK, f"{', '.join(loss.apps)} answer again")
        return Outcome(
            Event.RECOVERY_FAILED, f"{retries + 1} recovery attempts failed; last: {detail}"
        )

    async def _recover_once(self, loss: Loss, attempt: int) -> str:
        """One attempt: power (a diff against what the PDUs and BMCs read back), then the
        applications' runbook steps, then a probe. Returns "" on success, else why not."""
        ok, detail = await self.power.up()
        if ok:
            result = await self._run_runbook("recovery", recovery_steps(self.config, loss.apps))
            failed = await self.verifier.probe()
            lost = [a for a in loss.apps if a in failed]
            detail = "" if result.ok and not lost else f"still down: {lost or result.failed}"
        self.bus.emit("recovery.attempt", SOURCE, attempt=attempt, apps=loss.apps, detail=detail)
        if not detail:
            now = time.time()
            rto = {a.id: float(a.rto) for a in self.config.application}
            downtime = dict.fromkeys(loss.apps, now - loss.since)
            self.verifier.cleared(loss, downtime)
            self.bus.emit(
                "recovery.done",
                SOURCE,
                attempts=attempt,
                outage_started=loss.since,
                apps=[
                    {"app": a, "downtime_s": downtime[a], "target_s": rto.get(a, 0.0)}
                    for a in loss.apps
                ],
            )
            self.loss = None
        return detail

    async def _arrival(self) -> Outcome:
        return Outcome(Event.BOOTED, "controller up")

    async def _selftest(self) -> Outcome:
        self.isolation_verified = False
        ok, summary = await self.selftest()
        return Outcome(Event.SELFTEST_PASSED if ok else Event.SELFTEST_FAILED, summary)

    async def _isolate(self) -> Outcome:
        ok, summary = await self.network.isolate()
        self.isolation_verified = ok
        return Outcome(Event.ISOLATION_VERIFIED if ok else Event.ISOLATION_FAILED, summary)

    async def _power_up(self) -> Outcome:
        ok, summary = await self.power.up()
        return Outcome(Event.POWERED if ok else Event.POWER_FAILED, summary)

    async def _run_runbook(self, kind: str, steps: list[Step] | None = None) -> RunResult:
        run_id = await self._run_id(kind)
        self.steps.drill = kind == "drill"
        self.engine = RunbookEngine(
            list(self.config.runbook.step) if steps is None else steps,
            build_executors(self.steps),
            self.journal,
            concurrency=self.config.runbook.concurrency,
            announce=self._step_event,
        )
        try:
            result = await self.engine.run(run_id)
        finally:
            self.engine = None
            self.steps.drill = False
        self.last_run = result
        if self.on_run is not None:
            await self.on_run(result)
        return result

    async def _run_id(self, kind: str) -> str:
        """The run to continue: the newest of this kind, unless it ended and a new one is
        due. A restore run that ended is never run again; a drill is new each time."""
        newest = await self.journal.newest_run(kind)
        if newest is not None and (kind == "restore" or not newest[1]):
            return newest[0]
        count = await self.journal.count_runs(kind)
        return f"{kind}-{count + 1}"

    def _step_event(self, phase: str, step: Step, data: Mapping[str, object]) -> BusEvent:
        return BusEvent(
            kind="runbook.step",
            source=SOURCE,
            data={"step": step.id, "app": step.app or "", "phase": phase, "detail": dict(data)},
        )

    async def _restore(self) -> Outcome:
        result = await self._run_runbook("restore")
        if result.ok:
            return Outcome(Event.RESTORED, "every runbook step is done")
        failed = ", ".join(result.failed) or "aborted"
        return Outcome(Event.RESTORE_FAILED, f"runbook stopped: {failed}")

    async def _drill(self) -> Outcome:
        result = await self._run_runbook("drill")
        if result.ok:
            return Outcome(Event.DRILL_DONE, "drill finished")
        return Outcome(Event.RESTORE_FAILED, f"drill stopped: {', '.join(result.failed)}")

    async def _safe_hold(self) -> Outcome | None:
        summary = await self.network.emergency("entering safe hold")
        self.bus.emit("lifecycle.safe_hold", SOURCE, summary=summary)
        await asyncio.Event().wait()  # until an operator acts
        return None

    async def _isolated(self) -> Outcome | None:
        if self.hold is None:  # entered without the button (an old journal): hold now
            hold = Hold("emergency isolation", SOURCE, time.time())
            said = _isolation(SOURCE, hold.reason, held=True)
            await self.journal.write("isolation", "held", "entered", announce=said, **asdict(hold))
            self.hold = hold
        # Again on entry, and after a restart: quarantine and uplinks read back, and the
        # network part refuses every other phase (reconcile keeps quarantine).
        verified, summary = await self.network.hold(self.hold.reason)
        self.bus.emit("lifecycle.isolated", SOURCE, category="event", verified=verified,
                      summary=summary, reason=self.hold.reason, actor=self.hold.actor)  # fmt: skip
        await asyncio.Event().wait()  # until released (or a UPS shuts the rack down)
        return None

    async def _shutdown(self) -> Outcome | None:
        ok, summary = await self.power.down("staged shutdown")
        self.bus.emit("lifecycle.shutdown", SOURCE, ok=ok, summary=summary)
        await asyncio.Event().wait()  # until mains is back and return is allowed
        return None


def _isolation(actor: str, reason: str, **data: object) -> BusEvent:
    """The audited event of the emergency isolation held or released."""
    return BusEvent(
        kind="lifecycle.isolation",
        source=SOURCE,
        category="audit",
        data={"actor": actor, "reason": reason, **data},
    )
