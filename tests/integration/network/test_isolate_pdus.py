"""Emergency isolation is cheap on the wire: the SET PDUs the simulated switch receives
(counted by the simulator, not by the driver) are at most 1.5x the minimum the diff
needs (`qbridge_stages.lower_bound`), from the factory state and from a restored rack."""

from __future__ import annotations

from agent.devices.switch.driver import make_diff
from agent.devices.switch.qbridge import QBridgeDriver
from agent.devices.switch.qbridge_stages import lower_bound
from agent.network.manager import NetworkManager
from agent.network.plan import Layout, plan
from agent.targets import switch_target

from .conftest import Lab
from .test_net_qbridge_sim import assert_quarantined

MAX_RATIO = 1.5


async def _minimum(lab: Lab) -> int:
    """The least SET PDUs any write order needs, from a separate read of the switch."""
    switch = lab.config.switch[0]
    async with QBridgeDriver(switch, switch_target(lab.config, switch)) as driver:
        before = await driver.read()
    want = plan(lab.config, Layout("quarantine"))["tor-1"]
    return lower_bound(make_diff(want, before))[0]


async def test_isolating_a_factory_switch_sends_at_most_1_5x_the_minimum_pdus(
    lab: Lab, net: NetworkManager
) -> None:
    minimum = await _minimum(lab)
    assert minimum == 3  # create, then PVID and membership, then untagged joins
    sent = lab.switch.set_pdus
    report = await net.isolate_now("test button")
    assert report.verified, report.problems()
    assert_quarantined(lab.switch.port_states())
    pdus = lab.switch.set_pdus - sent
    assert pdus <= MAX_RATIO * minimum, f"{pdus} SET PDUs for a minimum of {minimum}"


async def test_isolating_a_restored_rack_sends_at_most_1_5x_the_minimum_pdus(
    lab: Lab, net: NetworkManager
) -> None:
    assert (await net.enter_phase("quarantine")).verified
    assert (await net.enter_phase("restore")).verified
    minimum = await _minimum(lab)
    assert minimum == 2  # PVID and membership, then untagged joins
    sent = lab.switch.set_pdus
    report = await net.isolate_now("test button")
    assert report.verified, report.problems()
    assert_quarantined(lab.switch.port_states())
    pdus = lab.switch.set_pdus - sent
    assert pdus <= MAX_RATIO * minimum, f"{pdus} SET PDUs for a minimum of {minimum}"


async def test_the_manager_prepares_the_write_path_without_writing(lab: Lab) -> None:
    from agent.adapters.snmp_write import _ENGINES  # noqa: PLC0415 - the adapter's own count

    async with NetworkManager(lab.config, lab.bus, reconcile=False) as manager:
        await manager.ready()
        assert _ENGINES.in_use() == 1  # the SET library is loaded, its engine made
        assert manager.drivers["tor-1"].requests == 1  # one GET through it
        assert lab.switch.set_pdus == 0
        assert not lab.rack.set_log.entries("tor-1", "set")


async def test_a_silent_switch_does_not_keep_the_manager_from_opening(lab: Lab) -> None:
    lab.switch.faults.silent = True
    async with NetworkManager(lab.config, lab.bus, reconcile=False) as manager:
        await manager.ready()  # the prepared path timed out and was only logged
        lab.switch.faults.silent = False
        report = await manager.isolate_now("test button")
        assert report.verified, report.problems()
