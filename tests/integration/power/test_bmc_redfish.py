"""The Redfish BMC driver against the Redfish simulator over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from agent.adapters.redfish import RedfishClient, RedfishEndpoint
from agent.devices.bmc import BmcTiming
from agent.devices.bmc_redfish import RedfishBmc
from agent.errors import DeviceUnreachable, NegativeReply, ProtocolError, VerifyError
from agent.sim.redfish import RedfishBmcSim

FAST = BmcTiming(verify_timeout_s=5.0, poll_interval_s=0.02, retries=2, backoff_s=0.01)


@dataclass
class Outlet:
    on: bool = True

    def powered(self) -> bool:
        return self.on


@dataclass
class Rig:
    sim: RedfishBmcSim
    bmc: RedfishBmc
    outlet: Outlet

    def resets(self) -> list[str]:
        return [r.reset_type for r in self.sim.resets]


def endpoint(sim: RedfishBmcSim, password: str = "password") -> RedfishEndpoint:
    return RedfishEndpoint(
        device="srv-1", base_url=sim.base_url, username="admin", password=password, timeout_s=2.0
    )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    outlet = Outlet()
    async with (
        RedfishBmcSim(outlet_powered=outlet.powered, boot_delay_s=0.2) as sim,
        RedfishClient(endpoint(sim)) as client,
    ):
        yield Rig(sim, RedfishBmc(client, FAST), outlet)


async def test_power_cycle_is_verified_and_idempotent(rig: Rig) -> None:
    assert await rig.bmc.power_state() == "off"
    await rig.bmc.power_on()
    assert rig.sim.is_host_on()
    await rig.bmc.power_on()  # already on: nothing sent
    await rig.bmc.force_off()
    assert not rig.sim.is_host_on()
    await rig.bmc.force_off()  # already off: nothing sent
    await rig.bmc.power_on()
    assert await rig.bmc.power_state() == "on"
    assert rig.resets() == ["On", "ForceOff", "On"]
    times = [r.at for r in rig.sim.resets]
    assert times == sorted(times)


async def test_force_restart_keeps_the_server_on(rig: Rig) -> None:
    await rig.bmc.force_restart()  # off: a restart powers it on
    await rig.bmc.force_restart()
    assert rig.resets() == ["On", "ForceRestart"]
    assert await rig.bmc.power_state() == "on"


async def test_graceful_shutdown_completes(rig: Rig) -> None:
    await rig.bmc.power_on()
    assert await rig.bmc.shutdown(graceful_timeout_s=3.0) == "graceful"
    assert rig.resets() == ["On", "GracefulShutdown"]
    assert await rig.bmc.shutdown(graceful_timeout_s=3.0) == "already_off"
    assert rig.resets() == ["On", "GracefulShutdown"]


async def test_hung_graceful_shutdown_falls_back_to_force_off(rig: Rig) -> None:
    await rig.bmc.power_on()
    rig.sim.graceful_hangs = True
    with pytest.raises(VerifyError, match="graceful_shutdown was sent"):
        await rig.bmc.graceful_shutdown(timeout_s=0.3)
    assert rig.sim.is_host_on()
    assert await rig.bmc.shutdown(graceful_timeout_s=0.3) == "forced"
    assert not rig.sim.is_host_on()
    assert rig.resets() == ["On", "GracefulShutdown", "GracefulShutdown", "ForceOff"]


async def test_wrong_password_is_a_negative_reply_not_retried(rig: Rig) -> None:
    async with RedfishClient(endpoint(rig.sim, password="nope")) as client:
        bmc = RedfishBmc(client, FAST)
        with pytest.raises(NegativeReply, match="HTTP 401") as info:
            await bmc.power_on()
        assert info.value.status == "401"
        with pytest.raises(NegativeReply, match="user name and password"):
            await bmc.wait_until_answering(timeout_s=2.0)
    assert rig.resets() == []


async def test_outlet_off_then_on_waits_for_the_bmc_to_boot(rig: Rig) -> None:
    await rig.bmc.power_on()
    rig.outlet.on = False
    async with asyncio.timeout(5.0):  # the simulator polls its outlet every 20 ms
        await rig.sim.wait_answering(False)
    with pytest.raises(DeviceUnreachable, match=r"srv-1: GET .*ConnectError"):
        await rig.bmc.power_state()
    with pytest.raises(DeviceUnreachable, match=r"did not answer within 0\.2 s"):
        await rig.bmc.wait_until_answering(timeout_s=0.2)
    assert rig.sim.power_draw_w() == 0.0
    rig.outlet.on = True
    assert not rig.sim.is_answering()  # booting takes boot_delay_s
    await rig.bmc.wait_until_answering(timeout_s=5.0)
    assert rig.sim.is_answering()
    assert await rig.bmc.power_state() == "off"  # the host lost power with the outlet
    await rig.bmc.power_on()
    assert rig.sim.power_draw_w() == rig.sim.running_draw_w


async def test_garbage_reply_is_a_protocol_error_not_retried(rig: Rig) -> None:
    await rig.bmc.power_state()  # discovery done, the next request reads the system
    rig.sim.inject_malformed(count=1)
    with pytest.raises(ProtocolError, match="not JSON"):
        await rig.bmc.power_state()
    assert await rig.bmc.power_state() == "off"


async def test_busy_bmc_is_retried(rig: Rig) -> None:
    rig.sim.inject_http_error(503, count=2)
    await rig.bmc.power_on()
    assert rig.resets() == ["On"]
    rig.sim.inject_http_error(503, count=FAST.retries + 1)
    with pytest.raises(NegativeReply, match="HTTP 503") as info:
        await rig.bmc.power_state()
    assert info.value.status == "503"


async def test_sensors_follow_host_power_and_fault_injection(rig: Rig) -> None:
    off = {r.sensor_id: r for r in await rig.bmc.read_sensors()}
    assert off["temperature/CPU1 Temp"].value is None
    assert off["temperature/Inlet Temp"].value == 22.0
    assert off["power/System Power Control"].value == rig.sim.standby_draw_w
    await rig.bmc.power_on()
    rig.sim.set_temperature("CPU1 Temp", 97.5)
    on = {r.sensor_id: r for r in await rig.bmc.read_sensors()}
    cpu = on["temperature/CPU1 Temp"]
    assert (cpu.kind, cpu.unit, cpu.value) == ("temperature", "Cel", 97.5)
    fan = on["fan/Fan1"]
    assert (fan.kind, fan.unit, fan.value) == ("fan", "RPM", 5400.0)
    watts = on["power/System Power Control"]
    assert (watts.kind, watts.unit, watts.value) == ("power", "W", rig.sim.running_draw_w)


async def test_identity(rig: Rig) -> None:
    ident = await rig.bmc.read_identity()
    expected = rig.sim.identity
    assert ident.model == expected.model
    assert ident.serial_number == expected.serial_number
    assert ident.bmc_firmware == expected.firmware_version
    assert ident.bios_version == expected.bios_version


async def test_unknown_system_id_names_the_members(rig: Rig) -> None:
    async with RedfishClient(endpoint(rig.sim)) as client:
        bmc = RedfishBmc(client, FAST, system_id="System.Embedded.1")
        with pytest.raises(ProtocolError, match=r"/redfish/v1/Systems/1"):
            await bmc.power_state()
