"""Recovery reports from a real engine run: targets, critical path, files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agent.conf.schema import Application, Rack, RackConfig, Runbook, Step, Vlans
from agent.conf.units import Duration
from agent.lifecycle import drill
from agent.lifecycle.journal import Journal, StepRecord
from agent.lifecycle.runbook import RunbookEngine
from agent.store import Store


class Sleeper:
    """Each step takes the time its id says: 'a:0.05' sleeps 50 ms."""

    async def run(self, step: Step) -> str:
        await asyncio.sleep(float(step.id.split(":")[1]))
        return "slept"

    async def check(self, step: Step) -> bool:
        return False


def config(steps: list[Step]) -> RackConfig:
    return RackConfig(
        rack=Rack(id="r1", site="s"),
        vlans=Vlans(management=10, clean=20, quarantine=30, drill=40, uplink=50),
        application=[
            Application(id="fast", name="Fast app", rto=Duration(10.0)),
            Application(id="slow", name="Slow app", rto=Duration(0.05)),
        ],
        runbook=Runbook(step=steps),
    )


async def test_report_names_targets_critical_path_and_writes_files(tmp_path: Path) -> None:
    steps = [
        Step(id="a:0.02", kind="command", app="fast"),
        Step(id="b:0.10", kind="command", app="slow"),
        Step(id="c:0.02", kind="command", app="slow", needs=["a:0.02", "b:0.10"]),
    ]
    cfg = config(steps)
    async with Store(tmp_path / "j.db") as store:
        journal = Journal(store, "boot")
        result = await RunbookEngine(steps, {"command": Sleeper()}, journal).run("drill-1")
    report = drill.build(cfg, "drill-1", result.records, result.ok)
    apps = {a.id: a for a in report.applications}
    assert apps["fast"].met
    assert not apps["slow"].met  # 0.12 s against a 0.05 s target
    assert apps["slow"].achieved_s is not None
    assert apps["slow"].achieved_s >= 0.12
    # c waited for b (the slower need): b is on the critical path, a is not.
    assert report.critical_path == ["b:0.10", "c:0.02"]
    md = drill.write(report, tmp_path / "out")
    text = md.read_text()
    assert "| Slow app |" in text
    assert "**NO**" in text
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["run_id"] == "drill-1"
    svg = (tmp_path / "out" / "timeline.svg").read_text()
    assert svg.count("<rect") == 3
    assert 'stroke="black"' in svg


def test_report_of_a_failed_step_says_not_recovered() -> None:

    steps = [Step(id="x:0", kind="command", app="fast")]
    records = {
        "x:0": StepRecord(
            "x:0", status="failed", attempts=2, first_started_at=1.0, finished_at=2.0, error="boom"
        )
    }
    report = drill.build(config(steps), "r", records, ok=False)
    assert report.applications[0].achieved_s is None
    assert "not recovered" in drill.markdown(report)
    assert "boom" in drill.markdown(report)
