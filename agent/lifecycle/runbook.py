"""The runbook engine: run a DAG of steps, every ready step at once up to a limit,
journaling each step before its effect and after it, and resuming after a crash.

A step is *ready* when every step it needs is done (or skipped by an operator). A step
that fails after its retries follows its ``on_failure``: ``stop`` ends the run (running
steps finish, nothing new starts), ``continue`` lets other branches go on while the
failed step's dependents are blocked, ``ask`` waits for an operator's decision (retry,
skip with a reason, or abort).

Resume rules (from the journal): a done step is never redone; a step started but not
finished is re-checked with its kind's idempotent ``check``: if its effect is in place it
is journaled done, otherwise it runs again. No step is skipped, none completed twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.bus import Event
from agent.conf.schema import Step
from agent.errors import AgentError
from agent.lifecycle.journal import Journal, StepRecord

log = logging.getLogger(__name__)


class StepExecutor(Protocol):
    """One step kind. ``run`` makes the effect and returns a one-line summary; ``check``
    says, without side effects, whether the effect is already in place."""

    async def run(self, step: Step) -> str: ...

    async def check(self, step: Step) -> bool: ...


@dataclass
class Decision:
    """An operator's answer to a step waiting with on_failure = "ask"."""

    action: str  # "retry", "skip", "abort"
    reason: str = ""
    actor: str = "operator"


@dataclass
class _Run:
    """The scheduler's view of one run while it executes."""

    run_id: str
    records: dict[str, StepRecord]
    # id -> done / failed / skipped (by an operator) / blocked (a need failed)
    finished: dict[str, str] = field(default_factory=dict)
    running: dict[asyncio.Task[str], str] = field(default_factory=dict)
    stopping: bool = False
    aborted: bool = False


@dataclass
class RunResult:
    run_id: str
    ok: bool
    records: dict[str, StepRecord]
    aborted: bool = False
    failed: list[str] = field(default_factory=list)


Notify = Callable[[str, Step, Mapping[str, object]], None]
"""Told of each step phase in this process, once it is journaled (tests, observers)."""
Announce = Callable[[str, Step, Mapping[str, object]], Event]
"""Builds the bus event announcing a step phase; a journaled phase commits it with its
journal entry (one transaction, see journal.py)."""


