"""`cleanroom probe` against simulated and recorded devices, with no config."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from agent.adapters.snmp import SnmpTarget
from agent.health import probe
from agent.sim.snmp import RecordingSpec, SimulatedRack

from .lab import Lab, rack_toml


def target(rack: SimulatedRack, device: str) -> SnmpTarget:
    host, port = rack.endpoint(device)
    return SnmpTarget(device, host, port, timeout=1.0, retries=0)


async def test_probe_names_each_family(lab: Lab) -> None:
    pdu = await probe.probe(target(lab.rack, "pdu-b"))
    assert (pdu["kind"], pdu["family"], pdu["known"]) == ("pdu", "raritan_pdu2", True)
    assert pdu["identity"]["model"] == "PX3-5190R"
    outlet2 = pdu["outlets"][1]
    assert (outlet2["state"], outlet2["power_w"]) == ("on", 460.0)
    ups = await probe.probe(target(lab.rack, "ups-1"))
    assert (ups["kind"], ups["identity"]["model"]) == ("ups", "9PX 3000i RT2U")
    switch = await probe.probe(target(lab.rack, "tor-1"))
    assert switch["kind"] == "switch"
    assert switch["switch"] == {"port_count": 8, "membership": "static"}
    assert switch["ports"][0] == {
        "port": 1,
        "if_index": 1001,
        "name": switch["ports"][0]["name"],
        "pvid": 1,
        "untagged": [1],
        "tagged": [],
    }
    assert switch["ports"][0]["name"]  # ifName, else ifDescr
    assert "pvid 1" in probe.render(switch)
    assert "8 ports, VLAN membership from static" in probe.render(switch)


async def test_unknown_device(tmp_path: Path) -> None:
    path = tmp_path / "mystery.snmprec"
    path.write_text(
        "1.3.6.1.2.1.1.1.0|4|Mystery box 1.0\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1\n"
        "1.3.6.1.2.1.2.2.1.8.1|2|1\n1.3.6.1.2.1.2.2.1.7.1|2|1\n"
    )
    async with SimulatedRack([RecordingSpec("mystery", path)]) as rack:
        doc = await probe.probe(target(rack, "mystery"))
    assert (doc["kind"], doc["known"]) == ("unknown", False)
    assert "unknown model" in doc["note"]
    assert {r["sensor"] for r in doc["readings"]} >= {"if/1/oper", "system/uptime"}
    assert "UNKNOWN MODEL" in probe.render(doc)


CLI = """
import argparse, sys
from agent.cli import health as cli_commands
parser = argparse.ArgumentParser()
cli_commands.register(parser.add_subparsers())
args = parser.parse_args(sys.argv[1:])
sys.exit(args.handler(args))
"""


async def run_cli(*argv: str) -> tuple[int, str]:
    """The subcommand in a child process, while this loop serves the simulated rack."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI, *argv, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_cli_probe_selftest_and_health(lab: Lab, tmp_path: Path) -> None:
    host, port = lab.rack.endpoint("ups-1")
    rc, out = await run_cli("probe", f"{host}:{port}", "--json", "--timeout", "1")
    assert rc == 0
    assert json.loads(out)["kind"] == "ups"
    config = tmp_path / "rack.toml"
    config.write_text(rack_toml(lab.rack, lab.bmc))
    rc, out = await run_cli("selftest", "--config", str(config), "--json")
    assert (rc, json.loads(out)["ok"]) == (0, True)
    rc, out = await run_cli("health", "--config", str(config), "--once", "--json")
    snapshot = json.loads(out)
    assert rc == 0
    assert {d["device"]: d["state"] for d in snapshot["devices"]}["pdu-a"] == "ok"
