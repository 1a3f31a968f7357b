"""Every PDU family over real UDP: walks, outlet switching with its pending delay, typed
SET errors, stuck outlets, forced sensors and the SET log."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agent.sim.snmp import PduSpec, SimulatedRack

from .conftest import snmp, wait_for_value

pytestmark = pytest.mark.asyncio(loop_scope="module")

# family: (control OID prefix, value to switch on, type, state OID prefix, state when on)
FAMILIES = {
    "apc_rpdu2": (
        "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.",
        "1",
        "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.",
        "INTEGER: 2",
    ),
    "raritan_pdu2": (
        "1.3.6.1.4.1.13742.6.4.1.2.1.2.1.",
        "1",
        "1.3.6.1.4.1.13742.6.4.1.2.1.3.1.",
        "INTEGER: 7",
    ),
    "eaton_epdu": (
        "1.3.6.1.4.1.534.6.6.7.6.6.1.4.0.",
        "0",
        "1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.",
        "INTEGER: 1",
    ),
}
APC_TEMP_C = "1.3.6.1.4.1.318.1.1.26.10.2.2.1.8.1"  # rPDU2SensorTempHumidityStatusTempC
APC_OUTLET_POWER = "1.3.6.1.4.1.318.1.1.26.9.4.3.1.7."  # rPDU2OutletMeteredStatusPower


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[SimulatedRack]:
    specs = [
        PduSpec(
            f"pdu-{family}",
            family,
            outlets=8,
            loads_w={2: 460.0, 3: 230.0},
            command_delay_s=0.2,
            ramp_s=0.0,
        )
        for family in FAMILIES
    ]
    async with SimulatedRack(specs) as r:
        yield r


@pytest.mark.parametrize("family", FAMILIES)
async def test_walk_answers_with_identity(rack: SimulatedRack, family: str) -> None:
    endpoint = rack.endpoint(f"pdu-{family}")
    walk = await snmp("snmpwalk", endpoint, "1.3.6.1")
    bulk = await snmp("snmpbulkwalk", endpoint, "1.3.6.1")
    assert walk.rc == 0, walk.err
    assert bulk.rc == 0, bulk.err
    # Same objects both ways (values may differ: sysUpTime moves between the walks).
    assert walk.values().keys() == bulk.values().keys()
    assert len(walk.values()) > 50
    assert "SIM00000001" in walk.out  # the serial, in the vendor's own object
    got = await snmp("snmpget", endpoint, "1.3.6.1.2.1.1.2.0")
    assert got.rc == 0


@pytest.mark.parametrize("family", FAMILIES)
async def test_set_switches_outlet_after_pending_delay(rack: SimulatedRack, family: str) -> None:
    control, on_value, state, on_state = FAMILIES[family]
    endpoint = rack.endpoint(f"pdu-{family}")
    device_id = f"pdu-{family}"
    assert not rack.outlet_powered(device_id, 2)
    reply = await snmp("snmpset", endpoint, control + "2", "i", on_value)
    assert reply.rc == 0, reply.err
    assert await wait_for_value(endpoint, state + "2", on_state) == on_state
    assert rack.outlet_powered(device_id, 2)
    power = [e for e in rack.set_log.entries(device_id, "power") if e.oid == "outlet.2"]
    assert [e.value for e in power] == [True]
    sets = rack.set_log.entries(device_id, "set")
    assert sets[-1].oid == control + "2"
    assert power[0].t >= sets[-1].t


async def test_apc_state_is_old_while_command_pending(rack: SimulatedRack) -> None:
    endpoint = rack.endpoint("pdu-apc_rpdu2")
    pdu = rack.pdu("pdu-apc_rpdu2")
    pdu.command_delay_s = 30.0  # a long pending window for this test
    try:
        assert (
            await snmp("snmpset", endpoint, "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.5", "i", "1")
        ).rc == 0
        got = (
            await snmp(
                "snmpget",
                endpoint,
                "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.5",
                "1.3.6.1.4.1.318.1.1.26.9.2.3.1.6.5",
            )
        ).values()
        assert got["1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.5"] == "INTEGER: 1"  # still off(1)
        assert got["1.3.6.1.4.1.318.1.1.26.9.2.3.1.6.5"] == "INTEGER: 1"  # commandPending(1)
    finally:
        pdu.command_delay_s = 0.2
        pdu.cancel(5)


async def test_eaton_reports_pending_on(rack: SimulatedRack) -> None:
    endpoint = rack.endpoint("pdu-eaton_epdu")
    assert (await snmp("snmpset", endpoint, "1.3.6.1.4.1.534.6.6.7.6.6.1.4.0.6", "i", "60")).rc == 0
    got = (await snmp("snmpget", endpoint, "1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.6")).values()
    assert got["1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.6"] == "INTEGER: 3"  # pendingOn(3)
    assert (await snmp("snmpset", endpoint, "1.3.6.1.4.1.534.6.6.7.6.6.1.4.0.6", "i", "-1")).rc == 0
    got = (await snmp("snmpget", endpoint, "1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.6")).values()
    assert got["1.3.6.1.4.1.534.6.6.7.6.6.1.2.0.6"] == "INTEGER: 0"  # off(0) again


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.1", "s", "on"), "wrongType"),
        (("1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.1", "i", "4"), "wrongValue"),
        (("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1", "i", "2"), "notWritable"),
        (("1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.99", "i", "1"), "noCreation"),
    ],
)
async def test_bad_set_gets_error_status(
    rack: SimulatedRack, args: tuple[str, ...], status: str
) -> None:
    reply = await snmp("snmpset", rack.endpoint("pdu-apc_rpdu2"), *args)
    assert reply.rc != 0
    assert f"Reason: {status}" in reply.out + reply.err


async def test_stuck_outlet_accepts_set_and_never_switches(rack: SimulatedRack) -> None:
    pdu = rack.pdu("pdu-raritan_pdu2")
    endpoint = rack.endpoint("pdu-raritan_pdu2")
    pdu.stick(4)
    try:
        reply = await snmp("snmpset", endpoint, "1.3.6.1.4.1.13742.6.4.1.2.1.2.1.4", "i", "1")
        assert reply.rc == 0, reply.err
        pdu.clock = lambda: time.monotonic() + 3600  # an hour on: any pending effect is due
        got = (await snmp("snmpget", endpoint, "1.3.6.1.4.1.13742.6.4.1.2.1.3.1.4")).values()
        assert got["1.3.6.1.4.1.13742.6.4.1.2.1.3.1.4"] == "INTEGER: 8"  # off(8)
    finally:
        pdu.unstick(4)
        pdu.clock = time.monotonic


async def test_forced_temperature_and_outlet_load(rack: SimulatedRack) -> None:
    endpoint = rack.endpoint("pdu-apc_rpdu2")
    pdu = rack.pdu("pdu-apc_rpdu2")
    pdu.force_sensor("temperature", 47.5)
    try:
        got = (
            await snmp("snmpget", endpoint, APC_TEMP_C, "1.3.6.1.4.1.318.1.1.26.10.2.2.1.9.1")
        ).values()
        assert got[APC_TEMP_C] == "INTEGER: 475"
        assert got["1.3.6.1.4.1.318.1.1.26.10.2.2.1.9.1"] == "INTEGER: 6"  # aboveMax(6)
    finally:
        pdu.release_sensor("temperature")
    await snmp("snmpset", endpoint, "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.3", "i", "1")
    assert await wait_for_value(endpoint, APC_OUTLET_POWER + "3", "INTEGER: 230") == "INTEGER: 230"
