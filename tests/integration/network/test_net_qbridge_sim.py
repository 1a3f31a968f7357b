"""The Q-BRIDGE driver and the network manager against the simulated switch over real
UDP: quarantine from a dirty switch, restore, emergency isolation, drift repaired by the
reconcile loop, a refused SET leaving the rack in quarantine with the ports named."""

from __future__ import annotations

import asyncio

import pytest

from agent.bus import Event
from agent.errors import PolicyRefusal, VerifyError
from agent.network.manager import NetworkManager
from agent.network.reconcile import reconcile_once
from agent.sim.snmp import PortState

from .conftest import Lab

Q, CLEAN, MGMT, UPLINK = 999, 20, 10, 100
SERVERS = (1, 2, 3, 4, 5)
ROW_STATUS = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 3, 1, 5)


def _vlans(state: PortState) -> set[int]:
    return set(state.untagged | state.tagged)


def assert_quarantined(states: dict[int, PortState]) -> None:
    for port in SERVERS:
        s = states[port]
        assert (s.pvid, set(s.untagged), set(s.tagged), s.admin_up) == (Q, {Q}, set(), True)
    assert states[23].pvid == MGMT
    assert _vlans(states[23]) == {MGMT}
    assert states[24].admin_up is False
    assert _vlans(states[24]) == {UPLINK}
    for port in range(6, 23):  # unlisted, drill and unused ports: parked and shut
        assert (states[port].pvid, _vlans(states[port]), states[port].admin_up) == (Q, {Q}, False)
    for state in states.values():
        assert 1 not in _vlans(state)
        assert state.pvid != 1


async def test_quarantine_from_a_dirty_switch_is_applied_and_read_back(
    lab: Lab, net: NetworkManager
) -> None:
    before = lab.switch.port_states()
    assert before[1].pvid == 1
    assert before[24].admin_up
    report = await net.enter_phase("quarantine")
    assert report.verified, report.problems()
    assert_quarantined(lab.switch.port_states())
    events = lab.drain()
    kinds = [e.kind for e in events]
    assert "network.applied" in kinds
    audit = [e for e in events if e.category == "audit" and e.kind == "network.apply"]
    assert audit
    assert any("port 24: admin is up, should be down" in c for c in audit[0].data["changes"])
    # Applying the same phase again writes nothing.
    sets = len(lab.rack.set_log.entries("tor-1", "set"))
    assert (await net.enter_phase("quarantine")).verified
    assert len(lab.rack.set_log.entries("tor-1", "set")) == sets


async def test_restore_then_emergency_isolation(lab: Lab, net: NetworkManager) -> None:
    await net.enter_phase("quarantine")
    report = await net.enter_phase("restore")
    assert report.verified, report.problems()
    states = lab.switch.port_states()
    for port in SERVERS:
        assert (states[port].pvid, set(states[port].untagged)) == (CLEAN, {CLEAN})
    assert set(states[23].tagged) == {CLEAN}
    assert states[24].admin_up is False
    isolated = await net.isolate_now("test button")
    assert isolated.verified, isolated.problems()
    assert_quarantined(lab.switch.port_states())
    assert net.layout.phase == "quarantine"


async def test_emergency_isolation_interrupts_a_phase_change_in_progress(
    lab: Lab, net: NetworkManager
) -> None:
    """The button works while a restore is half way through a slow switch: the restore's
    caller is told why it stopped, and the rack ends in proven quarantine."""
    await net.enter_phase("quarantine")
    lab.switch.faults.set_latency(0.2)  # every request to the switch now takes 200 ms
    restore = asyncio.create_task(net.enter_phase("restore"))
    await asyncio.sleep(0.3)  # reading or writing the switch by now
    assert not restore.done()
    lab.switch.faults.set_latency(0.0)
    isolated = await net.isolate_now("test: the hospital's network is hostile again")
    with pytest.raises(PolicyRefusal, match="interrupted by an emergency isolation"):
        await restore
    assert isolated.verified, isolated.problems()
    assert_quarantined(lab.switch.port_states())
    assert net.layout.phase == "quarantine"
    assert any(e.kind == "network.isolate" and e.category == "audit" for e in lab.drain())


async def test_a_held_isolation_refuses_other_phases_until_released(
    lab: Lab, net: NetworkManager
) -> None:
    await net.enter_phase("restore")
    isolated = await net.isolate_now("intrusion suspected", hold=True)
    assert isolated.verified, isolated.problems()
    with pytest.raises(PolicyRefusal, match=r"emergency isolation holds \(intrusion suspected\)"):
        await net.enter_phase("restore", ["hv-1"])
    assert not await reconcile_once(net)  # reconcile keeps quarantine: nothing drifted
    assert_quarantined(lab.switch.port_states())
    net.release()
    assert (await net.enter_phase("restore", ["hv-1"])).verified


async def test_verify_reads_back_without_writing_and_alarms_on_drift(
    lab: Lab, net: NetworkManager
) -> None:
    assert (await net.enter_phase("quarantine")).verified
    sets = len(lab.rack.set_log.entries("tor-1", "set"))
    assert (await net.verify()).verified
    lab.switch.drift(pvid={2: 1})  # someone at the switch's console
    report = await net.verify()
    assert not report.verified
    assert any("tor-1 port 2: pvid is 1" in p for p in report.problems())
    assert len(lab.rack.set_log.entries("tor-1", "set")) == sets  # verify never writes
    assert any(e.kind == "network.verify_failed" for e in lab.drain())


