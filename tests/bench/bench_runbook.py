"""Runbook scheduler benchmark: makespan against the critical path.

A synthetic 40-step runbook (a seeded random DAG with known step durations) runs through
the real engine, journal and store. Printed, in the same run:

- the critical-path length (the best any scheduler can do with unlimited parallelism),
- our makespan and its ratio to the critical path (target: at most 1.05),
- what a priority-group scheduler achieves on the same runbook (steps grouped by depth,
  each group run to the end before the next starts, as classic DR tools do), and its
  ratio.

Usage: python tests/bench/bench_runbook.py [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from agent.conf.schema import Step
from agent.lifecycle.journal import Journal
from agent.lifecycle.runbook import RunbookEngine
from agent.store import Store


def synthetic(n: int, seed: int, unit: float) -> tuple[list[Step], dict[str, float]]:
    rng = random.Random(seed)
    steps: list[Step] = []
    durations: dict[str, float] = {}
    for i in range(n):
        k = min(i, rng.choice((0, 1, 1, 2, 2, 3)))
        needs = sorted({f"s{j}" for j in rng.sample(range(i), k)}) if i else []
        steps.append(Step(id=f"s{i}", kind="command", needs=needs))
        durations[f"s{i}"] = unit * rng.choice((1, 2, 3, 5, 8))
    return steps, durations


def critical_path(steps: list[Step], durations: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for step in steps:  # ids are in topological order by construction
        finish[step.id] = durations[step.id] + max((finish[n] for n in step.needs), default=0)
    return max(finish.values())


def priority_groups(steps: list[Step], durations: dict[str, float]) -> float:
    depth: dict[str, int] = {}
    for step in steps:
        depth[step.id] = 1 + max((depth[n] for n in step.needs), default=-1)
    groups: dict[int, list[str]] = {}
    for step_id, d in depth.items():
        groups.setdefault(d, []).append(step_id)
    return sum(max(durations[s] for s in ids) for ids in groups.values())


class Timed:
    def __init__(self, durations: dict[str, float]) -> None:
        self.durations = durations

    async def run(self, step: Step) -> str:
        await asyncio.sleep(self.durations[step.id])
        return "ok"

    async def check(self, step: Step) -> bool:
        return False


async def measure(steps: list[Step], durations: dict[str, float]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        async with Store(Path(tmp) / "bench.db") as store:
            engine = RunbookEngine(
                steps, {"command": Timed(durations)}, Journal(store, "b"), concurrency=len(steps)
            )
            started = time.monotonic()
            result = await engine.run("bench")
            elapsed = time.monotonic() - started
    if not result.ok:
        raise SystemExit("bench: the synthetic runbook did not complete")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true", help="smaller steps, one seed")
    args = parser.parse_args()
    unit = 0.02 if args.short else 0.1
    seeds = [1] if args.short else [1, 2, 3]
    for seed in seeds:
        steps, durations = synthetic(40, seed, unit)
        cp = critical_path(steps, durations)
        groups = priority_groups(steps, durations)
        ours = asyncio.run(measure(steps, durations))
        print(
            f"runbook seed {seed}: 40 steps, critical path {cp:.2f}s | ours {ours:.2f}s "
            f"= {ours / cp:.3f}x critical path (target <= 1.05) | priority groups "
            f"{groups:.2f}s = {groups / cp:.3f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
