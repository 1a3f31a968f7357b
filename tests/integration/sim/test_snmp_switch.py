"""The top-of-rack switch over real UDP: PVID, VLAN rows, admin status, observer, drift."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agent.sim.snmp import PortState, SimulatedRack, SwitchSpec

from .conftest import snmp

pytestmark = pytest.mark.asyncio(loop_scope="module")

PVID = "1.3.6.1.2.1.17.7.1.4.5.1.1."  # dot1qPvid.<bridge port>
STATIC = "1.3.6.1.2.1.17.7.1.4.3.1."  # dot1qVlanStaticEntry
BASE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2."  # dot1dBasePortIfIndex
ADMIN = "1.3.6.1.2.1.2.2.1.7."
OPER = "1.3.6.1.2.1.2.2.1.8."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[SimulatedRack]:
    spec = SwitchSpec("tor", ports=12, connected={1, 2, 3}, vlans={1: "default", 999: "quarantine"})
    async with SimulatedRack([spec]) as r:
        yield r


async def test_bridge_port_maps_to_distinct_ifindex(rack: SimulatedRack) -> None:
    got = (await snmp("snmpget", rack.endpoint("tor"), BASE_PORT_IFINDEX + "3")).values()
    assert got[BASE_PORT_IFINDEX + "3"] == "INTEGER: 1003"


async def test_pvid_set_changes_state_and_fires_observer(rack: SimulatedRack) -> None:
    seen: list[dict[int, PortState]] = []
    rack.switch("tor").on_vlan_change(seen.append)
    endpoint = rack.endpoint("tor")
    reply = await snmp("snmpset", endpoint, PVID + "5", "u", "999")
    assert reply.rc == 0, reply.err
    got = (await snmp("snmpget", endpoint, PVID + "5")).values()
    assert got[PVID + "5"] == "Gauge32: 999"
    assert seen
    assert seen[-1][5].pvid == 999
    assert seen[-1][5].if_index == 1005


async def test_pvid_to_missing_vlan_is_refused(rack: SimulatedRack) -> None:
    reply = await snmp("snmpset", rack.endpoint("tor"), PVID + "6", "u", "123")
    assert "Reason: inconsistentValue" in reply.out + reply.err
    assert rack.switch("tor").pvid[6] == 1


async def test_vlan_row_create_set_ports_and_destroy(rack: SimulatedRack) -> None:
    endpoint = rack.endpoint("tor")
    assert (await snmp("snmpset", endpoint, STATIC + "5.200", "i", "4")).rc == 0  # createAndGo
    # ports 1 and 9 -> 0x80 0x80 (bit 1 = MSB of the first octet)
    reply = await snmp(
        "snmpset", endpoint, STATIC + "2.200", "x", "8080", STATIC + "1.200", "s", "restore"
    )
    assert reply.rc == 0, reply.err
    assert (await snmp("snmpset", endpoint, STATIC + "4.200", "x", "8000")).rc == 0
    walk = (await snmp("snmpwalk", endpoint, "1.3.6.1.2.1.17.7.1.4.2.1.4")).values()
    assert walk["1.3.6.1.2.1.17.7.1.4.2.1.4.0.200"] == "Hex-STRING: 80 80 "
    assert rack.switch("tor").port_states()[9].tagged == frozenset({200})
    assert (await snmp("snmpset", endpoint, STATIC + "5.200", "i", "6")).rc == 0  # destroy
    got = (await snmp("snmpget", endpoint, STATIC + "5.200")).values()
    assert "No Such" in got[STATIC + "5.200"]
    again = await snmp("snmpset", endpoint, STATIC + "5.999", "i", "4")
    assert "Reason: inconsistentValue" in again.out + again.err  # already exists


async def test_admin_down_makes_oper_down(rack: SimulatedRack) -> None:
    endpoint = rack.endpoint("tor")
    before = (await snmp("snmpget", endpoint, OPER + "1002", OPER + "1007")).values()
    assert before[OPER + "1002"] == "INTEGER: 1"  # connected and up
    assert before[OPER + "1007"] == "INTEGER: 2"  # no cable
    assert (await snmp("snmpset", endpoint, ADMIN + "1002", "i", "2")).rc == 0
    after = (await snmp("snmpget", endpoint, OPER + "1002")).values()
    assert after[OPER + "1002"] == "INTEGER: 2"
    assert (await snmp("snmpset", endpoint, ADMIN + "1002", "i", "3")).rc != 0  # testing(3) refused


async def test_drift_behind_the_agents_back(rack: SimulatedRack) -> None:
    seen: list[dict[int, PortState]] = []
    sw = rack.switch("tor")
    sw.on_vlan_change(seen.append)
    sw.drift(pvid={10: 1}, vlan=1, egress=set(range(1, 13)), untagged=set(range(1, 13)))
    got = (await snmp("snmpget", rack.endpoint("tor"), STATIC + "4.1")).values()
    assert got[STATIC + "4.1"] == "Hex-STRING: FF F0 "
    assert seen
    assert not [e for e in rack.set_log.entries("tor", "set") if e.oid.startswith(STATIC + "4.1")]


async def test_fan_failure_and_temperature_sensor(rack: SimulatedRack) -> None:
    sw = rack.switch("tor")
    sw.fail_fan(2)
    sw.force_sensor("temperature", 71)
    got = (await snmp("snmpwalk", rack.endpoint("tor"), "1.3.6.1.2.1.99.1.1.1")).values()
    assert got["1.3.6.1.2.1.99.1.1.1.5.12"] == "INTEGER: 3"  # entPhySensorOperStatus nonoperational
    assert got["1.3.6.1.2.1.99.1.1.1.4.20"] == "INTEGER: 71"
    assert got["1.3.6.1.2.1.99.1.1.1.1.20"] == "INTEGER: 8"  # celsius
