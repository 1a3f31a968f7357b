"""The IPMI BMC driver (pyghmi) against OpenIPMI's ipmi_sim over real UDP on loopback."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from agent.adapters.ipmi import IpmiClient, IpmiEndpoint
from agent.devices.bmc import BmcTiming
from agent.devices.bmc_ipmi import IpmiBmc
from agent.errors import DeviceUnreachable, NegativeReply, VerifyError
from agent.sim.ipmi import IpmiSim

FAST = BmcTiming(verify_timeout_s=5.0, poll_interval_s=0.05, retries=1, backoff_s=0.01)


@dataclass
class Rig:
    sim: IpmiSim
    bmc: IpmiBmc

    def actions(self) -> list[tuple[str, str]]:
        return [(a.parameter, a.value) for a in self.sim.actions()]


def endpoint(sim: IpmiSim, password: str | None = None, port: int | None = None) -> IpmiEndpoint:
    return IpmiEndpoint(
        device="srv-ipmi",
        host=sim.host,
        port=port or sim.port,
        username=sim.username,
        password=password or sim.password,
    )


# One ipmi_sim for the module (see IpmiSim.reset), so the tests share one event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim() -> AsyncIterator[IpmiSim]:
    if shutil.which("ipmi_sim") is None:
        pytest.skip("ipmi_sim is not installed: apt-get install openipmi")
    async with IpmiSim(graceful_shutdown_s=0.2) as sim:
        yield sim


@pytest_asyncio.fixture(loop_scope="module")
async def rig(sim: IpmiSim) -> AsyncIterator[Rig]:
    sim.reset()
    async with IpmiClient(endpoint(sim)) as client:
        yield Rig(sim, IpmiBmc(client, FAST))


async def test_power_round_trip_is_verified_and_idempotent(rig: Rig) -> None:
    assert await rig.bmc.power_state() == "off"
    await rig.bmc.power_on()
    assert rig.sim.is_host_on()
    await rig.bmc.power_on()  # already on: nothing sent
    await rig.bmc.force_off()
    assert await rig.bmc.power_state() == "off"
    await rig.bmc.power_on()
    assert rig.actions() == [("power", "1"), ("power", "0"), ("power", "1")]
    times = [a.uptime_s for a in rig.sim.actions()]
    assert times == sorted(times)


async def test_force_restart_is_a_hard_reset(rig: Rig) -> None:
    await rig.bmc.force_restart()  # off: powered on instead
    await rig.bmc.force_restart()
    assert rig.actions() == [("power", "1"), ("reset", "1")]
    assert await rig.bmc.power_state() == "on"


async def test_graceful_shutdown_and_hang_fallback(rig: Rig) -> None:
    await rig.bmc.power_on()
    assert await rig.bmc.shutdown(graceful_timeout_s=3.0) == "graceful"
    await rig.bmc.power_on()
    rig.sim.graceful_hangs = True
    with pytest.raises(VerifyError, match="graceful_shutdown was sent"):
        await rig.bmc.graceful_shutdown(timeout_s=0.4)
    assert await rig.bmc.shutdown(graceful_timeout_s=0.4) == "forced"
    assert not rig.sim.is_host_on()
    assert rig.actions() == [
        ("power", "1"),
        ("shutdown", "1"),
        ("power", "1"),
        ("shutdown", "1"),
        ("shutdown", "1"),
        ("power", "0"),
    ]


async def test_wrong_password_is_refused(rig: Rig) -> None:
    async with IpmiClient(endpoint(rig.sim, password="wrong")) as client:
        with pytest.raises(NegativeReply, match="login refused") as info:
            await IpmiBmc(client, FAST).power_on()
    assert info.value.status == "auth"
    assert rig.actions() == []


async def test_sensors_and_identity(rig: Rig) -> None:
    readings = {r.sensor_id: r for r in await rig.bmc.read_sensors()}
    cpu = readings["temperature/CPU Temp"]
    assert (cpu.kind, cpu.unit, cpu.value) == ("temperature", "Cel", 48.0)
    assert readings["temperature/Inlet Temp"].value == 23.0
    ident = await rig.bmc.read_identity()
    assert ident.bmc_firmware == "2.15"  # mc_add major 0x02, minor 0x15 (BCD)
    assert ident.manufacturer == "IANA 4753"  # 0x1291


async def test_silent_port_is_unreachable(rig: Rig) -> None:
    # Nothing listens on the simulator's port + 1: pyghmi's login gives up (~5 s).
    silent = endpoint(rig.sim, port=rig.sim.port + 1)
    async with IpmiClient(silent) as client:
        bmc = IpmiBmc(client, BmcTiming(retries=0))
        with pytest.raises(DeviceUnreachable, match="srv-ipmi"):
            await bmc.power_state()
