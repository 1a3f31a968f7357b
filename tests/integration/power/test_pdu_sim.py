"""Our PDU driver, auto-detection and verified actions against the independent SNMP
device simulators of agent/sim/snmp (pysnmp over real UDP).

The simulators are written from the vendors' MIBs without reading our OID tables, so a
wrong OID or value mapping in agent/devices/pdu fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agent.adapters.snmp import MISSING, SnmpClient, SnmpTarget
from agent.devices.detect import detect, resolve_driver
from agent.devices.pdu import FAMILIES, OutletState
from agent.errors import NegativeReply, PolicyRefusal
from agent.health.readers.pdu import PduReader
from agent.power.actions import ActionPolicy, reboot_outlet, switch_outlet
from agent.sim import snmp as sim
from agent.sim.snmp.values import parse_oid

pytestmark = pytest.mark.asyncio(loop_scope="module")

# simulator family name -> our family key that auto-detection must pick
SIMULATED = {
    "apc_rpdu2": "apc_rpdu2",
    "raritan_pdu2": "raritan_pdu2",
    "eaton_epdu": "eaton_epdu",
}
FAST = ActionPolicy(verify_timeout=5.0, attempts=2, backoff=0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[sim.SimulatedRack]:
    specs = [
        sim.PduSpec(
            f"pdu-{family}",
            family,
            outlets=8,
            loads_w={2: 460.0, 3: 230.0},
            initial={3: True},
            command_delay_s=0.2,
            reboot_s=0.3,
            ramp_s=0.0,
        )
        for family in SIMULATED
    ]
    async with sim.SimulatedRack(specs) as r:
        yield r


def target(rack: sim.SimulatedRack, family: str) -> SnmpTarget:
    host, port = rack.endpoint(f"pdu-{family}")
    return SnmpTarget(f"pdu-{family}", host, port, timeout=1.0, retries=1, backoff=0.05)


def families() -> list[str]:
    return list(SIMULATED)


@pytest.mark.parametrize("family", families())
async def test_auto_detection_picks_the_family(rack: sim.SimulatedRack, family: str) -> None:
    async with SnmpClient(target(rack, family)) as snmp:
        detection = await detect(snmp)
        # A few GETs for every family's sentinels: absent ones are not asked one by one.
        assert snmp.stats.requests <= 4, snmp.stats
    assert detection.family is not None, detection.describe()
    assert detection.family.key == SIMULATED[family]


@pytest.mark.parametrize("family", families())
async def test_the_simulator_answers_its_family_sentinels_and_no_other(
    rack: sim.SimulatedRack, family: str
) -> None:
    """What detection by sentinels relies on: every sentinel of the simulated family
    answers, and no other family's full sentinel set does."""
    async with SnmpClient(target(rack, family)) as snmp:
        matched = []
        for candidate in FAMILIES:
            oids = [s.oid for s in candidate.sentinels]
            values = await snmp.get(oids)
            if all(values[oid] is not MISSING for oid in oids):
                matched.append(candidate.key)
    assert matched == [SIMULATED[family]]


@pytest.mark.parametrize("family", families())
async def test_identity_outlets_and_inlet(rack: sim.SimulatedRack, family: str) -> None:
    async with SnmpClient(target(rack, family)) as snmp:
        driver = await resolve_driver(snmp, SIMULATED[family])
        identity = await driver.identify(snmp)
        outlets = await driver.read_outlets(snmp)
        inlet = await driver.read_inlet(snmp)
    assert identity.outlet_count == 8
    assert identity.serial == "SIM00000001"
    assert identity.model
    assert identity.firmware
    assert [o.number for o in outlets] == list(range(1, 9))
    assert outlets[2].state is OutletState.ON  # outlet 3 starts on
    assert outlets[0].state is OutletState.OFF
    assert inlet.current_a is not None
    assert inlet.current_a > 0  # 230 W behind outlet 3


@pytest.mark.parametrize("family", families())
async def test_switch_verify_and_idempotence(rack: sim.SimulatedRack, family: str) -> None:
    async with SnmpClient(target(rack, family)) as snmp:
        driver = await resolve_driver(snmp, SIMULATED[family])
        on = await switch_outlet(snmp, driver, 5, True, remote=False, policy=FAST)
        again = await switch_outlet(snmp, driver, 5, True, remote=False, policy=FAST)
        states = {o.number: o.state for o in await driver.read_outlets(snmp)}
        off = await switch_outlet(snmp, driver, 5, False, remote=False, policy=FAST)
        after_off = await driver.read_outlet(snmp, 5)
    assert (on.before, on.after, on.sent) == (OutletState.OFF, OutletState.ON, True)
    assert (again.before, again.after, again.sent) == (OutletState.ON, OutletState.ON, False)
    assert states[5] is OutletState.ON
    assert (off.after, off.sent) == (OutletState.OFF, True)
    assert after_off.state is OutletState.OFF


@pytest.mark.parametrize("family", families())
async def test_reboot_ends_on(rack: sim.SimulatedRack, family: str) -> None:
    async with SnmpClient(target(rack, family)) as snmp:
        driver = await resolve_driver(snmp, SIMULATED[family])
        await switch_outlet(snmp, driver, 6, True, remote=False, policy=FAST)
        result = await reboot_outlet(snmp, driver, 6, remote=False, policy=FAST)
    assert result.after is OutletState.ON


@pytest.mark.parametrize("family", families())
async def test_missing_outlet_and_protected_outlet(rack: sim.SimulatedRack, family: str) -> None:
    async with SnmpClient(target(rack, family)) as snmp:
        driver = await resolve_driver(snmp, SIMULATED[family])
        with pytest.raises(NegativeReply):
            await driver.read_outlet(snmp, 42)
        with pytest.raises(PolicyRefusal, match="protected"):
            await switch_outlet(
                snmp, driver, 1, True, remote=True, protected=frozenset({1}), policy=FAST
            )
        assert (await driver.read_outlet(snmp, 1)).state is OutletState.OFF


async def test_a_table_the_device_errors_on_is_unreadable_not_empty(
    rack: sim.SimulatedRack,
) -> None:
    """genErr on the first metered-outlet power row: the table is reported unreadable
    (with the adapter's reason, or, where a walk ends silently on the error, because
    rPDU2OutletMeteredTableSize counts eight rows and none came), never empty; the rest
    of the poll is read and other tables keep their own status."""
    outlet_power = "1.3.6.1.4.1.318.1.1.26.9.4.3.1.7"  # rPDU2OutletMeteredStatusPower
    faults = rack.device("pdu-apc_rpdu2").faults
    faults.fail_oid(parse_oid(f"{outlet_power}.1"), "genErr")
    try:
        async with SnmpClient(target(rack, "apc_rpdu2")) as snmp:
            reader = PduReader("pdu-apc_rpdu2", snmp, "apc_rpdu2")
            got = {r.sensor: r for r in await reader.read(0.0)}
    finally:
        faults.clear()
    status = reader.last_tables["PowerNet-MIB::rPDU2OutletMeteredStatusPower"]
    assert status.startswith("unreadable: "), status
    assert "1.3.6.1.4.1.318.1.1.26.9.4.3.1.7" in status or "says 8 rows" in status, status
    assert "outlet/1/power" not in got
    assert reader.last_tables["PowerNet-MIB::rPDU2PhaseStatusCurrent"] == "read"
    assert reader.last_tables["PowerNet-MIB::rPDU2OutletSwitchedStatusState"] == "read"
    assert got["phase/1/current"].status == "ok"
    assert got["outlet/3/state"].value == 1.0
