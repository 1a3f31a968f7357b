"""``cleanroom power ...`` against the simulated demo rack over UDP and HTTP.

The commands run as the operator runs them (argparse, then the handler, which starts its
own event loop), in a worker thread so the simulator keeps serving on the test's loop.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.cli.power import register
from agent.conf import RackConfig
from agent.errors import ConfigError
from agent.report.audit import verify
from agent.sim.compose import SimRack
from agent.sim.snmp.values import parse_oid
from agent.store import Store
from tests.integration.power.demo_rack import fast_demo_path, quicken

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"


def fast_demo(tmp_path: Path, **replace: str) -> Path:
    return fast_demo_path(tmp_path, graceful="2s", replace=replace)


async def cleanroom(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cleanroom")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = await asyncio.to_thread(args.handler, args)
    return code


@pytest.fixture
async def rack(tmp_path: Path) -> AsyncIterator[tuple[SimRack, str]]:
    from agent.conf import load_config  # noqa: PLC0415

    path = fast_demo(tmp_path)
    config: RackConfig = load_config(path)
    async with SimRack(config) as sim:
        yield quicken(sim), str(path)


async def test_status_up_and_down(
    rack: tuple[SimRack, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, config = rack
    assert await cleanroom("power", "status", "--config", config, "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["ok"] is True
    assert {p["id"]: p["driver"] for p in status["pdus"]} == {
        "pdu-a": "apc_rpdu2",
        "pdu-b": "raritan_pdu2",
    }
    devices = {d["id"]: d for d in status["devices"]}
    assert devices["tor-1"]["outlets"][0] == {
        "pdu": "pdu-a",
        "outlet": 1,
        "state": "on",
        "protected": True,
    }
    assert devices["hv-1"]["host"] == "off (no outlet power)"
    assert status["upses"][0]["on_battery"] is False

    assert await cleanroom("power", "up", "--config", config) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[-1].startswith("power up ok in ")
    assert lines[-1].endswith(": 6 on")
    assert any(re.search(r"hypervisors\s+hv-1\s+outlet pdu-a:3 on: ok", line) for line in lines)
    assert any(re.search(r"storage\s+stor-1\s+host on: ok", line) for line in lines)
    assert any("inrush delay ..." in line for line in lines)

    assert await cleanroom("power", "status", "--config", config) == 0
    human = capsys.readouterr().out
    assert re.search(r"^hv-2\s+hypervisors\s+on\s+pdu-a:4=on\s+pdu-b:4=on$", human, re.M), human
    assert re.search(r"^tor-1\s+network\s+-\s+pdu-a:1=on\*\s+pdu-b:1=on\*$", human, re.M)

    assert await cleanroom("power", "down", "--config", config, "--json") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    report = records[-1]["report"]
    assert report["ok"] is True
    assert report["direction"] == "down"
    assert [g["name"] for g in report["groups"]] == ["hypervisors", "storage", "network"]
    steps = [r["progress"] for r in records[:-1]]
    assert {"group", "device", "step", "status", "detail", "at"} <= set(steps[0])
    assert any(s["step"] == "outlet pdu-a:1 off" and s["status"] == "skipped" for s in steps)
    assert sim.snmp.outlet_powered("pdu-a", 1)
    assert not sim.snmp.outlet_powered("pdu-a", 3)


async def test_on_off_cycle_and_protected_outlets(
    rack: tuple[SimRack, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sim, config = rack
    assert await cleanroom("power", "off", "tor-1", "--via", "outlet", "--config", config) == 1
    err = capsys.readouterr().err
    assert "tor-1: outlet(s) pdu-a:1, pdu-b:1 are protected" in err
    assert "add --force" in err
    assert sim.snmp.outlet_powered("pdu-b", 1)

    code = await cleanroom("power", "on", "pdu-a:7", "--json", "--config", config)
    assert code == 0
    assert json.loads(capsys.readouterr().out)["summary"] == ["pdu-a:7: switched on"]

    code = await cleanroom("power", "cycle", "hv-1", "--pause", "0", "--config", config)
    assert code == 0
    cycled = capsys.readouterr()
    assert "no agent is running" in cycled.err  # acting directly, and saying so
    assert cycled.out.splitlines() == [
        "hv-1: already off",
        "hv-1: " + ", ".join(["outlet pdu-a:3 on", "outlet pdu-b:3 on", "host on (BMC)"]),
    ]
    assert sim.host_on("hv-1")

    force = ("--via", "outlet", "--force", "--config", config)
    assert await cleanroom("power", "off", "pdu-b:1", *force) == 0
    assert capsys.readouterr().out.strip() == "pdu-b:1 (tor-1): switched off"
    assert not sim.snmp.outlet_powered("pdu-b", 1)

    with pytest.raises(ConfigError, match="'hv-9' is neither a device id nor PDU:OUTLET"):
        await cleanroom("power", "on", "hv-9", "--config", config)
    # Acting directly, each command was audited in the agent's store, as the person.
    async with Store(Path(config).parent / "state" / "agent.db") as store:
        rows = await store.call(
            lambda c: [tuple(r) for r in c.execute("SELECT actor, action FROM audit")]
        )
        assert (await store.call(verify)).ok
    assert sum(action == "cli.direct" for _, action in rows) == 4
    assert ("local:" + getpass.getuser(), "power.cycle") in rows
    assert any(action == "power.outlet" for _, action in rows)


async def test_up_stops_on_the_budget_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.conf import load_config  # noqa: PLC0415

    path = fast_demo(tmp_path, **{r"^budget_w = 6000": "budget_w = 1500"})
    async with SimRack(load_config(path)) as sim:
        quicken(sim)
        assert await cleanroom("power", "up", "--config", str(path)) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("power up STOPPED: power budget: group 'hypervisors', device 'hv-2'")
    assert re.search(r"would take UPS 'ups-1' to \d+ W \(1200 W already on", last), last
    assert "budget of 1500 W" in last
    assert not sim.snmp.outlet_powered("pdu-a", 4)


# PDU2-MIB::outletSwitchingState.<pduId 1>.<outlet 1> (pdu-b speaks v2c: an SNMPv3 authPriv
# reply hides its error-status from the adapter, so the refusal is staged on the v2c PDU).
RARITAN_STATE_1 = "1.3.6.1.4.1.13742.6.4.1.2.1.3.1.1"


async def test_status_tells_a_silent_pdu_a_refused_table_and_a_short_one_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.conf import load_config  # noqa: PLC0415

    path = fast_demo(tmp_path)
    config = load_config(path)
    # The same rack (same ports), but rack.toml says pdu-a has 30 outlets (it has 24).
    more = tmp_path / "rack-30.toml"
    text, count = re.subn(
        r'(id = "pdu-a"[\s\S]*?)outlets = 24', r"\g<1>outlets = 30", path.read_text()
    )
    assert count == 1
    more.write_text(text)
    async with SimRack(config) as sim:
        quicken(sim)
        sim.snmp.pdu("pdu-b").faults.fail_oid(parse_oid(RARITAN_STATE_1), "genErr")
        assert await cleanroom("power", "status", "--config", str(more), "--json") == 1
        pdus = {p["id"]: p for p in json.loads(capsys.readouterr().out)["pdus"]}
        refused, short = pdus["pdu-b"], pdus["pdu-a"]
        assert (refused["reachable"], refused["outlets_readable"]) == (True, False), refused
        assert "genErr" in refused["error"]
        assert (short["reachable"], short["outlets_readable"]) == (True, True)
        assert (short["outlets_read"], short["outlets_expected"]) == (24, 30)
        assert "rack.toml says 30 outlets, the PDU reports 24" in short["warning"]
        assert await cleanroom("power", "status", "--config", str(more)) == 1
        text = capsys.readouterr().out
        assert "pdu pdu-b      answers, but its outlets cannot be read" in text
        assert "warning: rack.toml says 30 outlets, the PDU reports 24" in text

        sim.snmp.pdu("pdu-b").faults.silent = True
        assert await cleanroom("power", "status", "--config", str(more), "--json") == 1
        pdus = {p["id"]: p for p in json.loads(capsys.readouterr().out)["pdus"]}
        assert (pdus["pdu-b"]["reachable"], pdus["pdu-b"]["outlets_readable"]) == (False, False)


async def test_a_server_controlled_only_by_its_bmc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """hv-3 without outlets: its power comes from its BMC, never 'off (no outlet power)',
    and it powers on and off through the BMC."""
    from agent.conf import load_config  # noqa: PLC0415

    path = fast_demo(
        tmp_path,
        **{
            r'^power = \[\{ pdu = "pdu-a", outlet = 5 \}.*\n': "",
            r'"hv-2", "hv-3", "bkp-1"': '"hv-2", "bkp-1"',  # not sequenced by outlets
        },
    )
    config = load_config(path)
    assert next(s for s in config.server if s.id == "hv-3").power == []
    async with SimRack(config) as sim:
        quicken(sim)
        argv = ("--config", str(path))
        await cleanroom("power", "status", "--json", *argv)
        status = json.loads(capsys.readouterr().out)
        hv3 = next(d for d in status["devices"] if d["id"] == "hv-3")
        assert hv3["host"] == "off", hv3  # asked of its BMC
        assert await cleanroom("power", "on", "hv-3", *argv) == 0
        assert "host on (BMC)" in capsys.readouterr().out
        assert sim.host_on("hv-3")
        await cleanroom("power", "status", "--json", *argv)
        status = json.loads(capsys.readouterr().out)
        assert next(d for d in status["devices"] if d["id"] == "hv-3")["host"] == "on"
        assert await cleanroom("power", "off", "hv-3", *argv) == 0
        capsys.readouterr()
        assert not sim.host_on("hv-3")
        assert await cleanroom("power", "on", "hv-3", "--via", "outlet", *argv) == 1
        assert "no outlets in the rack config" in capsys.readouterr().err
