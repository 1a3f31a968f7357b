"""UPS families with no public recording, against agents written from the MIB texts.

snmpsim-data holds no APC, CyberPower, Powerware (XUPS-only) or Tripp Lite UPS: each
device below is an snmprec written here from the vendor's MIB (object, OID and unit
cited on each line, never taken from our driver tables), served over UDP and read with
the family detected by its sentinels. Odd values (the MIBs' "not supported" sentinels)
must read as unknown with the object named, never raise. The UPS policy is fed the
driver's status to show it works for any family.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agent.devices.ups import UpsDriver
from agent.health.readers.ups import UpsSummary
from agent.power.ups_policy import UpsPolicy
from agent.sim.snmp import RecordingSpec, SimulatedRack, UpsSpec
from agent.sim.snmp.values import parse_oid

from .ups_helpers import read_detected, ups_client

pytestmark = pytest.mark.asyncio(loop_scope="module")

E = "1.3.6.1.4.1"
DEVICES = {
    # An APC Smart-UPS SRT on battery, battery low (PowerNet-MIB).
    "apc-srt": f"""
1.3.6.1.2.1.1.2.0|6|{E}.318.1.3.27
{E}.318.1.1.1.1.1.1.0|4|Smart-UPS SRT 6000
{E}.318.1.1.1.1.2.1.0|4|UPS 04.1 (ID1003)
{E}.318.1.1.1.1.2.3.0|4|AS1234567890
{E}.318.1.1.1.2.1.1.0|2|3
{E}.318.1.1.1.2.1.2.0|67|12000
{E}.318.1.1.1.2.2.1.0|66|41
{E}.318.1.1.1.2.3.1.0|66|415
{E}.318.1.1.1.2.2.2.0|66|255
{E}.318.1.1.1.2.3.2.0|66|2550
{E}.318.1.1.1.2.2.3.0|67|54000
{E}.318.1.1.1.2.2.8.0|2|-1
{E}.318.1.1.1.2.3.4.0|2|2184
{E}.318.1.1.1.3.2.1.0|66|0
{E}.318.1.1.1.4.1.1.0|2|3
{E}.318.1.1.1.4.2.8.0|2|2800
{E}.318.1.1.1.4.3.1.0|66|2301
{E}.318.1.1.1.4.3.3.0|66|467
{E}.318.1.1.1.4.3.4.0|66|123
""",
    # An APC three-phase UPS: upsPhase tables; input rows indexed {table, phase} as the
    # MIB's INDEX says, output rows with the three arcs NUT's apc-mib.c reads.
    "apc-3phase": f"""
1.3.6.1.2.1.1.2.0|6|{E}.318.1.3.5
{E}.318.1.1.1.1.1.1.0|4|Symmetra PX 20K
{E}.318.1.1.1.2.1.1.0|2|2
{E}.318.1.1.1.4.1.1.0|2|2
{E}.318.1.1.1.9.2.2.1.2.1|2|3
{E}.318.1.1.1.9.2.3.1.3.1.1|2|231
{E}.318.1.1.1.9.2.3.1.3.1.2|2|229
{E}.318.1.1.1.9.2.3.1.3.1.3|2|230
{E}.318.1.1.1.9.2.3.1.6.1.1|2|105
{E}.318.1.1.1.9.2.3.1.6.1.2|2|98
{E}.318.1.1.1.9.2.3.1.6.1.3|2|101
{E}.318.1.1.1.9.3.2.1.2.1|2|3
{E}.318.1.1.1.9.3.3.1.3.1.1.1|2|230
{E}.318.1.1.1.9.3.3.1.3.1.1.2|2|230
{E}.318.1.1.1.9.3.3.1.3.1.1.3|2|230
{E}.318.1.1.1.9.3.3.1.4.1.1.1|2|87
{E}.318.1.1.1.9.3.3.1.4.1.1.2|2|80
{E}.318.1.1.1.9.3.3.1.4.1.1.3|2|-1
{E}.318.1.1.1.9.3.3.1.10.1.1.1|2|31
{E}.318.1.1.1.9.3.3.1.10.1.1.2|2|28
{E}.318.1.1.1.9.3.3.1.10.1.1.3|2|30
{E}.318.1.1.1.9.3.3.1.13.1.1.1|2|1900
{E}.318.1.1.1.9.3.3.1.13.1.1.2|2|1750
{E}.318.1.1.1.9.3.3.1.13.1.1.3|2|1800
""",
    # A CyberPower OR1500 on mains (CPS-MIB ups subtree 3808.1.1.1).
    "cyberpower": f"""
