"""A drill on the simulated rack: the agent's real arrival and restore runbook, run
against the simulator built from the same rack config, ending with the recovery report.

The config is copied into the drill's folder on free loopback ports, with its state
there too, so a drill never touches the production store or devices.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from agent.conf import load_config
from agent.daemon import Daemon
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import State
from agent.sim.compose import SimRack
from agent.sim.testing import relocate


@dataclass(frozen=True)
class DrillOutcome:
    path: Path | None
    ok: bool
    state: str


async def run_drill(config_path: Path, folder: Path, *, timeout: float) -> DrillOutcome:  # noqa: ASYNC109 - the drill's own budget
    drill_config, _ = relocate(config_path, folder)
    text = drill_config.read_text()
    # A drill never reports to the ARS broker as the production rack would.
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("urls")]
    drill_config.write_text("\n".join(lines) + "\n")
    config = load_config(drill_config)
    async with SimRack(config):
        daemon = Daemon(config)
        runner = asyncio.create_task(daemon.run(), name="drill-daemon")
        try:
            await daemon.ready.wait()
            assert daemon.context is not None
            machine = daemon.context.parts["lifecycle"]
            assert isinstance(machine, Lifecycle)
            try:
                async with asyncio.timeout(timeout):
                    await machine.wait_for(State.OPERATIONAL, State.SAFE_HOLD, State.SHUTDOWN)
            except TimeoutError:
                pass
            state = machine.state
        finally:
            daemon.request_stop("drill finished")
            await runner
    reports = sorted(config.resolve(config.drill.report_dir).glob("*/report.md"))
    return DrillOutcome(reports[-1] if reports else None, state is State.OPERATIONAL, str(state))
