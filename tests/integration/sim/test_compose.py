"""The simulated rack built from the demo config: every device answers on its port with
the config's credentials, BMCs follow their outlets, and restored apps serve while their
server runs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent.conf import load_config
from agent.sim import apps
from agent.sim.compose import SimRack
from agent.sim.testing import relocate

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[SimRack]:
    path, _ = relocate(DEMO, tmp_path)
    async with SimRack(load_config(path), set_log_path=tmp_path / "setlog.jsonl") as rack:
        yield rack


async def snmp(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


def v2c(sim: SimRack, device: str) -> list[str]:
    host, port = sim.snmp.endpoint(device)
    return ["-v2c", "-c", "demo-rack", "-On", "-m", "", "-t", "1", "-r", "1", f"{host}:{port}"]


def v3(sim: SimRack, device: str) -> list[str]:
    host, port = sim.snmp.endpoint(device)
    return [
        "-v3",
        "-l",
        "authPriv",
        "-u",
        "cleanroom",
        "-a",
        "SHA",
        "-A",
        "demo-auth-key-1",
        "-x",
        "AES",
        "-X",
        "demo-priv-key-1",
        "-On",
        "-m",
        "",
        "-t",
        "1",
        "-r",
        "1",
        f"{host}:{port}",
    ]


async def test_every_device_answers_with_its_configured_credentials(sim: SimRack) -> None:
    out = await snmp("snmpget", *v3(sim, "pdu-a"), "1.3.6.1.2.1.1.2.0")
    assert ".1.3.6.1.4.1.318." in out  # APC
    out = await snmp("snmpget", *v2c(sim, "pdu-b"), "1.3.6.1.2.1.1.2.0")
    assert ".1.3.6.1.4.1.13742." in out  # Raritan
    out = await snmp("snmpget", *v2c(sim, "ups-1"), "1.3.6.1.2.1.33.1.4.1.0")
    assert "INTEGER: 3" in out  # upsOutputSource normal(3): on mains
    out = await snmp("snmpget", *v2c(sim, "tor-1"), "1.3.6.1.2.1.17.7.1.4.5.1.1.1")
    assert "Gauge32: 1" in out  # the switch arrives with port 1 in VLAN 1
    kinds = {ep.kind for ep in sim.endpoints()}
    assert kinds == {"pdu", "switch", "ups", "bmc"}


async def test_protected_outlets_are_on_at_arrival_and_servers_are_off(sim: SimRack) -> None:
    assert sim.snmp.outlet_powered("pdu-a", 24)  # the controller
    assert sim.snmp.outlet_powered("pdu-b", 1)  # the switch
    assert not sim.snmp.outlet_powered("pdu-a", 3)
    assert not sim.bmcs["hv-1"].is_answering()


async def test_a_bmc_answers_once_one_of_its_outlets_is_on(sim: SimRack) -> None:
    # hv-1 is fed by outlet 3 of both PDUs; the B feed alone is enough.
    # PDU2-MIB switchingOperation (13742.6.4.1.2.1.2.1.3): 1 = on.
    await snmp("snmpset", *v2c(sim, "pdu-b"), "1.3.6.1.4.1.13742.6.4.1.2.1.2.1.3", "i", "1")
    async with asyncio.timeout(10):
        await sim.bmcs["hv-1"].wait_answering(True)
    entries = [e for e in sim.snmp.set_log.entries(device="pdu-b") if e.kind == "power"]
    assert entries, "the outlet switching is witnessed in the SET log"


async def test_apps_serve_while_their_server_runs(sim: SimRack, tmp_path: Path) -> None:
    assert sim.apps is not None
    apps_dir = tmp_path / "state" / "apps"
    image = ROOT / "config" / "demo" / "images" / "lab.img"
    apps.restore(image, "lab", apps_dir)
    apps.start("lab", 0, "hv-2", apps_dir)  # port 0: any free port, for the test
    await sim.apps.sync()
    assert "lab" not in sim.apps.running(), "hv-2 is off: the VM cannot run"
    # Power hv-2 as the agent would: its outlet (pdu-b 4), then the host through Redfish.
    await snmp("snmpset", *v2c(sim, "pdu-b"), "1.3.6.1.4.1.13742.6.4.1.2.1.2.1.4", "i", "1")
    bmc = sim.bmcs["hv-2"]
    async with asyncio.timeout(10):
        await bmc.wait_answering(True)
    async with httpx.AsyncClient(auth=("admin", "demo-bmc")) as client:
        reply = await client.post(
            f"{bmc.base_url}/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
            json={"ResetType": "On"},
        )
    assert reply.status_code < 300, reply.text
    await sim.apps.sync()
    assert "lab" in sim.apps.running()
    await asyncio.sleep(0.2)  # let the BMC watcher copy the Reset into the SET log
    resets = [e for e in sim.snmp.set_log.entries(device="hv-2") if e.oid == "redfish:Reset"]
    assert [e.value for e in resets] == ["On"]


def test_apps_commands_are_idempotent(tmp_path: Path) -> None:
    image = ROOT / "config" / "demo" / "images" / "ehr.img"
    run = [sys.executable, "-m", "agent.sim.apps"]
    check = [*run, "check", "--app", "ehr", "--into", str(tmp_path)]
    assert subprocess.run(check, check=False, capture_output=True).returncode == 1
    for _ in range(2):
        out = subprocess.run(
            [*run, "restore", "--image", str(image), "--app", "ehr", "--into", str(tmp_path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    assert "already restored" in out
    assert subprocess.run(check, check=False, capture_output=True).returncode == 0
    assert json.loads((tmp_path / "ehr" / "restored.json").read_text())["app"] == "ehr"
