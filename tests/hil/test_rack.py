"""Hardware in the loop: the agent's own code against a whole rack.

By default the rack is the simulated demo rack. Given ``CLEANROOM_HIL_CONFIG`` (the path
of a real rack config), the same tests run against that hardware instead. They only read,
unless ``CLEANROOM_HIL_WRITES=1`` allows switching an unused outlet (the simulator always
allows it). Point writes only at a rack in a fenced drill VLAN.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agent.adapters.snmp import SnmpClient
from agent.conf import RackConfig, load_config
from agent.devices.detect import resolve_driver
from agent.devices.switch.drivers import drivers_for
from agent.health import selftest
from agent.power.actions import ActionPolicy, switch_outlet
from agent.sim.compose import SimRack
from agent.sim.testing import relocate
from agent.targets import pdu_target

ROOT = Path(__file__).resolve().parents[2]
REAL = os.environ.get("CLEANROOM_HIL_CONFIG", "")
WRITES = not REAL or os.environ.get("CLEANROOM_HIL_WRITES") == "1"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RackConfig]:
    if REAL:
        yield load_config(REAL)
        return
    path, _ = relocate(ROOT / "config" / "demo-rack.toml", tmp_path_factory.mktemp("hil"))
    config = load_config(path)
    async with SimRack(config):
        yield config


@pytest.mark.asyncio(loop_scope="module")
async def test_selftest_identifies_every_snmp_device(rack: RackConfig) -> None:
    report = await selftest.run(rack)
    checks = {c.device: c for c in report.devices}
    for section, _, device in rack.devices():
        if section == "server":
            continue  # BMCs may be unpowered at arrival; the lifecycle tests cover them
        check = checks[device.id]
        assert check.reachable, f"{device.id}: {check.error}"
        assert check.identity is not None
        if device.model:
            assert check.model_match is not False, f"{device.id}: {check.problems}"


@pytest.mark.asyncio(loop_scope="module")
async def test_every_switch_reads_back_all_its_ports(rack: RackConfig) -> None:
    for switch_id, driver in drivers_for(rack).items():
        switch = next(s for s in rack.switch if s.id == switch_id)
        async with driver:
            actual = await driver.read()
        assert set(actual.pvid) >= set(range(1, switch.port_count + 1))
        assert set(actual.admin_up) >= set(range(1, switch.port_count + 1))


@pytest.mark.asyncio(loop_scope="module")
async def test_every_pdu_reports_its_outlets(rack: RackConfig) -> None:
    for pdu in rack.pdu:
        async with SnmpClient(pdu_target(rack, pdu)) as client:
            driver = await resolve_driver(client, pdu.driver)
            outlets = await driver.read_outlets(client)
        assert len(outlets) == pdu.outlets, pdu.id


@pytest.mark.asyncio(loop_scope="module")
async def test_an_unused_outlet_switches_and_reads_back(rack: RackConfig) -> None:
    if not WRITES:
        pytest.skip("real rack: set CLEANROOM_HIL_WRITES=1 to allow switching an unused outlet")
    pdu = rack.pdu[0]
    used = {r.outlet for s in rack.server for r in s.power if r.pdu == pdu.id}
    used |= {r.outlet for s in rack.switch for r in s.power if r.pdu == pdu.id}
    used |= {r.outlet for r in rack.controller.power if r.pdu == pdu.id}
    free = next(n for n in range(1, pdu.outlets + 1) if n not in used)
    policy = ActionPolicy(verify_timeout=10.0, attempts=2, backoff=0.2)
    async with SnmpClient(pdu_target(rack, pdu)) as client:
        driver = await resolve_driver(client, pdu.driver)
        on = await switch_outlet(client, driver, free, True, remote=False, policy=policy)
        off = await switch_outlet(client, driver, free, False, remote=False, policy=policy)
    assert on.after.name == "ON"
    assert off.after.name == "OFF"
