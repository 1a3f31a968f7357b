"""Emergency isolation holds: on the simulated rack, operational, `cleanroom net isolate`
from the CLI goes through the running agent's console; quarantine is still verified
after three reconcile intervals and after an agent restart, the lifecycle is in its
isolated state, and the audit chain holds the operator's `local:` entry, with no MQTT
broker configured. Leaving it takes an explicit, audited release."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agent.conf import RackConfig, load_config
from agent.daemon import Daemon
from agent.lifecycle.machine import Hold, Lifecycle
from agent.lifecycle.states import State
from agent.network.manager import NetworkManager
from agent.report.audit import verify_store
from agent.sim.compose import SimRack
from agent.sim.testing import relocate

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
INTERVAL = 1.0  # the reconcile interval of this test's rack


def rack_without_mqtt(folder: Path) -> RackConfig:
    path, _ = relocate(DEMO, folder, fast=True)
    text = path.read_text()
    text = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("urls"))
    text = re.sub(r'^reconcile_interval = ".*"', f'reconcile_interval = "{INTERVAL:g}s"', text,
                  flags=re.M)  # fmt: skip
    path.write_text(text + "\n")
    config = load_config(path)
    assert not config.mqtt.urls
    return config


@asynccontextmanager
async def agent(config: RackConfig) -> AsyncIterator[Daemon]:
    daemon = Daemon(config)
    runner = asyncio.create_task(daemon.run(), name="test-agent")
    try:
        await daemon.ready.wait()
        yield daemon
    finally:
        daemon.request_stop("test over")
        await runner


def parts(daemon: Daemon) -> tuple[Lifecycle, NetworkManager]:
    assert daemon.context is not None
    machine, network = daemon.context.parts["lifecycle"], daemon.context.parts["network"]
    assert isinstance(machine, Lifecycle)
    assert isinstance(network, NetworkManager)
    return machine, network


def holding(machine: Lifecycle) -> Hold | None:
    """The machine's hold, read afresh (after an await it may have changed)."""
    return machine.hold


async def cli(config: RackConfig, *argv: str) -> tuple[int, str]:
    """`cleanroom ...` as from a shell (this tree's code: PYTHONPATH is inherited)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.cli", *argv, "--config", str(config.source),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def still_quarantined(network: NetworkManager) -> None:
    await asyncio.sleep(3 * INTERVAL + 0.5)  # three reconcile passes
    report = await network.verify()
    assert network.layout.phase == "quarantine"
    assert report.verified, report.problems()


async def test_cli_isolation_holds_through_reconcile_and_restart(tmp_path: Path) -> None:
    config = rack_without_mqtt(tmp_path)
    async with SimRack(config):
        async with agent(config) as daemon:
            machine, network = parts(daemon)
            async with asyncio.timeout(120):
                assert await machine.wait_for(State.OPERATIONAL, State.SAFE_HOLD) is (
                    State.OPERATIONAL
                )
            assert network.layout.phase != "quarantine"  # servers on their clean VLAN
            # net show compares against the phase the agent keeps: a healthy rack agrees.
            code, out = await cli(config, "net", "show")
            assert code == 0, out
            assert "(the agent's layout)" in out
            assert "differs" not in out
            # The power commands ask the agent too (its console audits the person).
            code, out = await cli(config, "power", "on", "hv-1")
            assert code == 0, out
            assert "no agent is running" not in out
            code, out = await cli(config, "net", "isolate", "--reason", "suspicious traffic")
            assert code == 0, out
            assert "held by the agent" in out
            assert "no agent is running" not in out
            async with asyncio.timeout(30):
                await machine.wait_for(State.ISOLATED)
            await still_quarantined(network)
            assert machine.state is State.ISOLATED
            # Nothing but a release leaves it: a restart of the restore is refused.
            code, out = await cli(config, "runbook", "run")
            assert code == 1
            assert "release it first" in out

        async with agent(config) as daemon:  # the agent restarts
            machine, network = parts(daemon)
            async with asyncio.timeout(30):
                await machine.wait_for(State.ISOLATED)
            assert machine.hold is not None
            assert machine.hold.reason == "suspicious traffic"
            await still_quarantined(network)
            assert machine.state is State.ISOLATED

            assert daemon.context is not None
            await daemon.context.record.flush()
            rows = await daemon.context.store.call(
                lambda c: [tuple(r) for r in c.execute("SELECT actor, action FROM audit")]
            )
            assert any(
                actor.startswith("local:") and action == "console.command" for actor, action in rows
            )
            held = [a for a, action in rows if action == "lifecycle.isolation"]
            assert held, rows
            assert held[0].startswith("local:"), rows
            chain = await verify_store(daemon.context.store)
            assert chain.ok, chain.problems

            code, out = await cli(config, "net", "release", "--reason", "all clear")
            assert code == 0, out
            async with asyncio.timeout(30):
                await machine.wait_for(State.SAFE_HOLD)
            assert holding(machine) is None
            assert network.held is None
            await daemon.context.record.flush()
            released = await daemon.context.store.call(
                lambda c: c.execute(
                    "SELECT actor, detail FROM audit WHERE action = 'lifecycle.isolation' "
                    "ORDER BY id DESC LIMIT 1"
                ).fetchone()
            )
            assert released[0].startswith("local:")
            assert '"held":false' in released[1]
