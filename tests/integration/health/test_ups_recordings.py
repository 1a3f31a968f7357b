"""UPS families against recordings of real devices (snmpsim-data 1.0.1, BSD-2-Clause).

Each recording is served over UDP by our simulator and read by the UPS reader with the
family detected by its sentinels, as `cleanroom probe` does. Every expected value was
read by hand in the recording (the OID is cited next to it), never by running our code.

Recordings under UPS/ that are not UPSes, or that no family can read, are checked too:
detection must not take them for a UPS family.
"""

from __future__ import annotations

import bz2
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.devices.ups import detect_ups
from agent.health.readers.ups import UpsSummary, read_ups
from agent.health.sensors import Identity, Reading
from agent.sim.snmp import RecordingSpec, SimulatedRack

snmpsim_data = pytest.importorskip(
    "snmpsim_data", reason="the test dependency snmpsim-data==1.0.1 is not installed"
)
DATA = Path(snmpsim_data.__file__).parent / "data"

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


def _plain(source: Path, target: Path) -> Path:
    """``source`` as a plain snmprec file our replay reads: decompressed, and with the
    snmpsim notations it does not read rewritten as the same values (a ``writecache`` or
    ``numeric`` variation as its recorded value, a hex ``64x`` IpAddress as dotted
    quads, a non-UTF-8 ``4`` string as ``4x`` hex)."""
    raw = source.read_bytes()
    if source.suffix == ".bz2":
        raw = bz2.decompress(raw)
    out: list[bytes] = []
    for raw_line in raw.split(b"\n"):
        line = raw_line.removesuffix(b"\r")
        if not line or line.startswith(b"#"):
            continue
        oid, kind, value = line.split(b"|", 2)
        if b":" in kind:  # TYPE:module|key=value,...
            kind, _, module = kind.partition(b":")
            params = dict(p.partition(b"=")[::2] for p in value.split(b","))
            key = b"value" if module == b"writecache" else b"initial"
            value = params.get(key, params.get(b"min", b"0"))
        if kind == b"64x":
            kind, value = b"64", b".".join(str(b).encode() for b in bytes.fromhex(value.decode()))
        elif kind == b"4":
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                kind, value = b"4x", value.hex().encode()
        out.append(b"|".join((oid, kind, value)))
    target.write_bytes(b"\n".join(out) + b"\n")
    return target


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SimulatedRack]:
    tmp = tmp_path_factory.mktemp("snmprec")
    specs = [
        RecordingSpec(name, _plain(DATA / path, tmp / f"{name}.snmprec"))
        for name, path in (UPSES | NOT_A_UPS_FAMILY).items()
    ]
    async with SimulatedRack(specs) as served:
        yield served


def _client(rack: SimulatedRack, name: str) -> SnmpClient:
    host, port = rack.endpoint(name)
    return SnmpClient(SnmpTarget(name, host, port, timeout=2.0, retries=1))


async def _read(rack: SimulatedRack, name: str) -> tuple[Identity, dict[str, Reading], UpsSummary]:
    async with _client(rack, name) as client:
        ident, readings, summary = await read_ups(client, None, time.time())
    return ident, {r.sensor: r for r in readings}, summary


def _values(got: dict[str, Reading], sensors: list[str]) -> list[float | None]:
    return [got[s].value for s in sensors]


