"""The PDU driver and the health reader on recordings of real APC rack PDUs.

snmpsim-data 1.0.1 (BSD-2-Clause) holds walks of three switched APC rack PDUs, filed
under UPS/: an AP7902B (sysObjectID 318.1.3.4.8), an AP8641 and an AP8932 (both
318.1.3.4.6). All three run the "rpdu2g" firmware and publish both PowerNet-MIB
generations: the rPDU tables (318.1.1.12) and the rPDU2 tables (318.1.1.26). Each is
served over real UDP by our RecordedDevice; every expected value below was read in the
recording itself (the OID is cited), never produced by our code.

snmpsim "variation" lines are served statically: ``TYPE:numeric|...initial=N`` as N,
``TYPE:writecache|value=V`` as V. Finding: the rPDU2OutletSwitchedStatusState column
(26.9.2.3.1.5) is such a variation in all three files. In the AP8641 and AP8932 its
initial values agree with the two static state columns (rPDUOutletStatusOutletState
12.3.5.1.1.4 and the rPDU2OutletSwitchedControlCommand read-back 26.9.2.4.1.5); in the
AP7902B they do not (1-8 on, where both static columns say 1, 2 and 16 on): there the
variation was written by hand, and the rPDU family reads the device's real state.
"""

from __future__ import annotations

import importlib.util
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from agent.adapters.snmp import MISSING, SnmpClient, SnmpTarget
from agent.devices.pdu import FAMILIES, FAMILIES_BY_KEY, OutletState, PduDriver
from agent.health.readers.pdu import PduReader
from agent.health.sensors import Reading
from agent.sim.snmp import RecordingSpec, SimulatedRack

_VARIATION = re.compile(r"^([^|]+)\|(\d+x?):(\w+)\|(.*)$")


def _data_dir() -> Path:
    spec = importlib.util.find_spec("snmpsim_data")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("snmpsim-data is not installed: pip install snmpsim-data==1.0.1")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "UPS"


def static_copy(source: Path, target: Path) -> Path:
    """The recording with snmpsim variation lines replaced by their recorded value, and
    hex-encoded IpAddresses (``64x``) written dotted."""
    lines = []
    for line in source.read_text().splitlines():
        oid, _, rest = line.partition("|")
        if rest.startswith("64x|"):
            address = bytes.fromhex(rest[4:])
            lines.append(f"{oid}|64|{'.'.join(str(b) for b in address)}")
            continue
        match = _VARIATION.match(line)
        if match is None:
            lines.append(line)
            continue
        oid, tag, module, args = match.groups()
        params = dict(part.split("=", 1) for part in args.split(",") if "=" in part)
        key = {"numeric": "initial", "writecache": "value"}.get(module)
        if key is None or key not in params:
            raise ValueError(f"{source.name}: variation {module!r} without {key}: {line}")
        lines.append(f"{oid}|{tag}|{params[key]}")
    target.write_text("\n".join(lines) + "\n")
    return target


@dataclass(frozen=True)
class Expected:
    model: str
    serial: str
    outlets: int
    on: frozenset[int]  # rPDUOutletStatusOutletState 12.3.5.1.1.4.N = outletStatusOn(1)
    rpdu2_on: frozenset[int]  # rPDU2OutletSwitchedStatusState 26.9.2.3.1.5.N = on(2)


