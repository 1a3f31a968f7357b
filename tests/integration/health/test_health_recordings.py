"""Robustness: the health readers on recordings of real-looking devices with odd values
(hex strings, missing columns, unsorted and truncated tables, values out of range).
They never crash; what cannot be used is an explicit unknown reading."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agent.adapters.snmp import SnmpClient, SnmpTarget, Value
from agent.devices.pdu import FAMILIES_BY_KEY, PduFamily
from agent.devices.pdu.metering import METERING, Metering
from agent.health.readers import generic, pdu, switch, ups
from agent.health.readers.base import column
from agent.health.readers.generic import GenericReader
from agent.health.sensors import Reading
from agent.sim.snmp import RecordingSpec, SimulatedRack, parse_snmprec
from agent.sim.snmp.values import format_oid

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).parents[2] / "data" / "snmprec"
RECORDINGS = {
    "apc-odd": DATA / "apc-rpdu2-odd.snmprec",
    "ups-odd": DATA / "ups-odd.snmprec",
    "switch-odd": DATA / "switch-odd.snmprec",
    "raritan-doc": SHARED / "raritan-px2-documented.snmprec",
}


@pytest_asyncio.fixture
async def recorded() -> AsyncIterator[SimulatedRack]:
    specs = [RecordingSpec(name, path) for name, path in RECORDINGS.items()]
    async with SimulatedRack(specs) as rack:
        yield rack


def client(rack: SimulatedRack, name: str) -> SnmpClient:
    host, port = rack.endpoint(name)
    return SnmpClient(SnmpTarget(name, host, port, timeout=1.0, retries=0))


def by_sensor(readings: list[Reading]) -> dict[str, Reading]:
    return {r.sensor: r for r in readings}


def file_rows(path: Path) -> list[tuple[str, Value]]:
    """The recording's rows in file order (unsorted), as the adapter would type them."""
    rows: list[tuple[str, Value]] = []
    for oid, value in parse_snmprec(path.read_text(), str(path)).items():
        data = value.data
        rows.append((format_oid(oid), format_oid(data) if isinstance(data, tuple) else data))
    return rows


async def test_pdu_reader_on_an_odd_apc(recorded: SimulatedRack) -> None:
    async with client(recorded, "apc-odd") as snmp:
        reader = pdu.PduReader("apc-odd", snmp)
        ident = await reader.identify()
        got = by_sensor(await reader.read(time.time()))
    assert (ident.family, ident.model, ident.firmware) == ("apc_rpdu2", "AP8941", "v6.9.6")
    assert got["inlet/current"].status == "unknown"
    assert "plausible range" in got["inlet/current"].detail
    assert got["inlet/power"].value == 690.0
    assert got["temperature"].status == "unknown"
    assert "not an integer" in got["temperature"].detail
    assert got["humidity"].status == "unknown"
    assert got["outlet/3/state"].status == "unknown"
    assert got["outlet/1/state"].value == 1.0
    assert got["outlet/3/current"].status == "unknown"  # truncated column
    assert got["outlet/4/power"].status == "unknown"  # missing row
    assert got["outlet/2/power"].value == 460.0


async def test_ups_reader_on_an_odd_ups(recorded: SimulatedRack) -> None:
    async with client(recorded, "ups-odd") as snmp:
        reader = ups.UpsReader("ups-odd", snmp)
        ident = await reader.identify()
        got = by_sensor(await reader.read(time.time()))
    assert (ident.model, ident.firmware) == ("Smart-UPS SRT 6000", "UPS 04.1 (ID1003)")
    assert got["source/on_battery"].value == 1.0  # from upsSecondsOnBattery
    assert got["battery/runtime"].value == 720.0  # "12" minutes, as text
    assert got["battery/charge"].status == "unknown"
    assert got["battery/low"].status == "unknown"
    assert got["output/power"].status == "unknown"
    assert got["battery/voltage"].value == pytest.approx(219.0)


async def test_switch_reader_on_an_odd_switch(recorded: SimulatedRack) -> None:
    async with client(recorded, "switch-odd") as snmp:
        reader = switch.SwitchReader("switch-odd", snmp)
        ident = await reader.identify()
        got = by_sensor(await reader.read(time.time()))
    assert (ident.model, ident.firmware, ident.serial) == ("SIM-TOR-24X", "9.3(10)", "SIMSW000001")
    assert got["port/1/oper"].value == 1.0
    assert got["port/4/oper"].value == 0.0
    assert got["port/3/oper"].status == "unknown"
    assert got["port/1/errors"].value == 7.0
    assert got["port/3/errors"].status == "unknown"  # a hole in a published column
    assert got["fan/Fan 1"].value == 9000.0
    assert (got["fan/Fan 2"].status, got["fan/Fan 2"].value) == ("fault", 0.0)
    assert got["temperature/Board temperature sensor"].value == 38.5
    assert got["temperature/CPU \xe9te"].status == "unknown"  # unavailable, latin-1 name
    assert got["temperature/PSU temperature"].status == "unknown"  # scale 42


@pytest.mark.parametrize("name", sorted(RECORDINGS))
async def test_generic_reader_never_crashes(recorded: SimulatedRack, name: str) -> None:
    async with client(recorded, name) as snmp:
        reader = GenericReader(name, snmp)
        ident = await reader.identify()
        readings = await reader.read(time.time())
    assert ident.sys_object_id
    assert readings
    assert all(r.status in ("ok", "unknown", "fault") for r in readings)
    assert all(r.detail for r in readings if r.status == "unknown")


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_decoders_take_unsorted_rows_straight_from_the_file(name: str) -> None:
    rows = file_rows(RECORDINGS[name])
    values = dict(rows)
    readings = generic.decode_interfaces(name, rows, generic.decode_base_ports(rows), 0.0)
    readings += generic.decode_entity_sensors(name, rows, column(rows, generic.ENT_NAME), 0.0)
    readings += ups.decode(name, values, 0.0)
    for key in ("apc_rpdu2", "raritan_pdu2"):
        family, metering = FAMILIES_BY_KEY[key], METERING[key]
        walked = dict.fromkeys(_columns(family, metering), rows)
        readings += pdu.decode(
            name, family, metering=metering, values=values, walked=walked, ts=0.0
        )
    assert readings
    assert all(r.value is None for r in readings if r.status == "unknown")


def _columns(family: PduFamily, metering: Metering) -> list[str]:
    measured, digits = pdu.walked_columns(family, metering)
    return measured + digits


def test_raritan_documented_recording_decodes_its_odd_rows() -> None:
    rows = file_rows(RECORDINGS["raritan-doc"])
    family, metering = FAMILIES_BY_KEY["raritan_pdu2"], METERING["raritan_pdu2"]
    outlet_power = metering.table("outlet/{n}/power")
    assert family.state is not None
    assert outlet_power is not None
    walked = {family.state.column: rows, outlet_power.column: rows}
    got = by_sensor(
        pdu.decode("px2", family, metering=metering, values=dict(rows), walked=walked, ts=0.0)
    )
    assert got["outlet/1/state"].value == 1.0
    assert got["outlet/2/state"].value == 0.0
    assert got["outlet/3/state"].status == "unknown"  # 99 is no SensorStateEnumeration
    assert got["inlet/current"].value == 10.0  # no decimal digits published: scale 1
    # no outlet metering in the recording: an absent table gives no reading (the reader's
    # last_tables says "absent"), not one invented unknown per outlet
    assert "outlet/1/power" not in got
