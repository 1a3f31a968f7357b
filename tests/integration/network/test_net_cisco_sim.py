"""The Cisco IOS driver against the simulated Catalyst over real UDP: read, a diff that
creates VLANs through the VTP edit buffer and moves access ports (vmVlan) and shuts
ports (ifAdminStatus), read back; Q-BRIDGE writes refused as a Catalyst refuses them;
a plan that needs a trunk refused before anything is written; and the network manager
putting the demo rack, its switch configured ``driver = "cisco-ios"``, in quarantine."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import tomli_w

from agent.adapters.snmp import Integer, SnmpClient, SnmpTarget
from agent.bus import Bus
from agent.conf import parse_config
from agent.conf.schema import Switch
from agent.devices.switch.cisco_ios import CiscoIosDriver
from agent.devices.switch.driver import make_diff
from agent.devices.switch.drivers import drivers_for
from agent.devices.switch.model import DesiredPort, DesiredSwitch, compare
from agent.devices.switch.survey import survey
from agent.errors import NegativeReply
from agent.network.manager import NetworkManager
from agent.sim.compose import build_specs
from agent.sim.snmp import CiscoSwitchModel, CiscoSwitchSpec, SimulatedRack

from .conftest import DEMO

TRUNK = 24  # native 1, VLANs 1 and 100 allowed
VM_VLAN = "1.3.6.1.4.1.9.9.68.1.2.2.1.2"
DOT1Q_PVID = "1.3.6.1.2.1.17.7.1.4.5.1.1"


def _spec(**extra: Any) -> CiscoSwitchSpec:
    vlans = {1: "default", 100: "uplink", 1002: "fddi-default", 1003: "trcrf-default"}
    return CiscoSwitchSpec(
        "cat-1",
        ports=24,
        connected={1, 2, 3, 23, 24},
        vlans=vlans,
        trunks={TRUNK: (1, frozenset({1, 100}))},
        **extra,
    )


def _switch(port_count: int = 24) -> Switch:
    return Switch(
        id="cat-1", host="127.0.0.1", credentials="sim", driver="cisco-ios", port_count=port_count
    )


def _port(n: int, vid: int, *, up: bool = True) -> DesiredPort:
    return DesiredPort(n, "server", "quarantine", vid, frozenset({vid}), frozenset(), up)


@pytest_asyncio.fixture
async def catalyst() -> AsyncIterator[tuple[CiscoSwitchModel, SnmpTarget]]:
    async with SimulatedRack([_spec()]) as rack:
        host, port = rack.endpoint("cat-1")
        device = rack.switch("cat-1")
        assert isinstance(device, CiscoSwitchModel)
        target = SnmpTarget(
            "cat-1", host, port=port, community="public", write_community="public", timeout=1.0
        )
        yield device, target


async def test_reads_access_ports_and_the_trunk(
    catalyst: tuple[CiscoSwitchModel, SnmpTarget],
) -> None:
    _, target = catalyst
    async with CiscoIosDriver(_switch(), target) as driver:
        actual = await driver.read()
    assert actual.vlans == {1, 100, 1002, 1003}
    assert actual.if_index[1] == 10101  # GigabitEthernet0/1, numbered without BRIDGE-MIB
    port1 = actual.port(1)
    assert (port1.pvid, set(port1.untagged), set(port1.tagged)) == (1, {1}, set())
    trunk = actual.port(TRUNK)
    assert (trunk.pvid, set(trunk.untagged), set(trunk.tagged)) == (1, {1}, {100})
    assert actual.oper_up[1] is True
    assert actual.oper_up[5] is False  # not cabled


async def test_applies_a_diff_and_reads_it_back(
    catalyst: tuple[CiscoSwitchModel, SnmpTarget],
) -> None:
    device, target = catalyst
    desired = DesiredSwitch(
        "cat-1",
        "quarantine",
        {1: _port(1, 999), 2: _port(2, 999), 3: _port(3, 10), 4: _port(4, 999, up=False)},
    )
    async with CiscoIosDriver(_switch(), target, apply_poll=0.05) as driver:
        before = await driver.read()
        diff = make_diff(desired, before)
        assert diff.create_vlans == {10, 999}
        await driver.apply(diff)
        after = await driver.read()
    assert compare(desired, after) == []
    assert {10, 999} <= after.vlans
    states = device.port_states()
    assert (states[1].pvid, set(states[1].untagged)) == (999, {999})
    assert (states[3].pvid, set(states[3].untagged)) == (10, {10})
    assert states[4].admin_up is False
    assert device.vlans[999].name == "VLAN0999"
    assert device.edit_buffer is None  # released after the apply
    written = [e.oid for e in device.set_log.entries("cat-1", "set")]
    assert any(w.startswith(VM_VLAN + ".10101") for w in written)


async def test_q_bridge_writes_are_refused_as_on_a_catalyst(
    catalyst: tuple[CiscoSwitchModel, SnmpTarget],
) -> None:
    _, target = catalyst
    async with SnmpClient(target) as client:
        with pytest.raises(NegativeReply) as refused:
            await client.set([(f"{DOT1Q_PVID}.1", Integer(100))])
    assert refused.value.status == "notWritable"


async def test_a_port_that_needs_a_trunk_is_refused_before_any_write(
    catalyst: tuple[CiscoSwitchModel, SnmpTarget],
) -> None:
    device, target = catalyst
    tagged = DesiredPort(
        2, "controller", "restore", 1, frozenset({1}), frozenset({100}), admin_up=False
    )
    desired = DesiredSwitch("cat-1", "restore", {1: _port(1, 100), 2: tagged})
    async with CiscoIosDriver(_switch(), target) as driver:
        diff = make_diff(desired, await driver.read())
        with pytest.raises(NegativeReply, match=r"port 2 .*switchport mode trunk"):
            await driver.apply(diff)
    assert device.set_log.entries("cat-1", "set") == []
    assert device.port_states()[1].pvid == 1


async def test_a_failed_vlan_apply_names_the_vlan_and_the_fix() -> None:
    """A VTPv3 secondary server copies and edits but cannot apply (notPrimaryServer)."""
    async with SimulatedRack([_spec(vtp_primary=False)]) as rack:
        host, port = rack.endpoint("cat-1")
        device = rack.switch("cat-1")
        assert isinstance(device, CiscoSwitchModel)
        target = SnmpTarget("cat-1", host, port=port, community="public", timeout=1.0)
        desired = DesiredSwitch("cat-1", "quarantine", {1: _port(1, 999)})
        async with CiscoIosDriver(_switch(), target, apply_poll=0.05) as driver:
            diff = make_diff(desired, await driver.read())
            with pytest.raises(
                NegativeReply, match=r"notPrimaryServer.*create VLAN 999 on the switch"
            ):
                await driver.apply(diff)
        assert 999 not in device.vlans
        assert device.edit_buffer is None  # released after the failure too
        assert device.port_states()[1].pvid == 1  # no port moved into a missing VLAN


async def test_survey_of_the_simulated_catalyst(
    catalyst: tuple[CiscoSwitchModel, SnmpTarget],
) -> None:
    _, target = catalyst
    async with SnmpClient(target) as client:
        found = await survey(client)
    assert (found.vendor, found.model, found.membership) == ("Cisco", "WS-C3560G-48TS-E", "cisco")
    assert found.port_count == 24
    assert found.ports[TRUNK - 1].trunk
    assert found.ports[TRUNK - 1].tagged == (100,)
    assert found.ports[0].name == "Gi0/1"


def _cisco_demo_toml(port: int) -> str:
    doc: dict[str, Any] = tomllib.loads(DEMO.read_text())
    doc["switch"][0]["snmp_port"] = port
    doc["switch"][0]["driver"] = "cisco-ios"
    doc["credentials"]["net-v2c"]["community"] = "public"
    doc["credentials"]["net-v2c"]["write_community"] = "public"
    doc["credentials"]["net-v2c"]["timeout"] = "500ms"
    doc["credentials"]["net-v2c"]["retries"] = 1
    doc["policy"] = {"drift": "repair", "reconcile_interval": "300ms"}
    return tomli_w.dumps(doc)


async def test_the_network_manager_quarantines_a_catalyst_rack() -> None:
    spec = CiscoSwitchSpec("tor-1", ports=24, connected={1, 2, 3, 4, 5, 23, 24})
    async with SimulatedRack([spec]) as rack:
        config = parse_config(_cisco_demo_toml(rack.endpoint("tor-1")[1]), path=DEMO)
        assert isinstance(drivers_for(config)["tor-1"], CiscoIosDriver)
        bus = Bus()
        async with NetworkManager(config, bus, reconcile=False) as net:
            report = await net.enter_phase("quarantine")
            assert report.verified, report.problems()
        states = rack.switch("tor-1").port_states()
    quarantine = config.vlans.quarantine
    for port in (1, 2, 3, 4, 5):
        assert (states[port].pvid, set(states[port].untagged)) == (quarantine, {quarantine})
    assert states[24].admin_up is False
    assert all(1 not in (s.untagged | s.tagged) for s in states.values())


def test_the_sim_rack_builds_a_catalyst_for_a_cisco_ios_switch() -> None:
    config = parse_config(_cisco_demo_toml(16161), path=DEMO)
    specs = [s for s in build_specs(config) if s.id == "tor-1"]
    assert len(specs) == 1
    assert isinstance(specs[0], CiscoSwitchSpec)
    assert specs[0].port == 16161
