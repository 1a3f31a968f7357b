"""Multi-tower, multi-cord and metered-only PDUs, served over UDP from recordings written
from their MIBs (tests/data/snmprec/*-documented.snmprec; each file says its source).

- Sentry3 with two towers: every tower is read, outlets are numbered 1..8 across the
  towers (tower A's first) and named by their outletID (AA1..AA4, BA1..BA4).
- Sentry4 with two input cords: each cord's st4InputCordActivePower is inlet/N/power.
- A metered Dell (no rPDUOutletSwitchedStatusTable): outlets are listed from the
  metered table, never switched, and the table report says the switched table is
  absent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agent.adapters.snmp import MISSING, SnmpClient, SnmpTarget
from agent.devices.pdu import FAMILIES, FAMILIES_BY_KEY, OutletState, PduDriver
from agent.errors import NegativeReply
from agent.health.readers.pdu import PduReader
from agent.health.sensors import Reading
from agent.sim.snmp import RecordingSpec, SimulatedRack

DATA = Path(__file__).parents[2] / "data" / "snmprec"
RECORDINGS = {
    "sentry3": DATA / "sentry3-2towers-documented.snmprec",
    "sentry4": DATA / "sentry4-2cords-documented.snmprec",
    "dell": DATA / "dell-metered-documented.snmprec",
}


@pytest_asyncio.fixture
async def rack() -> AsyncIterator[SimulatedRack]:
    async with SimulatedRack([RecordingSpec(n, p) for n, p in RECORDINGS.items()]) as served:
        yield served


def client(rack: SimulatedRack, name: str) -> SnmpClient:
    host, port = rack.endpoint(name)
    return SnmpClient(SnmpTarget(name, host, port, timeout=1.0, retries=1))


def by_sensor(readings: list[Reading]) -> dict[str, Reading]:
    return {r.sensor: r for r in readings}


@pytest.mark.parametrize(
    ("name", "family"),
    [("sentry3", "servertech_sentry3"), ("sentry4", "servertech_sentry4"), ("dell", "dell_rpdu")],
)
async def test_only_its_own_family_sentinels_answer(
    rack: SimulatedRack, name: str, family: str
) -> None:
    async with client(rack, name) as snmp:
        found = []
        for candidate in FAMILIES:
            oids = [s.oid for s in candidate.sentinels]
            values = await snmp.get(oids)
            if all(values[oid] is not MISSING for oid in oids):
                found.append(candidate.key)
    assert found == [family]


async def test_sentry3_reads_both_towers_with_unique_numbers(rack: SimulatedRack) -> None:
    driver = PduDriver(FAMILIES_BY_KEY["servertech_sentry3"])
    async with client(rack, "sentry3") as snmp:
        ident = await driver.identify(snmp)
        outlets = await driver.read_outlets(snmp)
        sixth = await driver.read_outlet(snmp, 6)
        with pytest.raises(NegativeReply, match=r"outlets 1\.\.8 over all its towers"):
            await driver.read_outlet(snmp, 9)
    assert (ident.model, ident.serial) == ("CW-8V1-C20M", "ABCD0001")  # towerEntry 7, 6
    assert ident.outlet_count == 8  # two towers of four: no single count object
    assert [o.number for o in outlets] == list(range(1, 9))
    assert [o.name for o in outlets] == ["AA1", "AA2", "AA3", "AA4", "BA1", "BA2", "BA3", "BA4"]
    assert [o.index for o in outlets][3:5] == ["1.1.4", "2.1.1"]
    # outletStatus: A 1,0,1,1; B 0,1,onError(5),offFuse(8)
    assert [o.state for o in outlets] == [
        OutletState.ON,
        OutletState.OFF,
        OutletState.ON,
        OutletState.ON,
        OutletState.OFF,
        OutletState.ON,
        OutletState.ON,
        OutletState.OFF,
    ]
    assert (sixth.index, sixth.state) == ("2.1.2", OutletState.ON)


async def test_sentry3_metering_covers_every_tower(rack: SimulatedRack) -> None:
    async with client(rack, "sentry3") as snmp:
        reader = PduReader("sentry3", snmp, "servertech_sentry3")
        got = by_sensor(await reader.read(time.time()))
    assert got["inlet/1/current"].value == pytest.approx(3.62)  # infeedLoadValue.1.1 = 362
    assert got["inlet/2/current"].value == pytest.approx(5.02)  # infeedLoadValue.2.1 = 502
    assert got["inlet/current"].value == pytest.approx(8.64)  # both towers' infeeds
    assert got["inlet/2/voltage"].value == pytest.approx(205.9)  # infeedVoltage.2.1 = 2059
    assert got["inlet/power"].value == pytest.approx(1960.0)  # systemTotalPower.0
    assert got["outlet/5/current"].value == pytest.approx(2.01)  # outletLoadValue.2.1.1 = 201
    assert got["outlet/8/power"].value == pytest.approx(404.0)  # outletPower.2.1.4 = 404
    assert got["outlet/7/state"].value == 1.0
    assert reader.last_tables["Sentry3-MIB::outletStatus"] == "read"


async def test_sentry4_input_cords_are_inlets(rack: SimulatedRack) -> None:
    async with client(rack, "sentry4") as snmp:
        reader = PduReader("sentry4", snmp, "servertech_sentry4")
        got = by_sensor(await reader.read(time.time()))
        outlets = await (await reader.driver()).read_outlets(snmp)
        ident = await reader.identify()
    assert (ident.model, ident.firmware) == ("C2WG24MJ", "8.0m")  # st4UnitModel.1 (column 5)
    assert got["inlet/1/power"].value == pytest.approx(1234.0)  # st4InputCordActivePower.1.1
    assert got["inlet/2/power"].value == pytest.approx(567.0)  # st4InputCordActivePower.1.2
    assert got["inlet/power"].value == pytest.approx(1801.0)
    assert got["phase/1/current"].value == pytest.approx(6.12)  # st4LineCurrent.1.1.1
    assert got["phase/1/voltage"].value == pytest.approx(208.0)  # st4PhaseVoltage.1.1.1
    assert got["breaker/2/current"].value == pytest.approx(3.12)  # st4BranchCurrent.1.1.2
    assert got["breaker/3/current"].value == pytest.approx(2.8)  # st4BranchCurrent.1.2.1
    assert [o.name for o in outlets] == ["AA1", "AA2", "AB1", "AB2"]
    # st4OutletControlState on(11), off(10), on(11), pendOff(9)
    assert [o.state for o in outlets] == [
        OutletState.ON,
        OutletState.OFF,
        OutletState.ON,
        OutletState.UNKNOWN,
    ]
    assert got["outlet/3/current"].value == pytest.approx(1.01)  # st4OutletCurrent.1.2.1


async def test_metered_dell_lists_outlets_and_refuses_to_switch(rack: SimulatedRack) -> None:
    driver = PduDriver(FAMILIES_BY_KEY["dell_rpdu"])
    async with client(rack, "dell") as snmp:
        ident = await driver.identify(snmp)
        outlets = await driver.read_outlets(snmp)
        with pytest.raises(NegativeReply, match="not switched"):
            await driver.set_outlet(snmp, 1, on=False)
        reader = PduReader("dell", snmp, "dell_rpdu")
        got = by_sensor(await reader.read(time.time()))
    assert (ident.model, ident.firmware, ident.outlet_count) == ("DELL6606", "v5.1.2", 4)
    assert [(o.number, o.name, o.switched) for o in outlets] == [
        (n, f"Outlet {n}", False) for n in range(1, 5)
    ]
    assert all(o.state is OutletState.UNKNOWN for o in outlets)
    assert got["outlet/1/state"].status == "unknown"
    assert "not switched" in got["outlet/1/state"].detail
    assert got["outlet/3/current"].value == pytest.approx(2.0)  # ...MeteredStatusCurrent.3, A
    assert got["outlet/3/power"].value == pytest.approx(352.0)  # ...MeteredStatusPower.3, W
    assert got["inlet/power"].value == pytest.approx(3790.0)  # rPDUDeviceStatusPower 1/100 kW
    assert got["phase/1/current"].value == pytest.approx(19.3)  # rPDUPhaseStatusCurrent.1
    assert got["phase/1/voltage"].value == pytest.approx(205.0)
    assert reader.last_tables["DellrPDU-MIB::rPDUOutletSwitchedStatusState"] == "absent"
    assert reader.last_tables["DellrPDU-MIB::rPDUOutletMeteredStatusPower"] == "read"
