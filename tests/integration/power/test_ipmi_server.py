"""A server with an IPMI BMC (OpenIPMI's ipmi_sim over real UDP) in the simulated demo
rack: the power part powers it through IPMI after its outlets, and down gracefully; the
health watch reads its sensors. The same config paths as a rack of older servers."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.bus import Bus
from agent.conf import RackConfig, load_config
from agent.health.watch import HealthWatch
from agent.sim.compose import SimRack
from agent.sim.ipmi import IpmiSim
from tests.integration.power.demo_rack import fast_demo_path, manager, outlet_sets, quicken

HV3_BMC = r'^(id = "hv-3"\n(?:.*\n)*?)bmc = \{ kind = "redfish"[^\n]*$'


@pytest.fixture
async def ipmi() -> AsyncIterator[IpmiSim]:
    if shutil.which("ipmi_sim") is None:
        pytest.skip("ipmi_sim is not installed: apt-get install openipmi")
    async with IpmiSim(graceful_shutdown_s=0.2) as sim:
        yield sim


def with_ipmi_hv3(tmp_path: Path, ipmi: IpmiSim) -> RackConfig:
    """The fast demo rack, hv-3's Redfish BMC replaced by the IPMI one."""
    bmc = (
        f'bmc = {{ kind = "ipmi", host = "{ipmi.host}", port = {ipmi.port}, '
        f'username = "{ipmi.username}", password = "{ipmi.password}", '
        'boot_timeout = "20s", graceful_timeout = "5s" }'
    )
    # ipmi_sim's first RMCP+ session often needs pyghmi's retransmissions (0.5-1 s each):
    # more than the demo's 1 s health timeout on a loaded machine.
    health_timeout = r'^(\[health\]\ninterval = "2s"\ntimeout = )"1s"'
    path = fast_demo_path(
        tmp_path,
        inrush="50ms",
        settle="100ms",
        replace={HV3_BMC: rf"\g<1>{bmc}", health_timeout: r'\g<1>"15s"'},
    )
    config = load_config(path)
    hv3 = next(s for s in config.server if s.id == "hv-3")
    assert hv3.bmc is not None
    assert hv3.bmc.kind == "ipmi"
    assert 'kind = "redfish"' in path.read_text()  # the other servers stay Redfish
    return config


async def test_an_ipmi_server_is_powered_after_its_outlets_and_down_gracefully(
    tmp_path: Path, ipmi: IpmiSim
) -> None:
    config = with_ipmi_hv3(tmp_path, ipmi)
    async with SimRack(config) as rack:
        quicken(rack)
        assert "hv-3" not in rack.bmcs  # the simulated rack serves Redfish BMCs only
        bus = Bus()
        events = bus.subscribe()
        async with manager(config, bus) as power:
            up = await power.power_up()
            assert up.ok, up.errors()
            assert ipmi.is_host_on()
            assert [(a.parameter, a.value) for a in ipmi.actions()] == [("power", "1")]
            assert {(pdu, n) for _, pdu, n in outlet_sets(rack)} >= {("pdu-a", 5), ("pdu-b", 5)}
            # hv-3's two outlets were switched on (and audited) before IPMI powered it.
            audit = []
            while (event := events.get_nowait()) is not None:
                if event.data.get("device") == "hv-3" and event.kind.startswith("power."):
                    audit.append((event.kind, event.data.get("action", ""), event.data["result"]))
            assert audit[:2] == [("power.outlet", "on", "switched")] * 2
            assert audit[2][:2] == ("power.bmc", "on"), audit
            assert await power.device_power("hv-3") is True

            down = await power.power_down("test: end of the drill")
            assert down.ok, down.errors()
            assert not ipmi.is_host_on()
            assert ("shutdown", "1") in [(a.parameter, a.value) for a in ipmi.actions()]
            assert ("power", "0") not in [(a.parameter, a.value) for a in ipmi.actions()]


async def test_the_health_watch_reads_an_ipmi_bmc(tmp_path: Path, ipmi: IpmiSim) -> None:
    config = with_ipmi_hv3(tmp_path, ipmi)
    async with SimRack(config) as rack, HealthWatch(config, Bus()) as watch:
        quicken(rack)
        poller = watch.pollers["hv-3"]
        assert await poller.poll_once(), poller.last_error
        readings = {(r.kind, r.sensor): r.value for r in watch.last["hv-3"]}
    assert readings == {
        ("temperature", "temperature/CPU Temp"): 48.0,
        ("temperature", "temperature/Inlet Temp"): 23.0,
        ("host_power", "host/power"): 0.0,  # the host is off: nothing powered it
    }
