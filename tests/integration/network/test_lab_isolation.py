"""Isolation proven by traffic: the network manager drives a real VLAN-filtering Linux
bridge through the Linux-bridge driver, hosts in namespaces ping each other, and the
controller's own interfaces follow the phases.

Marked ``kernel_lab``: bridge VLAN filtering and 802.1Q devices are missing from the
development kernel, so tests/kernel_lab runs these inside one VM boot with Debian's
kernel. Pings go between the lab's own namespaces only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os

import pytest

from agent.adapters.netlink import BridgeVlan, Netlink
from agent.bus import Bus
from agent.devices.switch import linuxbridge_sysfs as sysfs
from agent.devices.switch.linuxbridge import LinuxBridgeDriver
from agent.devices.switch.model import Phase
from agent.errors import ProtocolError, VerifyError
from agent.network.host import apply_host
from agent.network.manager import NetworkManager
from agent.network.probe import TrafficProbe, host_ports
from agent.sim.lab import HOSPITAL, NetworkLab

from .test_linuxbridge import bridge_rack

pytestmark = [pytest.mark.kernel_lab, pytest.mark.root]

Q, CLEAN, MGMT, UPLINK = 999, 20, 10, 100
WAIT = 2  # ping wait: a starved emulated VM must not turn a late answer into isolation
SERVERS = ("hv-1", "hv-2")


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("bridges, namespaces and VLAN devices need root")


def _pairs(*hosts: str) -> list[tuple[str, str]]:
    return [(a, b) for a in hosts for b in hosts if a != b]


async def _ip(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "ip", *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(30):
        out, _ = await proc.communicate()
    assert proc.returncode == 0, f"ip {' '.join(argv)}: {out.decode(errors='replace')}"


async def _bypass_cable(lab: NetworkLab, server: str) -> None:
    """A cable from a server straight into the hospital network, past the switch: the
    switch reads back perfectly, only traffic shows the hole."""
    a, b = f"{lab.prefix}xa", f"{lab.prefix}xb"
    src, dst = lab.hosts[server], lab.hosts[HOSPITAL]
    async with Netlink() as nl:
        await nl.create_veth(a, b)
        await nl.move_to_netns(a, src.netns)
        await nl.move_to_netns(b, dst.netns)
    for ns, ifname, peer in ((src.netns, a, dst), (dst.netns, b, src)):
        await _ip("-n", ns, "link", "set", ifname, "up")
        await _ip("-n", ns, "route", "add", f"{peer.address.ip}/32", "dev", ifname)


async def test_quarantine_from_a_dirty_bridge_then_restore_proven_by_pings() -> None:
    _need_root()
    servers = {"hv-1": 1, "hv-2": 2, "spare": 3}
    async with NetworkLab(servers, hospital_port=4, ping_wait_s=WAIT) as lab:
        # Dirty start: every port untagged in VLAN 1 with PVID 1 and up, uplink included.
        for port in (1, 2, 3, 4):
            await lab.apply_port(port, pvid=1, untagged={1})
        assert await lab.ping("hv-1", HOSPITAL)

        config = bridge_rack(lab.bridge)
        probe = TrafficProbe(config, lab, "tor-1", host_ports(config, "tor-1"))
        async with NetworkManager(config, Bus(), probe=probe, reconcile=False) as net:
            report = await net.enter_phase("quarantine")
            assert report.verified, report.problems()
            assert report.probe_ok is True
            assert await lab.port_vlans(1) == [BridgeVlan(Q, pvid=True, untagged=True)]
            assert await lab.port_vlans(4) == [BridgeVlan(UPLINK, pvid=True, untagged=True)]
            seen = await lab.reachability(_pairs(*SERVERS, HOSPITAL, "spare"))
            # Quarantined servers share VLAN 999, and nothing else: not the hospital
            # (uplink down), not the parked spare port (shut).
            assert seen == {p: set(p) <= set(SERVERS) for p in seen}

            # hv-1 alone into the clean VLAN: it no longer reaches hv-2 in quarantine.
            report = await net.enter_phase("restore", ["hv-1"])
            assert report.verified, report.problems()
            seen = await lab.reachability(_pairs(*SERVERS, HOSPITAL))
            assert not any(seen.values()), seen

            # The whole rack restored: clean hosts reach each other, the hospital stays out.
            report = await net.enter_phase("restore")
            assert report.verified, report.problems()
            assert report.probe_ok is True
            seen = await lab.reachability(_pairs(*SERVERS, HOSPITAL))
            assert seen == {p: HOSPITAL not in p for p in seen}

            # A cable past the switch: read-back still matches, the probe does not, so
            # the phase is not verified and the rack goes back to quarantine.
            await _bypass_cable(lab, "hv-1")
            with pytest.raises(VerifyError, match="hv-1 -> hospital: open, should be closed"):
                await net.enter_phase("restore")
            last = net.last_report
            assert last is not None
            assert last.phase == "quarantine"
            assert all(s.ok for s in last.switches), last.problems()
            assert last.probe_ok is False
            assert not last.verified
            assert await lab.port_vlans(2) == [BridgeVlan(Q, pvid=True, untagged=True)]


async def test_driver_makes_a_plain_bridge_fail_closed_and_checks_its_ports() -> None:
    _need_root()
    name = f"crlf{os.getpid() % 100000}"
    members = [f"{name}p{n}" for n in (1, 2, 3, 4)]
    async with Netlink() as nl:
        # A bridge as a careless setup leaves it: no filtering, default PVID 1, ports up.
        await nl.create_bridge(name, vlan_filtering=False)
        try:
            for port in members:
                await nl.create_veth(port, f"{port}h")
                await nl.set_master(port, name)
                await nl.set_up(port)
            assert sysfs.bridge_options(name) == sysfs.BridgeOptions(False, 1)
            async with LinuxBridgeDriver(bridge_rack(name).switch[0]) as driver:
                assert sysfs.bridge_options(name) == sysfs.BridgeOptions(True, 0)
                actual = await driver.read()
                # Every member shut and in no VLAN: nothing forwards until a plan says so.
                assert actual.admin_up == dict.fromkeys((1, 2, 3, 4), False)
                assert actual.pvid == {}
                assert not actual.vlans
                # A member leaves the bridge: the port map no longer fits the config.
                await nl.delete(members[-1])
                with pytest.raises(ProtocolError, match=r"ports \[4\] have no interface"):
                    await driver.read()
        finally:
            for port in members:
                await nl.delete(port, missing_ok=True)
            await nl.delete(name, missing_ok=True)


async def test_controller_interfaces_follow_the_phases() -> None:
    _need_root()
    tag = os.getpid() % 100000
    trunk, uplink = f"crt{tag}", f"cru{tag}"
    config = bridge_rack(
        "unused-here",
        controller={"uplink_interface": uplink, "management_address": "10.214.10.2/24"},
    )
    clean_gw = ipaddress.IPv4Interface("10.214.20.1/24")
    async with Netlink() as nl:
        await nl.create_veth(trunk, f"{trunk}x")
        await nl.create_veth(uplink, f"{uplink}x")
        await nl.set_up(uplink)  # dirty: the hospital NIC came up with the machine
        try:

            async def phase(name: Phase) -> tuple[str, ...]:
                state = await apply_host(config, name, trunk=trunk, addresses={CLEAN: clean_gw})
                return state.changed

            changed = await phase("quarantine")
            assert f"{uplink} down" in changed
            assert not await nl.is_up(uplink)
            assert await nl.is_up(trunk)
            assert not await nl.exists(f"{trunk}.{CLEAN}")  # quarantine: nothing tagged
            assert await phase("quarantine") == ()  # idempotent, read back by the kernel

            changed = await phase("restore")
            assert f"{trunk}.{CLEAN} created" in changed
            assert sysfs.vlan_device(f"{trunk}.{CLEAN}") == (trunk, CLEAN)
            assert await nl.is_up(f"{trunk}.{CLEAN}")
            assert not await nl.is_up(uplink)
            assert await phase("restore") == ()

            await phase("connected")
            assert await nl.is_up(uplink)
            assert sysfs.vlan_device(f"{trunk}.{UPLINK}") == (trunk, UPLINK)
            assert await nl.is_up(f"{trunk}.{UPLINK}")

            await phase("quarantine")
            assert not await nl.is_up(uplink)
            assert not await nl.is_up(f"{trunk}.{CLEAN}")
            assert not await nl.is_up(f"{trunk}.{UPLINK}")
        finally:
            for ifname in (f"{trunk}.{CLEAN}", f"{trunk}.{UPLINK}", trunk, uplink):
                await nl.delete(ifname, missing_ok=True)
