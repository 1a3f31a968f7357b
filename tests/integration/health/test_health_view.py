"""`cleanroom health` shows what the running agent sees (through its console); with no
agent it polls the devices itself and says so."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from agent.conf import load_config
from agent.daemon import Daemon
from agent.health.watch import HealthWatch
from agent.sim.compose import SimRack
from agent.sim.testing import relocate

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo-rack.toml"


def _health(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "health", "--config", str(config), "--once", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_health_is_the_agent_s_view_and_direct_polling_says_so(tmp_path: Path) -> None:
    path = relocate(DEMO, tmp_path, fast=True)[0]
    config = load_config(path)
    async with SimRack(config) as sim:
        daemon = Daemon(config)
        runner = asyncio.create_task(daemon.run())
        try:
            await daemon.ready.wait()
            assert daemon.context is not None
            watch = daemon.context.parts["health"]
            assert isinstance(watch, HealthWatch)
            sim.snmp.device("pdu-b").faults.silent = True
            async with asyncio.timeout(60):
                while not any(a["device"] == "pdu-b" for a in watch.snapshot()["alarms"]):
                    await asyncio.sleep(0.5)
            seen = await asyncio.to_thread(_health, path)
            view = json.loads(seen.stdout)
            assert "running agent" in view["source"]
            assert any(a["device"] == "pdu-b" for a in view["alarms"]), view["alarms"]
        finally:
            daemon.request_stop("test over")
            await runner
        alone = await asyncio.to_thread(_health, path)
    assert "no agent answers" in alone.stderr
    assert "polled directly" in json.loads(alone.stdout)["source"]
