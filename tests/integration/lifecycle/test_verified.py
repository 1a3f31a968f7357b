"""Operational means verified: the simulated rack loses its power for 15 s and comes back
reset (outlets off, the switch on factory VLANs, every application down). The agent must
stop saying `operational` within 20 s, bring every application back by the runbook's own
steps and say `operational` again within twice the cold arrival time; the same when the
agent is SIGKILLed while the rack is reset behind its back.

The rack is the simulated demo rack over real UDP and HTTP; the applications are real TCP
listeners that answer only while their server runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agent.conf import RackConfig, load_config
from agent.daemon import Daemon
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import State
from agent.lifecycle.steps.waits import tcp_answers
from agent.lifecycle.verify import probes_by_app
from agent.sim.compose import SimRack
from agent.sim.testing import relocate

from .journal_view import journaled_state

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo-rack.toml"
CUT_S = 15.0
LEAVE_BOUND_S = 20.0


def _config(folder: Path) -> RackConfig:
    return load_config(relocate(DEMO, folder, fast=True)[0])


async def _answering(config: RackConfig) -> set[str]:
    answering = set()
    for app, steps in probes_by_app(config).items():
        ports = [(s.args["host"], s.args["port"]) for s in steps if s.kind == "wait_tcp"]
        if all([await tcp_answers(h, p) for h, p in ports]):
            answering.add(app)
    return answering


async def _wait_state(machine: Lifecycle, limit: float, *states: State) -> State:
    async with asyncio.timeout(limit):
        return await machine.wait_for(*states)


async def test_a_rack_wide_reset_is_noticed_and_recovered(tmp_path: Path) -> None:
    config = _config(tmp_path)
    apps = {a.id for a in config.application}
    async with SimRack(config) as sim:
        daemon = Daemon(config)
        started = time.monotonic()
        runner = asyncio.create_task(daemon.run())
        try:
            await daemon.ready.wait()
            assert daemon.context is not None
            machine = daemon.context.parts["lifecycle"]
            assert isinstance(machine, Lifecycle)
            events = daemon.context.bus.subscribe()
            assert await _wait_state(machine, 180, State.OPERATIONAL, State.SAFE_HOLD) == (
                State.OPERATIONAL
            )
            cold = time.monotonic() - started
            assert await _answering(config) == apps

            cut = time.monotonic()
            outage = asyncio.create_task(sim.snmp.power_cut(CUT_S))
            left = await _wait_state(
                machine, LEAVE_BOUND_S, State.RECOVERING, State.DEGRADED, State.SAFE_HOLD
            )
            assert time.monotonic() - cut < LEAVE_BOUND_S
            assert left is not State.SAFE_HOLD
            await outage
            back = time.monotonic()
            # Recovering, then operational with every application answering.
            while machine.state is not State.OPERATIONAL or await _answering(config) != apps:
                assert machine.state is not State.SAFE_HOLD, "recovery gave up"
                assert time.monotonic() - back < 2 * cold, (
                    f"not operational {2 * cold:.0f}s (twice the cold arrival) after the "
                    f"reset; state {machine.state}, answering {await _answering(config)}"
                )
                await asyncio.sleep(0.5)
        finally:
            daemon.request_stop("test over")
            await runner
    seen = []
    while (event := events.get_nowait()) is not None:
        seen.append(event)
    raised = {e.data.get("app") for e in seen if e.kind == "alarm.raised" and "app" in e.data}
    assert raised == apps, "each lost application raised an alarm naming it"
    lost = next(
        e for e in seen if e.kind == "lifecycle.transition" and e.data["state"] == "recovering"
    )
    assert "recovery target" in lost.data["reason"]
    done = [e for e in seen if e.kind == "recovery.done"]
    assert done, "the recovery reports the outage"
    report = {a["app"]: a for a in done[-1].data["apps"]}
    assert set(report) == apps
    for app in config.application:
        assert 0 < report[app.id]["downtime_s"] < CUT_S + 2 * cold
        assert report[app.id]["target_s"] == float(app.rto)
    reports = config.resolve(config.drill.report_dir)
    assert any(p.name.startswith("recovery-") for p in reports.iterdir()), "a recovery report"


def _agent(config: RackConfig) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    return subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "--config", config.source],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _until_state(db: Path, state: str, limit: float, agent: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + limit
    while journaled_state(db) != state:
        assert agent.poll() is None, f"the agent exited with {agent.returncode}"
        assert time.monotonic() < deadline, (
            f"not {state} within {limit:.0f}s: {journaled_state(db)}"
        )
        await asyncio.sleep(0.3)


async def test_a_reset_behind_a_killed_agent_is_found_at_restart(tmp_path: Path) -> None:
    config = _config(tmp_path)
    db = config.resolve(config.store.path)
    apps = {a.id for a in config.application}
    async with SimRack(config) as sim:
        started = time.monotonic()
        agent = _agent(config)
        try:
            await _until_state(db, "operational", 180, agent)
            cold = time.monotonic() - started
            assert await _answering(config) == apps
            agent.send_signal(signal.SIGKILL)
            agent.wait(timeout=10)
            await sim.snmp.power_cut(CUT_S)
            assert await _answering(config) == set(), "the reset took every application down"
            back = time.monotonic()
            agent = _agent(config)
            # It re-verifies before saying operational again.
            await _until_state(db, "recovering", LEAVE_BOUND_S, agent)
            await _until_state(db, "operational", 2 * cold, agent)
            while await _answering(config) != apps:
                assert time.monotonic() - back < 2 * cold
                await asyncio.sleep(0.5)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=30)