1.3.6.1.2.1.1.2.0|6|{E}.3808.1.1.1
{E}.3808.1.1.1.1.1.1.0|4|OR1500LCDRM1U
{E}.3808.1.1.1.1.2.1.0|4|BF01403AAH2
{E}.3808.1.1.1.1.2.3.0|4|GS1234567
{E}.3808.1.1.1.2.1.1.0|2|2
{E}.3808.1.1.1.2.2.1.0|66|100
{E}.3808.1.1.1.2.2.2.0|2|245
{E}.3808.1.1.1.2.2.3.0|66|29
{E}.3808.1.1.1.2.2.4.0|67|228000
{E}.3808.1.1.1.3.2.1.0|66|2330
{E}.3808.1.1.1.3.2.4.0|66|500
{E}.3808.1.1.1.4.1.1.0|2|2
{E}.3808.1.1.1.4.2.1.0|66|2300
{E}.3808.1.1.1.4.2.3.0|66|34
{E}.3808.1.1.1.4.2.4.0|66|19
{E}.3808.1.1.1.4.2.5.0|66|310
""",
    # A Powerware 9355 whose card publishes XUPS-MIB only, on battery, with two
    # alarms present (xupsAlarms 534.1.7.1.0 = 2): xupsOnBattery and xupsLowBattery.
    "powerware": f"""
1.3.6.1.2.1.1.2.0|6|{E}.534.1.2.5
{E}.534.1.1.1.0|4|EATON
{E}.534.1.1.2.0|4|Powerware 9355 20 kVA
{E}.534.1.1.3.0|4|INV: 1.20
{E}.534.1.2.1.0|2|1500
{E}.534.1.2.2.0|2|432
{E}.534.1.2.4.0|2|87
{E}.534.1.3.3.0|2|3
{E}.534.1.3.4.1.2.1|2|0
{E}.534.1.3.4.1.2.2|2|0
{E}.534.1.3.4.1.2.3|2|0
{E}.534.1.4.1.0|2|15
{E}.534.1.4.3.0|2|3
{E}.534.1.4.4.1.2.1|2|230
{E}.534.1.4.4.1.2.2|2|230
{E}.534.1.4.4.1.2.3|2|230
{E}.534.1.4.4.1.3.1|2|12
{E}.534.1.4.4.1.3.2|2|11
{E}.534.1.4.4.1.3.3|2|10
{E}.534.1.4.4.1.4.1|2|2600
{E}.534.1.4.4.1.4.2|2|2400
{E}.534.1.4.4.1.4.3|2|2200
{E}.534.1.4.4.1.8.1|2|15
{E}.534.1.4.4.1.8.2|2|14
{E}.534.1.4.4.1.8.3|2|13
{E}.534.1.4.5.0|2|5
{E}.534.1.4.9.3.0|2|7200
{E}.534.1.7.1.0|66|2
{E}.534.1.7.2.1.1.7|2|7
{E}.534.1.7.2.1.1.8|2|8
{E}.534.1.7.2.1.2.7|6|{E}.534.1.7.3
{E}.534.1.7.2.1.2.8|6|{E}.534.1.7.4
""",
    # A Tripp Lite SU3000 behind PowerAlert (TRIPPLITE-PRODUCTS), device index 1.
    "tripplite": f"""
1.3.6.1.2.1.1.2.0|6|{E}.850.1.1.1
{E}.850.1.1.1.1.0|66|1
{E}.850.1.1.1.2.1.4.1|4|TRIPP LITE
{E}.850.1.1.1.2.1.5.1|4|SU3000RTXLCD3U
{E}.850.1.1.2.1.1.4.1|4|12.04.0052
{E}.850.1.1.2.1.1.5.1|4|2812AV0SM8
{E}.850.1.1.3.1.1.1.0|66|1
{E}.850.1.1.3.1.1.2.1.4.1|66|1
{E}.850.1.1.3.1.3.1.1.1.1.1|2|2
{E}.850.1.1.3.1.3.1.1.1.2.1|66|0
{E}.850.1.1.3.1.3.1.1.1.3.1|66|25
{E}.850.1.1.3.1.3.1.1.1.4.1|2|100
{E}.850.1.1.3.1.3.1.1.1.5.1|67|151200
{E}.850.1.1.3.1.3.1.2.1.1.1|66|545
{E}.850.1.1.3.1.3.2.2.1.2.1.1|66|600
{E}.850.1.1.3.1.3.2.2.1.3.1.1|66|1201
{E}.850.1.1.3.1.3.2.2.1.6.1.1|66|1250
{E}.850.1.1.3.1.3.3.1.1.1.1|2|3
{E}.850.1.1.3.1.3.3.2.1.2.1.1|66|1200
{E}.850.1.1.3.1.3.3.2.1.3.1.1|66|980
{E}.850.1.1.3.1.3.3.2.1.4.1.1|66|1100
{E}.850.1.1.3.1.3.3.2.1.5.1.1|2|37
{E}.850.1.1.3.1.3.3.2.1.6.1.1|66|600
""",
    # A CyberPower ePDU (CPS-MIB ePDU subtree 3808.1.1.3): not a UPS.
    "cyberpower-epdu": f"""
