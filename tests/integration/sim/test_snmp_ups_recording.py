"""UPS drain on a fake clock, snmprec replay, the JSONL SET log, TOML scenarios and a
40-device rack."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from agent.sim.snmp import PduSpec, RecordingSpec, SetLog, SimulatedRack, SwitchSpec, UpsSpec
from agent.sim.snmp.rack import Spec

from .conftest import snmp

DATA = Path(__file__).parents[2] / "data" / "snmprec"
MINUTES = "1.3.6.1.2.1.33.1.2.3.0"  # upsEstimatedMinutesRemaining
SOURCE = "1.3.6.1.2.1.33.1.4.1.0"  # upsOutputSource
ON_BATTERY = "1.3.6.1.2.1.33.1.2.2.0"  # upsSecondsOnBattery


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _as_snmprec(line: str) -> str:
    """One `snmpwalk -On` line in snmprec notation."""
    oid, value = line.split(" = ", 1)
    kind, _, raw = value.partition(": ")
    oid = oid.lstrip(".")
    if value == '""':  # net-snmp prints an empty OCTET STRING without a type
        return f"{oid}|4|"
    if kind == "STRING":
        return f"{oid}|4|{raw[1:-1]}"
    if kind == "Hex-STRING":
        return f"{oid}|4x|{raw.replace(' ', '').lower()}"
    if kind == "OID":
        return f"{oid}|6|{raw.lstrip('.')}"
    if kind == "Timeticks":
        match = re.match(r"\((\d+)\)", raw)
        assert match
        return f"{oid}|67|{match.group(1)}"
    tags = {"INTEGER": 2, "Gauge32": 66, "Counter32": 65, "Counter64": 70, "IpAddress": 64}
    return f"{oid}|{tags[kind]}|{raw}"


async def test_ups_runtime_drains_on_battery_with_fake_clock() -> None:
    clock = FakeClock()
    async with SimulatedRack(
        [UpsSpec("ups", battery_wh=1000.0, load_w=1000.0)], clock=clock
    ) as rack:
        endpoint = rack.endpoint("ups")
        first = (await snmp("snmpget", endpoint, MINUTES, SOURCE)).values()
        assert first[SOURCE] == "INTEGER: 3"  # normal(3)
        assert first[MINUTES] == "INTEGER: 60"
        rack.ups("ups").mains_lost()
        clock.now += 600  # ten minutes on battery at the full battery-hour load
        later = (await snmp("snmpget", endpoint, MINUTES, SOURCE, ON_BATTERY)).values()
        assert later[SOURCE] == "INTEGER: 5"  # battery(5)
        assert later[MINUTES] == "INTEGER: 50"
        assert later[ON_BATTERY] == "INTEGER: 600"
        rack.ups("ups").mains_restored()
        assert [e.value for e in rack.set_log.entries("ups", "power")] == ["battery", "mains"]


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.snmprec")))
async def test_recording_replays_and_refuses_sets(name: str) -> None:
    path = DATA / name
    expected = sorted(
        (line for line in path.read_text().splitlines() if line and not line.startswith("#")),
        key=lambda line: tuple(int(p) for p in line.split("|")[0].split(".")),
    )
    async with SimulatedRack([RecordingSpec("rec", path)]) as rack:
        walk = await snmp("snmpbulkwalk", rack.endpoint("rec"), "1.3.6.1")
        assert walk.rc == 0, walk.err
        lines = [line for line in walk.out.splitlines() if "No more variables" not in line]
        assert [_as_snmprec(line) for line in lines] == expected
        first_oid = expected[0].split("|")[0]
        refused = await snmp("snmpset", rack.endpoint("rec"), first_oid, "s", "x")
        assert "Reason: notWritable" in refused.out + refused.err


async def test_set_log_jsonl_and_scenario_file(tmp_path: Path) -> None:
    log_path = tmp_path / "sets.jsonl"
    scenario = tmp_path / "drill.toml"
    scenario.write_text(
        '[[step]]\nat = 0.0\ndevice = "ups"\nfault = "mains_lost"\n'
        '[[step]]\nat = 0.0\ndevice = "tor"\nfault = "vlan_drift"\npvid = { "2" = 77 }\n'
    )
    specs: list[Spec] = [
        PduSpec("pdu", "eaton_epdu", outlets=4, command_delay_s=0.0),
        SwitchSpec("tor", ports=4),
        UpsSpec("ups", feeds=("pdu",)),
    ]
    async with SimulatedRack(specs, set_log_path=log_path, scenario=scenario) as rack:
        reply = await snmp(
            "snmpset", rack.endpoint("pdu"), "1.3.6.1.4.1.534.6.6.7.6.6.1.4.0.1", "i", "0"
        )
        assert reply.rc == 0, reply.err
        for _ in range(100):
            if rack.ups("ups").on_battery_since is not None and rack.outlet_powered("pdu", 1):
                break
            await asyncio.sleep(0.02)
        assert rack.switch("tor").pvid[2] == 77
    entries = SetLog.read_jsonl(log_path)
    assert [(e.device, e.kind) for e in entries if e.kind == "set"] == [("pdu", "set")]
    assert {(e.device, e.oid, e.value) for e in entries if e.kind == "power"} == {
        ("pdu", "outlet.1", True),
        ("ups", "ups.source", "battery"),
    }


async def test_forty_devices_start_and_answer() -> None:
    specs: list[Spec] = [
        PduSpec(f"pdu{i}", ("apc_rpdu2", "raritan_pdu2", "eaton_epdu")[i % 3], outlets=24)
        for i in range(36)
    ]
    specs += [
        SwitchSpec("tor-a", ports=48),
        SwitchSpec("tor-b", ports=48),
        UpsSpec("ups-a"),
        UpsSpec("ups-b"),
    ]
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with SimulatedRack(specs) as rack:
        started = loop.time() - start
        ports = {rack.endpoint(s.id)[1] for s in specs}
        assert len(ports) == 40
        reply = await snmp("snmpget", rack.endpoint("pdu35"), "1.3.6.1.2.1.1.5.0")
        assert reply.values()["1.3.6.1.2.1.1.5.0"] == 'STRING: "pdu35"'
    print(f"40 devices started in {started:.2f} s")  # reported, not asserted
