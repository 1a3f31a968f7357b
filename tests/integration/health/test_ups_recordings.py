"""UPS families against recordings of real devices (snmpsim-data 1.0.1, BSD-2-Clause).

Each recording, as published (bz2, snmpsim notations), is served over UDP by our
simulator and read by the UPS reader with the family detected by its sentinels, as
`cleanroom probe` does. Every expected value was
read by hand in the recording (the OID is cited next to it), never by running our code.

Recordings under UPS/ that are not UPSes, or that no family can read, are checked too:
detection must not take them for a UPS family.
"""

from __future__ import annotations

import importlib.resources
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agent.devices.ups import EATON_MGE, detect_ups
from agent.health.readers.ups import UpsSummary, read_ups
from agent.health.sensors import Reading
from agent.sim.snmp import RecordingSpec, SimulatedRack

from .ups_helpers import read_detected, ups_client

# snmpsim-data is a dev dependency (pyproject.toml); its files sit in the package.
DATA = Path(str(importlib.resources.files("snmpsim_data") / "data"))

UPSES = {
    "eaton-93e": "UPS/eaton-93e-80.snmprec.bz2",
    "eaton-9px": "UPS/eaton-9px-partial.snmprec.bz2",
    "huawei-ups5000": "UPS/huawei-gse200m.snmprec.bz2",
    "santak-array": "UPS/ingrasys-power-switch.snmprec.bz2",
    "phoenixtec": "UPS/phoenixtec-power.snmprec.bz2",
    "east-ea9080": "UPS/eastpower-istars-swv053.snmprec.bz2",
}
NOT_A_UPS_FAMILY = {
    # A UPS, but it publishes only Emerson's own MIB (13400.2.1), no UPS-MIB.
    "emerson-us11r": "UPS/emerson-network-power.snmprec.bz2",
    # A Liebert PEX precision air conditioner (LIEBERT-GP lgpEnvironmental, 476.1.42.3.4).
    "liebert-pex": "UPS/vertiv-power.snmprec.bz2",
    # A Tripp Lite PDUMH20ATNET transfer-switch PDU behind PowerAlert: it answers
    # upsIdentAgentSoftwareVersion and tlpUpsIdentNumUps = 0, and no UPS object.
    "tripplite-ats": "network/appliance/tripplite-poweralert.snmprec",
    # APC switched rack PDUs filed under UPS/ in snmpsim-data.
    "apc-ap7902b": "UPS/apc-7902b.snmprec",
    "apc-ap8932": "UPS/apc-8932.snmprec",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[SimulatedRack]:
    specs = [RecordingSpec(name, DATA / path) for name, path in (UPSES | NOT_A_UPS_FAMILY).items()]
    async with SimulatedRack(specs) as served:
        yield served


def _values(got: dict[str, Reading], sensors: list[str]) -> list[float | None]:
    return [got[s].value for s in sensors]


def _line(side: str, n: int, *quantities: str) -> list[str]:
    return [f"{side}/{n}/{q}" for q in quantities]


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_eaton_93e_reads_as_xups_with_mge_and_ups_mib_filling_in(
    rack: SimulatedRack,
) -> None:
    ident, got, summary = await read_detected(rack, "eaton-93e")
    # sysObjectID 1.3.6.1.4.1.705.1; XUPS, MGE and UPS-MIB sentinels all answer.
    assert ident.family == "eaton_xups"
    # xupsIdentManufacturer 534.1.1.1.0 "EATON", xupsIdentModel 534.1.1.2.0 "EATON 93E 80",
    # upsmgIdentSerialNumber 705.1.1.7.0 (XUPS has none), xupsIdentSoftwareVersion
    # 534.1.1.3.0 "INV: 2.08.0011".
    assert (ident.vendor, ident.model, ident.serial, ident.firmware) == (
        "EATON",
        "EATON 93E 80",
        "4K234LXX06",
        "INV: 2.08.0011",
    )
    # xupsAlarms 534.1.7.1.0 = 0: no xupsLowBattery alarm; xupsOutputSource 534.1.4.5.0 =
    # normal(3). (upsmgBatteryLowBattery 705.1.5.14.0 = no(2), upsBatteryStatus 33.1.2.1.0
    # = batteryNormal(2) and upsOutputSource 33.1.4.1.0 = normal(3) agree.)
    assert summary == UpsSummary("normal", on_battery=False)
    assert got["battery/low"].value == 0.0
    assert got["source/on_battery"].value == 0.0
    assert got["battery/charge"].value == 100.0  # xupsBatCapacity 534.1.2.4.0
    # xupsBatTimeRemaining 534.1.2.1.0 = 65535 s (upsEstimatedMinutesRemaining 1092 min
    # is the same, rounded down to the minute).
    assert got["battery/runtime"].value == 65535.0
    assert got["battery/voltage"].value == 521.0  # xupsBatVoltage 534.1.2.2.0 (V)
    assert got["battery/temperature"].value == 25.0  # upsBatteryTemperature 33.1.2.7.0
    # xupsInputNumPhases 534.1.3.3.0 = 3: xupsInputVoltage 227/227/233, xupsInputCurrent
    # 21 A, xupsInputWatts 0; frequency from mginputFrequency 705.1.6.2.1.3.N.0 = 500.
    for n, volts in ((1, 227.0), (2, 227.0), (3, 233.0)):
        assert _values(got, _line("input", n, "voltage", "frequency", "current", "power")) == [
            volts,
            pytest.approx(50.0),
            21.0,
            0.0,
        ]
    assert "input/4/voltage" not in got
    # xupsOutputNumPhases 534.1.4.3.0 = 3: xupsOutputVoltage 220, xupsOutputCurrent
    # 27/18/15 A, xupsOutputWatts 5100/3600/2700; no xupsOutputPercentLoad column, so the
    # load is mgoutputLoadPerPhase 705.1.7.2.1.4.N = 21/16/12, the frequency
    # mgoutputFrequency 490.
    for n, load, amps, watts in (
        (1, 21.0, 27.0, 5100.0),
        (2, 16.0, 18.0, 3600.0),
        (3, 12.0, 15.0, 2700.0),
    ):
        assert _values(
            got, _line("output", n, "voltage", "frequency", "load", "current", "power")
        ) == [220.0, pytest.approx(49.0), load, amps, watts]
    assert got["input/voltage"].value == 227.0  # line 1
    assert got["input/frequency"].value == pytest.approx(50.0)  # xupsInputFrequency 500
    assert got["input/line_bads"].value == 0.0  # xupsInputLineBads 534.1.3.2.0
    assert got["output/load"].value == 21.0  # xupsOutputLoad 534.1.4.1.0
    assert got["output/power"].value == 11400.0  # the lines' sum: no xupsOutputTotalWatts


async def test_eaton_9px_partial_has_no_ups_mib(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "eaton-9px")
    assert ident.family == "eaton_xups"  # sysObjectID 705.1; XUPS and MGE, no UPS-MIB
    # No xupsIdentManufacturer: the family's vendor. xupsIdentModel 534.1.1.2.0,
    # upsmgIdentSerialNumber 705.1.1.7.0, xupsIdentSoftwareVersion 534.1.1.3.0.
    assert (ident.vendor, ident.model, ident.serial, ident.firmware) == (
        "Eaton",
        "Eaton 9PX 2200i RT 3U",
        "GX13G45099",
        "INV: 01.17.4945",
    )
    # xupsAlarms 534.1.7.1.0 = 0; xupsOutputSource 534.1.4.5.0 = normal(3).
    assert summary == UpsSummary("normal", on_battery=False)
    assert got["battery/charge"].value == 100.0  # xupsBatCapacity 534.1.2.4.0
    assert got["battery/runtime"].value == 17218.0  # xupsBatTimeRemaining 534.1.2.1.0 (s)
    assert got["battery/voltage"].value == 78.0  # xupsBatVoltage 534.1.2.2.0
    assert got["battery/temperature"].status == "unknown"  # published by no MIB here
    # xupsInputNumPhases 534.1.3.3.0 = 1: xupsInputVoltage.1 243, xupsInputCurrent 0,
    # xupsInputWatts 0; mginputFrequency.1.0 = 500.
    assert _values(got, _line("input", 1, "voltage", "frequency", "current", "power")) == [
        243.0,
        pytest.approx(50.0),
        0.0,
        0.0,
    ]
    # xupsOutputNumPhases 534.1.4.3.0 = 1 (MGE pads its table to three rows, ignored):
    # xupsOutputVoltage 231, current 0, watts 50; mgoutputLoadPerPhase 9, frequency 500.
    assert _values(got, _line("output", 1, "voltage", "frequency", "load", "current", "power")) == [
        231.0,
        pytest.approx(50.0),
        9.0,
        0.0,
        50.0,
    ]
    assert "output/2/voltage" not in got
    assert got["output/load"].value == 9.0  # xupsOutputLoad 534.1.4.1.0
    assert got["output/power"].value == 50.0


async def test_eaton_9px_through_mge_alone(rack: SimulatedRack) -> None:
    """The MGE family pinned, on the same 9PX: its own objects, no XUPS to lean on
    except for what MGE lacks."""
    async with ups_client(rack, "eaton-9px") as client:
        ident, readings, summary = await read_ups(client, EATON_MGE, time.time())
    got = {r.sensor: r for r in readings}
    # upsmgIdentFamilyName 705.1.1.1.0 "Eaton 9PX" + upsmgIdentModelName .1.2.0 "2200i RT 3U",
    # upsmgIdentFirmwareVersion 705.1.1.4.0 "01.17.4945".
    assert (ident.family, ident.model, ident.firmware) == (
        "eaton_mge",
        "Eaton 9PX 2200i RT 3U",
        "01.17.4945",
    )
    # upsmgBatteryLowBattery 705.1.5.14.0 = no(2), upsmgBatteryLowCondition .5.16.0 = no(2),
    # upsmgOutputOnBattery 705.1.7.3.0 = no(2).
    assert summary == UpsSummary("normal", on_battery=False)
    assert got["battery/runtime"].value == 17218.0  # upsmgBatteryRemainingTime 705.1.5.1.0
    assert got["battery/voltage"].value == pytest.approx(78.0)  # upsmgBatteryVoltage 780
    # upsmgInputPhaseNum 705.1.6.1.0 = 1; mginputVoltage.1.0 = 2430 tenths.
    assert got["input/1/voltage"].value == pytest.approx(243.0)
    # upsmgOutputPhaseNum 705.1.7.1.0 = 1 although rows 1..3 answer (2310 each): line 1
    # only. mgoutputVoltage 2310 tenths, mgoutputLoadPerPhase 9.
    assert _values(got, _line("output", 1, "voltage", "load")) == [pytest.approx(231.0), 9.0]
    assert "output/2/voltage" not in got


async def test_huawei_ups5000_publishes_ups_mib_in_its_own_units(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "huawei-ups5000")
    assert ident.family == "rfc1628"  # sysObjectID 8072.3.2.10 (net-snmp)
    assert (ident.vendor, ident.model, ident.firmware) == (
        "HUAWEI",  # upsIdentManufacturer 33.1.1.1.0
        "UPS5000",  # upsIdentModel 33.1.1.2.0
        "V100R001C10B003SP00",  # upsIdentUPSSoftwareVersion 33.1.1.3.0
    )
    assert summary == UpsSummary("normal", on_battery=False)  # 33.1.2.1.0 = 2, 33.1.4.1.0 = 3
    # upsEstimatedMinutesRemaining 33.1.2.3.0 = -1 and upsEstimatedChargeRemaining
    # 33.1.2.4.0 = -1: outside their MIB ranges, unknown with the object named.
    assert got["battery/runtime"].status == "unknown"
    assert "upsEstimatedMinutesRemaining" in got["battery/runtime"].detail
    assert got["battery/charge"].status == "unknown"
    assert got["battery/voltage"].value == pytest.approx(538.5)  # 33.1.2.5.0 = 5385
    # upsBatteryTemperature 33.1.2.7.0 = -1: no probe.
    assert got["battery/temperature"].status == "unknown"
    # upsInputNumLines 33.1.3.2.0 = 1. upsInputVoltage.1 = 2369 and upsInputFrequency.1
    # = 5000 are tenths of V and hundredths of Hz, not the MIB's units: implausible as
    # "2369 V" / "500 Hz", so unknown. upsInputCurrent.1 = 152 tenths.
    assert got["input/1/voltage"].status == "unknown"
    assert "plausible range" in got["input/1/voltage"].detail
    assert got["input/1/frequency"].status == "unknown"
    assert got["input/1/current"].value == pytest.approx(15.2)
    # upsOutputNumLines 33.1.4.3.0 = 1: voltage 2199 (tenths again), current 183 tenths,
    # power 34 W, load 8 %.
    assert got["output/1/voltage"].status == "unknown"
    assert _values(got, _line("output", 1, "current", "power", "load")) == [
        pytest.approx(18.3),
        34.0,
        8.0,
    ]
    assert "input/2/voltage" not in got


async def test_santak_array_three_phase_on_ups_mib(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "santak-array")
    assert ident.family == "rfc1628"  # sysObjectID 2468.1.2.1 (WebPower Pro II card)
    assert (ident.vendor, ident.model, ident.firmware) == ("Santak", "Array-3A3", "00.00")
    assert summary == UpsSummary("normal", on_battery=False)  # 33.1.2.1.0 = 2, 33.1.4.1.0 = 3
    assert got["battery/charge"].value == 100.0  # 33.1.2.4.0
    assert got["battery/runtime"].value == 0.0  # 33.1.2.3.0 = 0 (as TimeTicks)
    assert got["battery/voltage"].value == pytest.approx(273.0)  # 33.1.2.5.0 = 2730
    assert got["battery/temperature"].value == 32.0  # 33.1.2.7.0
    # upsInputNumLines = 3: voltage 228/229/227, frequency 500.
    assert [got[f"input/{n}/voltage"].value for n in (1, 2, 3)] == [228.0, 229.0, 227.0]
    assert [got[f"input/{n}/frequency"].value for n in (1, 2, 3)] == [pytest.approx(50.0)] * 3
    # upsOutputNumLines = 3: voltage 220, current 400/280/410 tenths, power
    # 7900/5500/7700 W, load 33 %.
    for n, amps, watts in ((1, 40.0, 7900.0), (2, 28.0, 5500.0), (3, 41.0, 7700.0)):
        assert _values(got, _line("output", n, "voltage", "current", "power", "load")) == [
            220.0,
            pytest.approx(amps),
            watts,
            33.0,
        ]
    assert got["output/power"].value == 21100.0
    assert got["output/load"].value == 33.0


async def test_phoenixtec_ignores_the_zero_rows_past_its_line_count(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "phoenixtec")
    assert ident.family == "rfc1628"  # sysObjectID 935.1.1.1
    # upsIdentManufacturer/Model/UPSSoftwareVersion are empty; the agent's version
    # upsIdentAgentSoftwareVersion 33.1.1.4.0 is the only one given.
    assert (ident.vendor, ident.model, ident.firmware) == ("", "", "3.6.CY504.c")
    assert summary == UpsSummary("normal", on_battery=False)
    assert got["battery/charge"].value == 100.0  # 33.1.2.4.0
    assert got["battery/voltage"].value == pytest.approx(41.0)  # 33.1.2.5.0 = 410
    # upsInputNumLines 33.1.3.2.0 = 1 and upsOutputNumLines 33.1.4.3.0 = 1; rows 2 and 3
    # answer zeros.
    assert _values(got, _line("input", 1, "voltage", "frequency")) == [238.0, pytest.approx(50.0)]
    assert _values(got, _line("output", 1, "voltage", "load")) == [231.0, 0.0]
    assert "input/2/voltage" not in got
    assert "output/2/voltage" not in got


async def test_east_ea9080_table_rows_with_a_stray_zero_arc(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "east-ea9080")
    assert ident.family == "rfc1628"  # sysObjectID 1.3.6.1.4.1.40614
    assert (ident.vendor, ident.model, ident.firmware) == ("EAST", "EA9080", "V8.0")
    assert summary == UpsSummary("normal", on_battery=False)
    assert got["battery/voltage"].value == pytest.approx(213.0)  # 33.1.2.5.0 = 2130
    assert got["battery/temperature"].value == 36.0  # 33.1.2.7.0
    # upsInputVoltage rows are 33.1.3.3.1.3.N.0 (index "N.0"): 236/236/234.
    assert [got[f"input/{n}/voltage"].value for n in (1, 2, 3)] == [236.0, 236.0, 234.0]
    # upsOutputPercentLoad 33.1.4.4.1.5.N.0 = 20/26/30; upsOutputVoltage 219.
    assert [got[f"output/{n}/load"].value for n in (1, 2, 3)] == [20.0, 26.0, 30.0]
    assert {got[f"output/{n}/voltage"].value for n in (1, 2, 3)} == {219.0}
    assert got["output/load"].value == 30.0  # the most loaded line


@pytest.mark.parametrize("name", sorted(NOT_A_UPS_FAMILY))
async def test_no_ups_family_claims_what_it_cannot_read(rack: SimulatedRack, name: str) -> None:
    async with ups_client(rack, name) as client:
        assert await detect_ups(client) is None
