"""The runbook scheduler on random DAGs, failures, operator decisions and resumes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.conf.schema import Step
from agent.conf.units import Duration
from agent.errors import AgentError
from agent.lifecycle.journal import Journal
from agent.lifecycle.runbook import Decision, RunbookEngine
from agent.store import Store


class Recorder:
    """A step kind whose effect is a line in a list: the order is the witness."""

    def __init__(self, fail: dict[str, int] | None = None, delay: float = 0.0) -> None:
        self.effects: list[str] = []
        self.running = 0
        self.max_running = 0
        self.fail = dict(fail or {})
        self.delay = delay
        self.order: list[tuple[str, str]] = []

    async def run(self, step: Step) -> str:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.order.append(("start", step.id))
        try:
            await asyncio.sleep(self.delay)
            if self.fail.get(step.id, 0) > 0:
                self.fail[step.id] -= 1
                raise AgentError(f"{step.id} failed on purpose")
            self.effects.append(step.id)
            return f"{step.id} ok"
        finally:
            self.order.append(("end", step.id))
            self.running -= 1

    async def check(self, step: Step) -> bool:
        return step.id in self.effects


class Waiting:
    """Signals when a step starts waiting for the operator (the engine's notify hook)."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def __call__(self, phase: str, step: Step, data: object) -> None:
        if phase == "waiting":
            self.event(step.id).set()

    def event(self, step_id: str) -> asyncio.Event:
        return self.events.setdefault(step_id, asyncio.Event())


def mk(step_id: str, needs: list[str] | None = None, **kw: object) -> Step:
    return Step(id=step_id, kind="command", needs=needs or [], backoff=Duration(0.001), **kw)  # type: ignore[arg-type]


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    async with Store(tmp_path / "j.db") as store:
        yield Journal(store, "boot-1")


@st.composite
def dags(draw: st.DrawFn) -> list[Step]:
    n = draw(st.integers(1, 14))
    steps = []
    for i in range(n):
        needs = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        steps.append(mk(f"s{i}", [f"s{j}" for j in needs]))
    order = draw(st.permutations(steps))
    return list(order)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=dags(), concurrency=st.integers(1, 4))
def test_random_dags_run_every_step_once_after_its_needs(
    tmp_path: Path, steps: list[Step], concurrency: int
) -> None:
    async def scenario() -> None:
        db = tmp_path / f"dag-{uuid.uuid4()}.db"  # hypothesis seeds `random`: use uuid
        async with Store(db) as store:
            rec = Recorder()
            engine = RunbookEngine(
                steps, {"command": rec}, Journal(store, "b"), concurrency=concurrency
            )
            result = await engine.run("run-1")
        assert result.ok
        assert sorted(rec.effects) == sorted(s.id for s in steps)
        position = {step_id: i for i, step_id in enumerate(rec.effects)}
        for step in steps:
            for need in step.needs:
                assert position[need] < position[step.id]
        assert rec.max_running <= concurrency

    asyncio.run(scenario())


async def test_independent_steps_run_in_parallel(journal: Journal) -> None:
    rec = Recorder(delay=0.02)
    steps = [mk("a"), mk("b"), mk("c"), mk("d", ["a", "b", "c"])]
    result = await RunbookEngine(steps, {"command": rec}, journal, concurrency=3).run("r")
    assert result.ok
    assert rec.max_running == 3
    assert rec.effects[-1] == "d"


async def test_retries_then_success(journal: Journal) -> None:
    rec = Recorder(fail={"a": 2})
    steps = [mk("a", retries=2), mk("b", ["a"])]
    result = await RunbookEngine(steps, {"command": rec}, journal).run("r")
    assert result.ok
    assert result.records["a"].attempts == 3
    assert rec.effects == ["a", "b"]


