"""The operator's side: a step that fails with on_failure = "ask" waits for a decision
given on the local console; the emergency button isolates (from connected); a drill on
the simulated rack writes its report; every console action is audited with the user; an
approved uplink shows as connected and a disconnect brings the rack back to operational."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.conf import RackConfig, load_config
from agent.console import request
from agent.daemon import Daemon
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import State
from agent.network.manager import NetworkManager
from agent.report.audit import verify_store
from agent.report.intake import Command
from agent.sim.compose import SimRack
from agent.sim.testing import relocate

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
BAD_SHA = "0" * 64


def broken_lab_config(folder: Path) -> RackConfig:
    """The demo rack whose lab image checksum is wrong, and whose verify step asks."""
    path, _ = relocate(DEMO, folder, fast=True)
    text = path.read_text()
    lab_sha = next(
        line.split('sha256 = "')[1][:64]
        for line in text.splitlines()
        if 'path = "demo/images/lab.img"' in line
    )
    text = text.replace(lab_sha, BAD_SHA, 1)
    text = text.replace(
        'id = "verify-lab"\nkind = "verify_image"',
        'id = "verify-lab"\nkind = "verify_image"\non_failure = "ask"',
    )
    path.write_text(text)
    return load_config(path)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[RackConfig, Lifecycle, Daemon]]:
    config = broken_lab_config(tmp_path)
    async with SimRack(config):
        daemon = Daemon(config)
        runner = asyncio.create_task(daemon.run())
        try:
            await daemon.ready.wait()
            assert daemon.context is not None
            machine = daemon.context.parts["lifecycle"]
            assert isinstance(machine, Lifecycle)
            yield config, machine, daemon
        finally:
            daemon.request_stop("test over")
            await runner


async def test_a_step_that_asks_waits_for_the_console_and_skip_is_audited(
    running: tuple[RackConfig, Lifecycle, Daemon],
) -> None:
    config, machine, daemon = running
    sock = config.state_dir() / "console.sock"
    async with asyncio.timeout(90):
        while True:
            status = await request(sock, "runbook.status", {})
            if "verify-lab" in status["waiting"]:
                break
            await asyncio.sleep(0.2)
    with pytest.raises(Exception, match=r"argument .reason.: give why"):
        await request(sock, "runbook.skip", {"step": "verify-lab"})  # no reason: refused
    answer = await request(
        sock, "runbook.skip", {"step": "verify-lab", "reason": "checksum confirmed by phone"}
    )
    assert answer["decision"] == "skip"
    async with asyncio.timeout(90):
        assert await machine.wait_for(State.OPERATIONAL, State.SAFE_HOLD) is State.OPERATIONAL
    # The hospital uplink, as a two-person approved MQTT command reaches the handler:
    # the published state says connected; a disconnect from the console takes it back.
    assert daemon.context is not None
    network = daemon.context.parts["network"]
    assert isinstance(network, NetworkManager)
    before = network.layout
    handlers = daemon.context.parts["verbs"]
    assert isinstance(handlers, dict)
    connect = handlers["network.connect"]
    approved = Command("network.connect", {}, "bob", "admin", "n1", approved_by=("carol",))
    result = await connect(approved)
    assert (result["connected"], result["verified"]) == (True, True), result
    async with asyncio.timeout(10):
        await machine.wait_for(State.CONNECTED)
    assert network.layout.phase == "connected"
    with pytest.raises(Exception, match="drill starts from safe hold or operational"):
        await request(sock, "drill.start", {})
    result = await request(sock, "network.disconnect", {"reason": "transfer done"})
    assert (result["connected"], result["verified"]) == (False, True), result
    async with asyncio.timeout(10):
        await machine.wait_for(State.OPERATIONAL)
    assert network.layout == before
    assert (await network.verify()).verified
    # Connected again, then the emergency button, from the console: the rack isolates
    # (the uplink too) and holds.
    await connect(dataclasses.replace(approved, nonce="n2"))
    async with asyncio.timeout(10):
        await machine.wait_for(State.CONNECTED)
    result = await request(sock, "network.isolate", {"reason": "suspicious traffic"})
    assert result["verified"] is True
    async with asyncio.timeout(30):
        await machine.wait_for(State.ISOLATED)
    with pytest.raises(Exception, match="drill starts from safe hold or operational"):
        await request(sock, "drill.start", {})
    await request(sock, "network.release", {"reason": "false alarm"})
    async with asyncio.timeout(30):
        await machine.wait_for(State.SAFE_HOLD)
    await asyncio.sleep(0.5)  # let the report part commit the audit entries
    rows = await daemon.context.store.call(
        lambda c: c.execute("SELECT actor, action, detail FROM audit ORDER BY id").fetchall()
    )
    assert any(r[1] == "console.command" and r[0].startswith("local:") for r in rows), rows
    details = " ".join(r[2] for r in rows)
    assert "checksum confirmed by phone" in details
    chain = await verify_store(daemon.context.store)
    assert chain.ok, chain.problems

    # A drill from safe hold: the same runbook, its network moves in the drill VLAN only.
    assert (await request(sock, "drill.start", {}))["accepted"] == "drill_start"
    async with asyncio.timeout(120):
        await machine.wait_for(State.DRILL)
        while True:
            status = await request(sock, "runbook.status", {})
            if "verify-lab" in status["waiting"]:
                await request(sock, "runbook.skip", {"step": "verify-lab", "reason": "drill"})
            if machine.state is State.SAFE_HOLD:
                break
            await asyncio.sleep(0.2)
    phases = await daemon.context.store.call(
        lambda c: [
            r[0]
            for r in c.execute("SELECT subject FROM journal WHERE kind = 'network' ORDER BY id")
        ]
    )
    drill_moves = phases[phases.index("quarantine", 1) :]
    assert "drill" in drill_moves
    assert "restore" not in drill_moves
    assert "operational" not in drill_moves


def test_drill_writes_a_report_with_every_application(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "drill",
            "--config",
            str(DEMO),
            "--workdir",
            str(tmp_path / "drill"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    report = json.loads((Path(outcome["report"]).parent / "report.json").read_text())
    apps = {a["id"]: a for a in report["applications"]}
    assert set(apps) == {"identity", "emergency", "lab", "pharmacy", "imaging", "ehr"}
    assert all(a["met"] for a in apps.values())
    assert report["critical_path"], "the report names the critical path"