EXPECTED = {
    # 26.2.1.8.1 AP7902B, 26.2.1.9.1 5A1551F39430, 26.4.2.1.4.1 = 16 outlets
    # 12.3.5.1.1.4.{1,2,16} = 1, the other 13 rows 2; 26.9.2.3.1.5.{1..8} initial=2
    "apc-7902b": Expected(
        "AP7902B", "5A1551F39430", 16, frozenset({1, 2, 16}), frozenset(range(1, 9))
    ),
    # 26.2.1.8.1 AP8641, 26.2.1.9.1 3F3452A52295, 26.4.2.1.4.1 = 24
    # 12.3.5.1.1.4 = 1 (and 26.9.2.3.1.5 initial=2) for 1-7, 9, 17-23
    "apc-8641": Expected(
        "AP8641",
        "3F3452A52295",
        24,
        frozenset({1, 2, 3, 4, 5, 6, 7, 9, 17, 18, 19, 20, 21, 22, 23}),
        frozenset({1, 2, 3, 4, 5, 6, 7, 9, 17, 18, 19, 20, 21, 22, 23}),
    ),
    # 26.2.1.8.1 AP8932, 26.2.1.9.1 3F503A169043, 26.4.2.1.4.1 = 24
    # 12.3.5.1.1.4.{1,13} = 1 (26.9.2.3.1.5.{1,13} initial=2), the others off
    "apc-8932": Expected("AP8932", "3F503A169043", 24, frozenset({1, 13}), frozenset({1, 13})),
}


# A Geist WatchDog 15 climate monitor (iot/, sysObjectID 21239.42.1.31): it speaks
# GEIST-V4-MIB under 21239.5.1 and must not pass for a Vertiv/Geist PDU.
GEIST_SENSOR = "geist-temperature-sensor"
# A Tripp Lite PDUMH20ATNET (network/appliance/, sysObjectID 850.1.1.1): an automatic
# transfer switch PDU, TRIPPLITE-PRODUCTS tlpAts tables.
TRIPP_LITE = "tripplite-poweralert"


@pytest_asyncio.fixture
async def rack(tmp_path: Path) -> AsyncIterator[SimulatedRack]:
    data = _data_dir()
    specs = [
        RecordingSpec(name, static_copy(data / f"{name}.snmprec", tmp_path / f"{name}.snmprec"))
        for name in EXPECTED
    ]
    sensor = data.parent / "iot" / f"{GEIST_SENSOR}.snmprec"
    specs.append(RecordingSpec(GEIST_SENSOR, static_copy(sensor, tmp_path / sensor.name)))
    ats = data.parent / "network" / "appliance" / f"{TRIPP_LITE}.snmprec"
    specs.append(RecordingSpec(TRIPP_LITE, static_copy(ats, tmp_path / ats.name)))
    async with SimulatedRack(specs) as served:
        yield served


def client(rack: SimulatedRack, name: str) -> SnmpClient:
    host, port = rack.endpoint(name)
    return SnmpClient(SnmpTarget(name, host, port, timeout=1.0, retries=1))


def by_sensor(readings: list[Reading]) -> dict[str, Reading]:
    return {r.sensor: r for r in readings}


def value(got: dict[str, Reading], sensor: str) -> float | None:
    assert sensor in got, f"no {sensor} reading"
    return got[sensor].value


async def answering_families(rack: SimulatedRack, name: str) -> list[str]:
    """The families whose every sentinel answers on this device, in FAMILIES order."""
    async with client(rack, name) as snmp:
        found = []
        for family in FAMILIES:
            oids = [s.oid for s in family.sentinels]
            values = await snmp.get(oids)
            if all(values[oid] is not MISSING for oid in oids):
                found.append(family.key)
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_rpdu2g_firmware_answers_both_apc_generations(rack: SimulatedRack, name: str) -> None:
    # rPDU2IdentModelNumber.1 (26.2.1.8.1) and rPDUOutletStatusOutletState.1 (12.3.5.1.1.4.1)
    # answer: the sysObjectID hint (318.1.3.4.6 / .8, both rPDU2's) has to decide.
    assert await answering_families(rack, name) == ["apc_rpdu2", "apc_rpdu"]
    assert "1.3.6.1.4.1.318.1.3.4.8" in FAMILIES_BY_KEY["apc_rpdu2"].sys_object_ids
    assert "1.3.6.1.4.1.318.1.3.4.6" in FAMILIES_BY_KEY["apc_rpdu2"].sys_object_ids


async def test_a_geist_climate_sensor_is_no_pdu(rack: SimulatedRack) -> None:
    assert await answering_families(rack, GEIST_SENSOR) == []