async def test_stop_on_failure_starts_nothing_new(journal: Journal) -> None:
    rec = Recorder(fail={"a": 5})
    steps = [mk("a"), mk("b", ["a"]), mk("c", ["b"])]
    result = await RunbookEngine(steps, {"command": rec}, journal).run("r")
    assert not result.ok
    assert result.failed == ["a"]
    assert rec.effects == []
    assert result.records["b"].status == "blocked"
    assert result.records["c"].status == "blocked"


async def test_continue_lets_other_branches_finish(journal: Journal) -> None:
    rec = Recorder(fail={"a": 5})
    steps = [
        mk("a", on_failure="continue"),
        mk("a2", ["a"]),
        mk("a3", ["a2"]),
        mk("x"),
        mk("y", ["x"]),
    ]
    result = await RunbookEngine(steps, {"command": rec}, journal).run("r")
    assert not result.ok
    assert set(rec.effects) == {"x", "y"}
    # Blocked all the way down: a skipped-because-failed step never lets its dependents run.
    assert result.records["a2"].status == "blocked"
    assert result.records["a3"].status == "blocked"


async def test_ask_waits_for_the_operator_then_skip(journal: Journal) -> None:
    rec = Recorder(fail={"a": 5})
    steps = [mk("a", on_failure="ask"), mk("b", ["a"])]
    waiting = Waiting()
    engine = RunbookEngine(steps, {"command": rec}, journal, notify=waiting)
    task = asyncio.create_task(engine.run("r"))
    await waiting.event("a").wait()
    engine.decide("a", Decision("skip", reason="restored by hand", actor="op-1"))
    result = await task
    assert result.ok
    assert result.records["a"].status == "skipped"
    assert rec.effects == ["b"]


async def test_ask_then_retry_then_abort(journal: Journal) -> None:
    rec = Recorder(fail={"a": 1, "c": 5})
    steps = [mk("a", on_failure="ask"), mk("b", ["a"]), mk("c", ["b"], on_failure="ask")]
    waiting = Waiting()
    engine = RunbookEngine(steps, {"command": rec}, journal, notify=waiting)
    task = asyncio.create_task(engine.run("r"))
    await waiting.event("a").wait()
    engine.decide("a", Decision("retry"))
    await waiting.event("c").wait()
    engine.decide("c", Decision("abort", reason="drill over"))
    result = await task
    assert result.aborted
    assert not result.ok
    assert rec.effects == ["a", "b"]


async def test_resume_never_redoes_a_done_step_and_rechecks_a_started_one(
    journal: Journal,
) -> None:
    steps = [mk("a"), mk("b", ["a"]), mk("c", ["b"])]
    # A first run that "crashed": a done, b started (its effect happened), c not started.
    await journal.write("run", "r", "start", steps=["a", "b", "c"])
    await journal.write("step", "a", "start", run="r", attempt=1)
    await journal.write("step", "a", "done", run="r", output="a ok")
    await journal.write("step", "b", "start", run="r", attempt=1)
    rec = Recorder()
    rec.effects = ["a", "b"]  # the world as the crash left it
    result = await RunbookEngine(steps, {"command": rec}, journal).run("r")
    assert result.ok
    assert rec.effects == ["a", "b", "c"]  # a and b not redone, c done once
    assert rec.order == [("start", "c"), ("end", "c")]


async def test_resume_reruns_a_started_step_whose_effect_is_missing(journal: Journal) -> None:
    steps = [mk("a"), mk("b", ["a"])]
    await journal.write("run", "r", "start", steps=["a", "b"])
    await journal.write("step", "a", "start", run="r", attempt=1)
    rec = Recorder()
    result = await RunbookEngine(steps, {"command": rec}, journal).run("r")
    assert result.ok
    assert rec.effects == ["a", "b"]
    assert result.records["a"].attempts == 2


async def test_timeout_counts_as_a_failure(journal: Journal) -> None:
    rec = Recorder(delay=1.0)
    steps = [Step(id="slow", kind="command", timeout=Duration(0.05))]
    result = await RunbookEngine(steps, {"command": rec}, journal).run("r")
    assert not result.ok
    assert "timed out after 0.05s" in result.records["slow"].error