class RunbookEngine:
    def __init__(
        self,
        steps: list[Step],
        executors: Mapping[str, StepExecutor],
        journal: Journal,
        *,
        concurrency: int = 4,
        notify: Notify | None = None,
        announce: Announce | None = None,
        rng: random.Random | None = None,
    ) -> None:
        missing = sorted({s.kind for s in steps} - set(executors))
        if missing:
            raise AgentError(f"runbook: no executor for step kind(s) {missing}")
        self.steps = {s.id: s for s in steps}
        self.order = [s.id for s in steps]
        self.executors = executors
        self.journal = journal
        self.concurrency = concurrency
        self.notify = notify or (lambda _phase, _step, _data: None)
        self.announce = announce
        self.decisions: asyncio.Queue[tuple[str, Decision]] = asyncio.Queue()
        self.waiting: set[str] = set()
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not security

    async def _journal(
        self, step: Step, phase: str, detail: Mapping[str, object], **data: object
    ) -> None:
        """Journal one phase of a step with the event announcing it, then tell observers."""
        event = None if self.announce is None else self.announce(phase, step, detail)
        await self.journal.write("step", step.id, phase, announce=event, **data)
        self.notify(phase, step, detail)

    def _tell(self, phase: str, step: Step, detail: Mapping[str, object]) -> None:
        """A phase with no journal entry (waiting for an operator, a retry to come)."""
        if self.announce is not None:
            self.journal.announce(self.announce(phase, step, detail))
        self.notify(phase, step, detail)

    def decide(self, step_id: str, decision: Decision) -> None:
        """Answer a step waiting for an operator (on_failure = "ask") or skip a failed
        one. Unknown steps are refused by the caller (see ``waiting``)."""
        self.decisions.put_nowait((step_id, decision))

    async def run(self, run_id: str) -> RunResult:
        records = await self.journal.steps(run_id)
        if not records:
            await self.journal.write("run", run_id, "start", steps=self.order)
        run = _Run(run_id, records)
        for step_id, rec in records.items():
            if rec.status == "failed" and self.steps[step_id].on_failure == "ask":
                self.waiting.add(step_id)  # still waiting for the operator's answer
            elif rec.status in ("done", "skipped", "failed", "blocked"):
                run.finished[step_id] = rec.status
        async with asyncio.TaskGroup() as tg:
            while True:
                if not run.stopping:
                    for step_id in self._ready(run)[: self.concurrency - len(run.running)]:
                        coro = self._execute(run_id, step_id, records.get(step_id))
                        run.running[tg.create_task(coro, name=f"step:{step_id}")] = step_id
                if not run.running and (run.stopping or not self.waiting):
                    break
                await self._wait_one(run)
                await self._skip_blocked(run)
        final = await self.journal.steps(run_id)
        failed = [s for s, r in final.items() if r.status == "failed"]
        ok = not run.aborted and all(
            s in final and final[s].status in ("done", "skipped") for s in self.order
        )
        await self.journal.write("run", run_id, "end", ok=ok, aborted=run.aborted, failed=failed)
        return RunResult(run_id, ok, final, aborted=run.aborted, failed=failed)

    def _ready(self, run: _Run) -> list[str]:
        busy = set(run.finished) | set(run.running.values()) | self.waiting
        return [
            step_id
            for step_id in self.order
            if step_id not in busy
            and all(run.finished.get(n) in ("done", "skipped") for n in self.steps[step_id].needs)
        ]

    async def _wait_one(self, run: _Run) -> None:
        """Wait for a running step to end or an operator's decision, and fold it in."""
        waiters: set[asyncio.Future[Any]] = {*run.running}
        decision_task: asyncio.Task[tuple[str, Decision]] | None = None
        if self.waiting:
            decision_task = asyncio.ensure_future(self.decisions.get())
            waiters.add(decision_task)
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if decision_task is not None and not decision_task.done():
                decision_task.cancel()
        for fut in done:
            if fut is decision_task:
                step_id, decision = decision_task.result()
                run.aborted |= await self._apply_decision(run, step_id, decision)
                run.stopping |= run.aborted
                continue
            task = next(t for t in run.running if t is fut)
            step_id = run.running.pop(task)
            step = self.steps[step_id]
            run.records.pop(step_id, None)
            if task.result() == "done":
                run.finished[step_id] = "done"
            elif step.on_failure == "ask":
                self.waiting.add(step_id)
                self._tell("waiting", step, {"question": "retry, skip or abort?"})
            else:
                run.finished[step_id] = "failed"
                run.stopping |= step.on_failure == "stop"

    async def _skip_blocked(self, run: _Run) -> None:
        """A step whose need failed for good (or is itself blocked) can never run: journal
        it blocked, with the reason, so the run can end and the report says why. Only an
        operator's skip lets dependents go on."""
        changed = True
        while changed:
            changed = False
            for step_id in self.order:
                if step_id in run.finished:
                    continue
                needs = self.steps[step_id].needs
                bad = [n for n in needs if run.finished.get(n) in ("failed", "blocked")]
                if bad:
                    run.finished[step_id] = "blocked"
                    reason = f"needs {bad[0]}, which {run.finished[bad[0]]}"
                    await self._journal(
                        self.steps[step_id], "blocked", {"reason": reason},
                        run=run.run_id, reason=reason,
                    )  # fmt: skip
                    changed = True

    async def _apply_decision(self, run: _Run, step_id: str, decision: Decision) -> bool:
        """Fold in an operator's decision; True when it aborts the run."""
        run_id, finished = run.run_id, run.finished
        if step_id not in self.waiting:
            log.warning(
                "decision %s for step %s ignored: it is not waiting", decision.action, step_id
            )
            return False
        self.waiting.discard(step_id)
        step, actor = self.steps[step_id], decision.actor
        if decision.action == "retry":
            await self._journal(step, "retry", {"actor": actor}, run=run_id, actor=actor)
            return False
        if decision.action == "skip":
            finished[step_id] = "skipped"
            reason = decision.reason
            await self._journal(
                step, "skipped", {"reason": reason, "actor": actor},
                run=run_id, actor=actor, reason=reason,
            )  # fmt: skip
            return False
        finished[step_id] = "failed"
        error = f"aborted by {actor}: {decision.reason}"
        await self._journal(
            step, "failed", {"error": error, "actor": actor}, run=run_id, actor=actor, error=error
        )
        return True

    async def _execute(self, run_id: str, step_id: str, rec: StepRecord | None) -> str:
        """Run one step to done or failed; returns which. Never raises a step's error."""
        step = self.steps[step_id]
        executor = self.executors[step.kind]
        attempt = rec.attempts if rec is not None else 0
        if rec is not None and rec.status == "started":
            # Started before a crash: is its effect already there?
            try:
                in_place = await executor.check(step)
            except AgentError as exc:
                log.warning(
                    "step %s: check after restart failed (%s); running it again", step_id, exc
                )
                in_place = False
            if in_place:
                output = "effect found in place after restart"
                await self._journal(
                    step, "done", {"resumed": True, "output": output}, run=run_id, output=output
                )
                return "done"
        while True:
            attempt += 1
            await self._journal(step, "start", {"attempt": attempt}, run=run_id, attempt=attempt)
            started = time.monotonic()
            try:
                async with asyncio.timeout(step.timeout):
                    output = await executor.run(step)
            except TimeoutError:
                error = f"timed out after {step.timeout:g}s"
            except AgentError as exc:
                error = str(exc)
            except Exception as exc:  # a bug in a step kind fails that step, not the agent
                log.exception("step %s: unexpected error", step_id)
                error = f"internal error in the {step.kind} step kind: {exc!r}"
            else:
                seconds = round(time.monotonic() - started, 3)
                await self._journal(
                    step, "done", {"output": output}, run=run_id, output=output, seconds=seconds
                )
                return "done"
            if attempt <= step.retries:
                delay = step.backoff * (2 ** (attempt - 1)) * (0.8 + 0.4 * self._rng.random())
                log.warning(
                    "step %s attempt %d failed: %s; retrying in %.1fs",
                    step_id,
                    attempt,
                    error,
                    delay,
                )
                self._tell("retry", step, {"attempt": attempt, "error": error})
                await asyncio.sleep(delay)
                continue
            await self._journal(
                step, "failed", {"error": error}, run=run_id, error=error, attempt=attempt
            )
            return "failed"