def _line(side: str, n: int, *quantities: str) -> list[str]:
    return [f"{side}/{n}/{q}" for q in quantities]


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_eaton_93e_reads_as_mge_with_xups_and_ups_mib_filling_in(
    rack: SimulatedRack,
) -> None:
    ident, got, summary = await _read(rack, "eaton-93e")
    # sysObjectID 1.3.6.1.4.1.705.1; MGE, XUPS and UPS-MIB sentinels all answer.
    assert ident.family == "eaton_mge"
    # upsmgIdentFamilyName 705.1.1.1.0 "93E HV" + upsmgIdentModelName 705.1.1.2.0 "80000";
    # xupsIdentManufacturer 534.1.1.1.0 "EATON"; upsmgIdentSerialNumber 705.1.1.7.0;
    # upsmgIdentFirmwareVersion 705.1.1.4.0.
    assert (ident.vendor, ident.model, ident.serial, ident.firmware) == (
        "EATON",
        "93E HV 80000",
        "4K234LXX06",
        "2.08.0011",
    )
    # upsmgBatteryLowBattery 705.1.5.14.0 = 2 and upsmgBatteryLowCondition .5.16.0 = 2
    # (no); upsmgOutputOnBattery 705.1.7.3.0 = 2 (no).
    assert summary == UpsSummary("normal", on_battery=False)
    assert got["battery/low"].value == 0.0
    assert got["source/on_battery"].value == 0.0
    assert got["battery/charge"].value == 100.0  # upsmgBatteryLevel 705.1.5.2.0
    assert got["battery/runtime"].value == 65535.0  # upsmgBatteryRemainingTime 705.1.5.1.0 (s)
    assert got["battery/voltage"].value == pytest.approx(521.0)  # upsmgBatteryVoltage 5210
    assert got["battery/temperature"].value == 25.0  # upsBatteryTemperature 33.1.2.7.0
    # upsmgInputPhaseNum 705.1.6.1.0 = 3; rows mginput*.N.0: voltage 2270/2270/2330,
    # frequency 500, current 21 (= xupsInputCurrent 534.1.3.4.1.3.N, whole A); power
    # from xupsInputWatts 534.1.3.4.1.4.N = 0.
    for n, volts in ((1, 227.0), (2, 227.0), (3, 233.0)):
        assert _values(got, _line("input", n, "voltage", "frequency", "current", "power")) == [
            pytest.approx(volts),
            pytest.approx(50.0),
            21.0,
            0.0,
        ]
    assert "input/4/voltage" not in got
    # upsmgOutputPhaseNum 705.1.7.1.0 = 3; mgoutputVoltage 2200, mgoutputFrequency 490,
    # mgoutputLoadPerPhase 21/16/12, mgoutputCurrent 270/180/150 (tenths of A);
    # power from xupsOutputWatts 534.1.4.4.1.4.N = 5100/3600/2700.
    for n, load, amps, watts in (
        (1, 21.0, 27.0, 5100.0),
        (2, 16.0, 18.0, 3600.0),
        (3, 12.0, 15.0, 2700.0),
    ):
        assert _values(
            got, _line("output", n, "voltage", "frequency", "load", "current", "power")
        ) == [
            pytest.approx(220.0),
            pytest.approx(49.0),
            load,
            pytest.approx(amps),
            watts,
        ]
    assert got["input/voltage"].value == pytest.approx(227.0)  # line 1
    assert got["input/frequency"].value == pytest.approx(50.0)  # xupsInputFrequency 500
    assert got["output/load"].value == 21.0  # xupsOutputLoad 534.1.4.1.0
    assert got["output/power"].value == 11400.0  # the lines' sum: no xupsOutputTotalWatts


async def test_eaton_9px_partial_has_no_ups_mib_and_pads_its_output_table(
    rack: SimulatedRack,
) -> None:
    ident, got, summary = await _read(rack, "eaton-9px")
    assert ident.family == "eaton_mge"  # sysObjectID 705.1; no UPS-MIB at all
    # 705.1.1.1.0 "Eaton 9PX" + 705.1.1.2.0 "2200i RT 3U"; no xupsIdentManufacturer.
    assert (ident.vendor, ident.model, ident.serial, ident.firmware) == (
        "Eaton",
        "Eaton 9PX 2200i RT 3U",
        "GX13G45099",
        "01.17.4945",
    )
    assert summary == UpsSummary("normal", on_battery=False)  # 705.1.5.14/16.0, 7.3.0 = 2
    assert got["battery/charge"].value == 100.0  # 705.1.5.2.0
    assert got["battery/runtime"].value == 17218.0  # 705.1.5.1.0 = xupsBatTimeRemaining
    assert got["battery/voltage"].value == pytest.approx(78.0)  # 705.1.5.5.0 = 780
    assert got["battery/temperature"].status == "unknown"  # published by no MIB here
    # upsmgInputPhaseNum 705.1.6.1.0 = 1: mginputVoltage.1.0 2430, mginputFrequency 500;
    # xupsInputCurrent 534.1.3.4.1.3.1 = 0, xupsInputWatts .4.1 = 0.
    assert _values(got, _line("input", 1, "voltage", "frequency", "current", "power")) == [
        pytest.approx(243.0),
        pytest.approx(50.0),
        0.0,
        0.0,
    ]
    # upsmgOutputPhaseNum 705.1.7.1.0 = 1 although rows 1..3 answer: line 1 only.
    # mgoutputVoltage 2310, frequency 500, load 9, current 0; xupsOutputWatts 50.
    assert _values(got, _line("output", 1, "voltage", "frequency", "load", "current", "power")) == [
        pytest.approx(231.0),
        pytest.approx(50.0),
        9.0,
        0.0,
        50.0,
    ]
    assert "output/2/voltage" not in got
    assert got["output/load"].value == 9.0  # xupsOutputLoad 534.1.4.1.0
    assert got["output/power"].value == 50.0


async def test_huawei_ups5000_publishes_ups_mib_in_its_own_units(rack: SimulatedRack) -> None:
    ident, got, summary = await _read(rack, "huawei-ups5000")
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
    ident, got, summary = await _read(rack, "santak-array")
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
    ident, got, summary = await _read(rack, "phoenixtec")
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
    ident, got, summary = await _read(rack, "east-ea9080")
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
    async with _client(rack, name) as client:
        assert await detect_ups(client) is None