1.3.6.1.2.1.1.2.0|6|{E}.3808.1.1.3
{E}.3808.1.1.3.1.1.0|4|PDU41001
{E}.3808.1.1.3.3.3.1.1.4.1|2|1
""",
}


def _specs(tmp: Path) -> list[RecordingSpec]:
    specs = []
    for name, text in DEVICES.items():
        path = tmp / f"{name}.snmprec"
        path.write_text(text.lstrip())
        specs.append(RecordingSpec(name, path))
    return specs


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SimulatedRack]:
    async with SimulatedRack(_specs(tmp_path_factory.mktemp("ups-families"))) as served:
        yield served


async def test_apc_smart_ups_on_battery_with_its_not_supported_values(
    rack: SimulatedRack,
) -> None:
    ident, got, summary = await read_detected(rack, "apc-srt")
    assert (ident.family, ident.vendor, ident.model, ident.serial, ident.firmware) == (
        "apc_ups",
        "APC",
        "Smart-UPS SRT 6000",
        "AS1234567890",
        "UPS 04.1 (ID1003)",
    )
    # upsBasicBatteryStatus batteryLow(3); upsBasicOutputStatus onBattery(3).
    assert summary == UpsSummary("low", on_battery=True)
    assert got["battery/charge"].value == pytest.approx(41.5)  # upsHighPrecBatteryCapacity
    assert got["battery/runtime"].value == pytest.approx(540.0)  # 54000 TimeTicks
    assert got["battery/seconds_on_battery"].value == pytest.approx(120.0)
    assert got["battery/voltage"].value == pytest.approx(218.4)  # high precision, not -1
    # 2550 / 255 mean "no temperature probe" in PowerNet-MIB.
    assert got["battery/temperature"].status == "unknown"
    assert "upsAdvBatteryTemperature" in got["battery/temperature"].detail
    # No upsPhase table: the unit's scalars are line 1.
    assert got["input/1/voltage"].value == 0.0
    assert got["output/1/voltage"].value == pytest.approx(230.1)
    assert got["output/1/current"].value == pytest.approx(12.3)
    assert got["output/power"].value == 2800.0  # upsAdvOutputActivePower
    assert got["output/load"].value == pytest.approx(46.7)


async def test_the_ups_policy_acts_on_an_apc_ups_through_the_driver(
    rack: SimulatedRack,
) -> None:
    async with ups_client(rack, "apc-srt") as client:
        status = await UpsDriver().read_status(client)
    decisions = UpsPolicy("apc-srt", low_runtime_s=300.0, dead_time_s=60.0).observe(status, 0.0)
    assert [d.kind for d in decisions] == ["on_battery", "critical"]
    assert "battery reports low" in decisions[1].reason


async def test_apc_three_phase_lines_from_the_upsphase_tables(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "apc-3phase")
    assert ident.family == "apc_ups"
    assert summary == UpsSummary("normal", on_battery=False)  # batteryNormal, onLine
    # upsPhaseInputVoltage.1.N VAC, upsPhaseInputCurrent.1.N tenths of A.
    assert [got[f"input/{n}/voltage"].value for n in (1, 2, 3)] == [231.0, 229.0, 230.0]
    assert [got[f"input/{n}/current"].value for n in (1, 2, 3)] == [
        pytest.approx(10.5),
        pytest.approx(9.8),
        pytest.approx(10.1),
    ]
    # upsPhaseOutputCurrent.1.1.3 = -1: "unsupported", unknown with the object named.
    assert got["output/3/current"].status == "unknown"
    assert "upsPhaseOutputCurrent" in got["output/3/current"].detail
    assert [got[f"output/{n}/power"].value for n in (1, 2, 3)] == [1900.0, 1750.0, 1800.0]
    assert got["output/power"].value == 5450.0  # the sum: no upsAdvOutputActivePower
    assert got["output/load"].value == 31.0  # the most loaded phase


async def test_cyberpower_ups_is_not_the_cyberpower_epdu(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "cyberpower")
    assert (ident.family, ident.model, ident.serial, ident.firmware) == (
        "cyberpower_ups",
        "OR1500LCDRM1U",
        "GS1234567",
        "BF01403AAH2",
    )
    assert summary == UpsSummary("normal", on_battery=False)  # batteryNormal, onLine
    assert got["battery/runtime"].value == pytest.approx(2280.0)  # TimeTicks
    assert got["battery/voltage"].value == pytest.approx(24.5)  # 1/10 VDC
    assert got["input/1/voltage"].value == pytest.approx(233.0)  # 1/10 VAC
    assert got["input/frequency"].value == pytest.approx(50.0)
    assert got["output/1/current"].value == pytest.approx(1.9)  # 1/10 A
    assert got["output/power"].value == 310.0
    assert got["output/load"].value == 34.0
    async with ups_client(rack, "cyberpower-epdu") as client:
        assert not await UpsDriver().is_ups(client)


async def test_powerware_on_xups_alone(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "powerware")
    assert (ident.family, ident.vendor, ident.model) == (
        "eaton_xups",
        "EATON",
        "Powerware 9355 20 kVA",
    )
    # xupsOutputSource battery(5); a row of xupsAlarmTable names xupsLowBattery.
    assert summary == UpsSummary("low", on_battery=True)
    assert got["battery/low"].value == 1.0
    assert got["battery/runtime"].value == 1500.0  # xupsBatTimeRemaining, seconds
    assert got["battery/charge"].value == 87.0
    assert [got[f"input/{n}/voltage"].value for n in (1, 2, 3)] == [0.0, 0.0, 0.0]
    assert [got[f"output/{n}/load"].value for n in (1, 2, 3)] == [15.0, 14.0, 13.0]
    assert got["output/power"].value == 7200.0  # xupsOutputTotalWatts


async def test_tripplite_ups_behind_poweralert(rack: SimulatedRack) -> None:
    ident, got, summary = await read_detected(rack, "tripplite")
    assert (ident.family, ident.vendor, ident.model, ident.serial, ident.firmware) == (
        "tripplite_ups",
        "TRIPP LITE",
        "SU3000RTXLCD3U",
        "2812AV0SM8",
        "12.04.0052",
    )
    assert summary == UpsSummary("normal", on_battery=False)
    assert got["battery/runtime"].value == pytest.approx(1512.0)  # TimeTicks before minutes
    assert got["battery/voltage"].value == pytest.approx(54.5)
    assert got["input/1/voltage"].value == pytest.approx(120.1)  # 0.1 V
    assert got["input/1/current"].value == pytest.approx(12.5)  # 0.01 A
    assert got["output/1/current"].value == pytest.approx(9.8)
    assert got["output/1/power"].value == 1100.0
    assert got["output/1/load"].value == 37.0
    assert "output/2/voltage" not in got


async def test_a_refused_line_table_leaves_the_rest_of_the_status() -> None:
    async with SimulatedRack([UpsSpec("ups")]) as sim:
        # genErr on UPS-MIB::upsOutputVoltage.1: the walk of upsOutputEntry fails.
        sim.device("ups").faults.fail_oid(parse_oid("1.3.6.1.2.1.33.1.4.4.1.2.1"), "genErr")
        async with ups_client(sim, "ups") as client:
            status = await UpsDriver().read_status(client)
    # The simulated UPS: 1200 Wh at 900 W, 80 minutes of runtime.
    assert (status.family, status.on_battery, status.runtime_s) == ("rfc1628", False, 4800.0)
    assert status.outputs == ()
    assert [line.voltage_v for line in status.inputs] == [230.0]
    assert dict(status.tables)["UPS-MIB::upsOutputEntry"].startswith("unreadable: ")
    assert dict(status.tables)["UPS-MIB::upsInputEntry"] == "read"
    assert any("UPS-MIB::upsOutputEntry" in p for p in status.problems)