async def test_an_unreadable_switch_is_reported_once_and_its_return_once(
    lab: Lab, net: NetworkManager
) -> None:
    assert (await net.enter_phase("quarantine")).verified
    lab.drain()
    lab.switch.faults.silent = True
    assert await reconcile_once(net) == []  # nothing known to repair
    assert await reconcile_once(net) == []
    lab.switch.faults.silent = False
    assert await reconcile_once(net) == []
    kinds = [e.kind for e in lab.drain() if e.kind.startswith("network.read")]
    assert kinds == ["network.read_failed", "network.read_recovered"]
    assert not net.unreadable


async def test_one_device_moves_alone(lab: Lab, net: NetworkManager) -> None:
    await net.enter_phase("quarantine")
    assert (await net.enter_phase("restore", ["hv-2"])).verified
    states = lab.switch.port_states()
    assert states[2].pvid == CLEAN
    assert {states[p].pvid for p in (1, 3, 4, 5)} == {Q}


async def test_connected_needs_two_approvers_and_writes_nothing_without(
    lab: Lab, net: NetworkManager
) -> None:
    await net.enter_phase("quarantine")
    sets = len(lab.rack.set_log.entries("tor-1", "set"))
    with pytest.raises(PolicyRefusal, match="two different approvers"):
        await net.enter_phase("connected", approvals=["alice", "alice"])
    assert len(lab.rack.set_log.entries("tor-1", "set")) == sets
    report = await net.enter_phase("connected", approvals=["alice", "bob"])
    assert report.verified
    states = lab.switch.port_states()
    assert states[24].admin_up is True
    assert _vlans(states[24]) == {UPLINK}  # the clean VLAN is routed, never bridged
    assert set(states[23].tagged) == {CLEAN, UPLINK}


async def test_drift_is_alarmed_and_repaired_in_the_pass_that_sees_it(lab: Lab) -> None:
    from agent.network.manager import NetworkManager  # noqa: PLC0415

    async with NetworkManager(lab.config, lab.bus) as net:  # with the reconcile loop
        await net.enter_phase("quarantine")
        lab.drain()
        # Someone on the console puts hv-3's port back in VLAN 1 and brings the uplink up.
        lab.switch.drift(pvid={3: 1}, vlan=1, egress={3}, untagged={3})
        lab.switch.set_admin(24, True)
        seen: list[Event] = []
        async with asyncio.timeout(30):  # a hang guard only: the loop runs every 300 ms
            while not any(e.kind in ("network.repaired", "network.verify_failed") for e in seen):
                seen.append(await lab.events.get())
        drift = [e for e in seen if e.kind == "network.drift" and e.category == "event"]
        described = {e.data["description"] for e in drift}
        assert "tor-1 port 3: pvid is 1, should be 999" in described
        assert "tor-1 port 24: admin is up, should be down" in described
        assert {e.data["port"] for e in drift} == {3, 24}
        assert any(e.category == "audit" and e.kind == "network.drift" for e in seen)
        assert seen[-1].kind == "network.repaired", seen[-1]
        assert seen[-1].data["ports"] == [3, 24]
        assert_quarantined(lab.switch.port_states())


async def test_drift_only_alarmed_when_policy_says_alarm(lab: Lab) -> None:
    from .conftest import rack_config  # noqa: PLC0415

    config = rack_config(lab.rack.endpoint("tor-1")[1], drift="alarm")
    async with NetworkManager(config, lab.bus, reconcile=False) as net:
        await net.enter_phase("quarantine")
        lab.switch.drift(pvid={4: 1})
        changes = await reconcile_once(net)
        assert [c.describe() for c in changes] == ["tor-1 port 4: pvid is 1, should be 999"]
        assert lab.switch.port_states()[4].pvid == 1  # reported, not touched


async def test_refused_vlan_creation_leaves_the_rack_in_quarantine_naming_ports(
    lab: Lab, net: NetworkManager
) -> None:
    await net.enter_phase("quarantine")
    lab.drain()
    # The switch's VLAN table is full: creating the clean VLAN is refused.
    lab.switch.faults.fail_oid((*ROW_STATUS, CLEAN), "resourceUnavailable")
    with pytest.raises(VerifyError) as caught:
        await net.enter_phase("restore")
    message = str(caught.value)
    assert "resourceUnavailable" in message
    assert "dot1qVlanStaticRowStatus of VLAN 20" in message
    assert "[1, 2, 3, 4, 5, 23]" in message  # the ports that needed it
    assert_quarantined(lab.switch.port_states())
    assert net.layout.phase == "quarantine"
    alarms = [e for e in lab.drain() if e.kind == "network.verify_failed"]
    assert alarms
    assert alarms[0].data["severity"] == "critical"
    assert alarms[0].data["ports"] == [1, 2, 3, 4, 5, 23]


async def test_quarantine_that_cannot_be_built_shuts_the_ports(
    lab: Lab, net: NetworkManager
) -> None:
    # Dirty switch, and the quarantine VLAN cannot be created: the agent cannot move
    # anything, so it shuts every port but the controller's.
    lab.switch.faults.fail_oid((*ROW_STATUS, Q), "resourceUnavailable")
    report = await net.isolate_now("boot")
    assert not report.verified
    assert any("could not be quarantined and were shut" in p for p in report.problems())
    states = lab.switch.port_states()
    assert all(not states[p].admin_up for p in range(1, 25) if p != 23)
    assert states[23].admin_up
    # The uplink and the parked ports went down in the first PDU ('shut' stage), before
    # the refused creation; the fallback then shut the servers it could not move.
    shut = [e for e in lab.drain() if e.kind == "network.ports_shut"]
    assert [e.data["ports"] for e in shut] == [[1, 2, 3, 4, 5]]
