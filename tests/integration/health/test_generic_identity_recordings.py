"""Identity of devices of unknown family that publish no ENTITY-MIB chassis row: the
generic reader names them from their maker's identity objects (VENDOR_IDENTS), read
from recordings of real devices (snmpsim-data) served over UDP. Each expected value is
the recording's own line, cited."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.health.readers.generic import GenericReader
from agent.sim.snmp import RecordingSpec, SimulatedRack


def _recording(path: str) -> Path:
    try:
        root = importlib.resources.files("snmpsim_data")
    except ModuleNotFoundError:
        pytest.skip("snmpsim-data is not installed (pip install snmpsim-data==1.0.1)")
    return Path(str(root)) / "data" / path


@pytest.mark.parametrize(
    ("path", "want"),
    [
        # LIEBERT-GP-AGENT-MIB lgpAgentIdentModel/SerialNumber/FirmwareVersion
        # .476.1.42.2.1.{2,4,3}.0 (sysObjectID .476.1.42)
        (
            "UPS/vertiv-power.snmprec.bz2",
            ("IntelliSlot Web Card", "416791G106T2010SEP230036", "3.210.0"),
        ),
        # GEIST-BB-MIB productModelNumber/SerialNumber/Version .21239.5.1.1.{8,10,2}.0
        (
            "iot/geist-temperature-sensor.snmprec",
            ("WATCHDOG 15-P NPS (GBB15-P)", "TB19020610", "3.4.0"),
        ),
        # TRIPPLITE-PRODUCTS tlpDeviceModel .850.1.1.1.2.1.5.1 (no serial, firmware read)
        ("network/appliance/tripplite-poweralert.snmprec", ("PDUMH20ATNET", "", "")),
    ],
)
async def test_generic_identity_reads_the_makers_ident_objects(
    path: str, want: tuple[str, str, str]
) -> None:
    async with SimulatedRack([RecordingSpec("rec", _recording(path))]) as rack:
        host, port = rack.endpoint("rec")
        async with SnmpClient(SnmpTarget("rec", host, port=port, timeout=2.0)) as client:
            ident = await GenericReader("rec", client).identify()
    assert (ident.model, ident.serial, ident.firmware) == want