async def test_tripp_lite_ats_pdu(rack: SimulatedRack) -> None:
    # tlpAtsIdentNumOutlets.1 (850.1.1.3.4.1.2.1.4.1) answers; tlpPduIdent does not
    assert await answering_families(rack, TRIPP_LITE) == ["tripplite_ats"]
    driver = PduDriver(FAMILIES_BY_KEY["tripplite_ats"])
    async with client(rack, TRIPP_LITE) as snmp:
        ident = await driver.identify(snmp)
        outlets = await driver.read_outlets(snmp)
        reader = PduReader(TRIPP_LITE, snmp, "tripplite_ats")
        got = by_sensor(await reader.read(time.time()))
    assert ident.model == "PDUMH20ATNET"  # tlpDeviceModel.1 850.1.1.1.2.1.5.1
    assert ident.serial == "3569FG0LD527F11485"  # tlpDeviceIdentSerialNum.1 850.1.1.2.1.1.5.1
    assert ident.firmware == "693038B"  # tlpDeviceIdentFirmwareVersion.1 850.1.1.2.1.1.4.1
    assert ident.outlet_count == 16  # tlpAtsIdentNumOutlets.1 = 16
    # tlpAtsOutletName 850.1.1.3.4.3.3.1.1.2.1.N = LoadN; tlpAtsOutletState .4.1.N is a
    # snmpsim numeric variation: initial off(1) for 1-8, on(2) for 9-16
    assert [o.name for o in outlets] == [f"Load{n}" for n in range(1, 17)]
    assert {o.number for o in outlets if o.state is OutletState.ON} == set(range(9, 17))
    assert {o.number for o in outlets if o.state is OutletState.OFF} == set(range(1, 9))
    assert got["inlet/current"].value == pytest.approx(0.0)  # tlpAtsOutputCurrent.1.1 = 0
    # tlpAtsInputPhaseVoltage 850.1.1.3.4.3.1.2.1.5.1.1.{1,2} = 1152, 1151 tenths of V
    assert got["inlet/1/voltage"].value == pytest.approx(115.2)
    assert got["inlet/2/voltage"].value == pytest.approx(115.1)
    assert reader.last_tables["TRIPPLITE-PRODUCTS::tlpAtsOutletPower"] == "absent"


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_rpdu2_identity_and_outlets(rack: SimulatedRack, name: str) -> None:
    want = EXPECTED[name]
    driver = PduDriver(FAMILIES_BY_KEY["apc_rpdu2"])
    async with client(rack, name) as snmp:
        ident = await driver.identify(snmp)
        outlets = await driver.read_outlets(snmp)
    assert (ident.model, ident.serial, ident.outlet_count) == (
        want.model,
        want.serial,
        want.outlets,
    )
    assert ident.firmware == "6.7.2"  # 26.2.1.6.1 = 4x 362e372e32
    assert ident.sys_object_id.startswith("1.3.6.1.4.1.318.1.3.4.")
    assert [o.number for o in outlets] == list(range(1, want.outlets + 1))
    assert all(o.switched for o in outlets)
    assert {o.number for o in outlets if o.state is OutletState.ON} == want.rpdu2_on
    assert {o.number for o in outlets if o.state is OutletState.OFF} == (
        set(range(1, want.outlets + 1)) - want.rpdu2_on
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_rpdu_family_reads_the_static_state_columns(rack: SimulatedRack, name: str) -> None:
    want = EXPECTED[name]
    driver = PduDriver(FAMILIES_BY_KEY["apc_rpdu"])
    async with client(rack, name) as snmp:
        ident = await driver.identify(snmp)
        outlets = await driver.read_outlets(snmp)
        one = await driver.read_outlet(snmp, min(want.on))
    assert (ident.model, ident.serial, ident.outlet_count) == (
        want.model,
        want.serial,
        want.outlets,
    )
    assert ident.firmware == "v6.7.2"  # 12.1.3.0 = 4x 76362e372e32
    assert {o.number for o in outlets if o.state is OutletState.ON} == want.on
    assert len(outlets) == want.outlets
    assert one.state is OutletState.ON


async def test_ap8641_rpdu2_metering(rack: SimulatedRack) -> None:
    async with client(rack, "apc-8641") as snmp:
        reader = PduReader("apc-8641", snmp, "apc_rpdu2")
        got = by_sensor(await reader.read(time.time()))
        tables = reader.last_tables
    assert value(got, "inlet/current") == pytest.approx(6.5)  # 26.6.3.1.5.1 = 65 tenths
    assert value(got, "inlet/power") == pytest.approx(1210.0)  # 26.4.3.1.5.1 = 121 (1/100 kW)
    assert value(got, "phase/1/current") == pytest.approx(6.5)  # 26.6.3.1.5.1 = 65
    assert value(got, "phase/1/voltage") == pytest.approx(201.0)  # 26.6.3.1.6.1 = 201
    assert value(got, "phase/1/power") == pytest.approx(1220.0)  # 26.6.3.1.7.1 = 122
    assert "phase/2/current" not in got  # rPDU2PhaseTableSize 26.5.0 = 1
    # rPDU2BankStatusCurrent 26.8.3.1.5.{1,2} = 38, 24; Number 26.8.3.1.3.{1,2} = 1, 2
    assert value(got, "breaker/1/current") == pytest.approx(3.8)
    assert value(got, "breaker/2/current") == pytest.approx(2.4)
    # rPDU2OutletMeteredStatusCurrent 26.9.4.3.1.6.{1,2,3,24} = 9, 5, 4, 0 tenths
    # rPDU2OutletMeteredStatusPower 26.9.4.3.1.7.{1,2,3,24} = 163, 4, 81, 0 W
    assert value(got, "outlet/1/current") == pytest.approx(0.9)
    assert value(got, "outlet/3/current") == pytest.approx(0.4)
    assert value(got, "outlet/24/current") == pytest.approx(0.0)
    assert value(got, "outlet/1/power") == pytest.approx(163.0)
    assert value(got, "outlet/2/power") == pytest.approx(4.0)
    assert value(got, "outlet/3/power") == pytest.approx(81.0)
    assert sum(1 for s in got if s.startswith("outlet/") and s.endswith("/power")) == 24
    assert value(got, "outlet/1/state") == 1.0
    assert value(got, "outlet/8/state") == 0.0
    # probe fitted but not reading: 26.10.2.2.1.8.1 = -1, 26.10.2.2.1.10.1 = -1
    assert got["temperature"].status == "unknown"
    assert got["humidity"].status == "unknown"
    assert tables["PowerNet-MIB::rPDU2OutletMeteredStatusPower"] == "read"
    assert tables["PowerNet-MIB::rPDU2BankStatusCurrent"] == "read"
    assert tables["PowerNet-MIB::rPDU2OutletSwitchedStatusState"] == "read"
    assert tables["PowerNet-MIB::rPDU2SensorTempHumidityStatusTempC"] == "read"


async def test_ap8932_has_no_outlet_metering_and_says_so(rack: SimulatedRack) -> None:
    async with client(rack, "apc-8932") as snmp:
        reader = PduReader("apc-8932", snmp, "apc_rpdu2")
        got = by_sensor(await reader.read(time.time()))
        tables = reader.last_tables
    assert value(got, "phase/1/current") == pytest.approx(1.4)  # 26.6.3.1.5.1 = 14
    assert value(got, "phase/1/voltage") == pytest.approx(121.0)  # 26.6.3.1.6.1 = 121
    assert value(got, "phase/1/power") == pytest.approx(160.0)  # 26.6.3.1.7.1 = 16
    assert value(got, "inlet/power") == pytest.approx(160.0)  # 26.4.3.1.5.1 = 16
    assert value(got, "breaker/1/current") == pytest.approx(1.3)  # 26.8.3.1.5.1 = 13
    assert value(got, "breaker/2/current") == pytest.approx(0.0)  # 26.8.3.1.5.2 = 0
    assert not any(s.startswith("outlet/") and s.endswith(("/current", "/power")) for s in got)
    # rPDU2OutletMeteredTableSize 26.9.3.0 = 0 answers, the table has no row
    assert tables["PowerNet-MIB::rPDU2OutletMeteredStatusCurrent"] == "empty"
    assert tables["PowerNet-MIB::rPDU2OutletMeteredStatusPower"] == "empty"
    assert tables["PowerNet-MIB::rPDU2PhaseStatusCurrent"] == "read"


async def test_ap7902b_unsupported_values_are_unknown_not_zero(rack: SimulatedRack) -> None:
    async with client(rack, "apc-7902b") as snmp:
        reader = PduReader("apc-7902b", snmp, "apc_rpdu2")
        got = by_sensor(await reader.read(time.time()))
        tables = reader.last_tables
    assert value(got, "phase/1/current") == pytest.approx(1.6)  # 26.6.3.1.5.1 = 16
    # 26.6.3.1.6.1 = -1, 26.6.3.1.7.1 = -1, 26.4.3.1.5.1 = -1: "not supported"
    assert got["phase/1/voltage"].status == "unknown"
    assert got["phase/1/power"].status == "unknown"
    assert got["inlet/power"].status == "unknown"
    assert value(got, "breaker/1/current") == pytest.approx(0.0)  # 26.8.3.1.5.1 = 0
    assert value(got, "breaker/2/current") == pytest.approx(1.1)  # 26.8.3.1.5.2 = 11
    # no temperature probe: rPDU2SensorTempHumidityTableSize 26.10.1.0 = 0, no row
    assert tables["PowerNet-MIB::rPDU2SensorTempHumidityStatusTempC"] == "absent"
    assert got["temperature"].status == "unknown"


@pytest.mark.parametrize(
    ("name", "phase", "banks", "power"),
    [
        # rPDULoadStatusLoad 12.2.3.1.1.2.{1,2,3}; row 1 PhaseNumber 1 BankNumber 0,
        # rows 2 and 3 BankNumber 1 and 2 (12.2.3.1.1.4/.5); rPDUIdentDevicePowerWatts
        ("apc-7902b", 1.6, (0.0, 1.1), 192.0),  # 16, 0, 11 tenths; 12.1.16.0 = 192
        ("apc-8641", 6.6, (4.0, 2.5), 1230.0),  # 66, 40, 25; 12.1.16.0 = 1230
        ("apc-8932", 1.4, (1.3, 0.0), 160.0),  # 14, 13, 0; 12.1.16.0 = 160
    ],
)
async def test_rpdu_load_table_splits_phases_and_banks(
    rack: SimulatedRack, name: str, phase: float, banks: tuple[float, float], power: float
) -> None:
    async with client(rack, name) as snmp:
        reader = PduReader(name, snmp, "apc_rpdu")
        got = by_sensor(await reader.read(time.time()))
    assert value(got, "phase/1/current") == pytest.approx(phase)
    assert "phase/2/current" not in got
    assert "phase/0/current" not in got
    assert value(got, "breaker/1/current") == pytest.approx(banks[0])
    assert value(got, "breaker/2/current") == pytest.approx(banks[1])
    assert value(got, "inlet/current") == pytest.approx(phase)
    assert value(got, "inlet/power") == pytest.approx(power)
    on = {int(s.split("/")[1]) for s, r in got.items() if s.endswith("/state") and r.value == 1.0}
    assert on == EXPECTED[name].on


async def test_ap8641_rpdu_outlet_load(rack: SimulatedRack) -> None:
    async with client(rack, "apc-8641") as snmp:
        got = by_sensor(await PduReader("apc-8641", snmp, "apc_rpdu").read(time.time()))
    # rPDUOutletStatusLoad 12.3.5.1.1.7.{1,2,3} = 8, 7, 4 tenths of A (Gauge32)
    assert value(got, "outlet/1/current") == pytest.approx(0.8)
    assert value(got, "outlet/2/current") == pytest.approx(0.7)
    assert value(got, "outlet/3/current") == pytest.approx(0.4)
