"""Isolation proofs on a VLAN-filtering bridge, and the kernel features later issues use.

Marked ``kernel_lab``: on a kernel without bridge VLAN filtering, 8021q and netem (the
development kernel) tests/kernel_lab runs them all inside one VM boot with Debian's kernel;
on Debian's kernel they run natively. Pings go between the lab's own namespaces only.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import pytest

from agent.adapters.netlink import BridgeVlan, Netlink, create_netns, remove_netns
from agent.sim.lab import HOSPITAL, NetworkLab

pytestmark = [pytest.mark.kernel_lab, pytest.mark.root]

QUARANTINE = 999
CLEAN = 20
# The emulated VM can be starved by a busy host; a lost answer must not look like isolation
# holding, so pings wait longer than the default second.
WAIT = 2


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("bridges and network namespaces need root")


async def test_new_ports_are_fail_closed() -> None:
    _need_root()
    async with NetworkLab({"srv1": 1, "srv2": 2}, hospital_port=24, ping_wait_s=WAIT) as lab:
        async with Netlink() as nl:
            assert await nl.bridge_vlan_filtering(lab.bridge)
        for port in (1, 2, 24):
            assert await lab.port_vlans(port) == []
        pairs = [(a, b) for a in lab.hosts for b in lab.hosts if a != b]
        assert await lab.reachability(pairs) == dict.fromkeys(pairs, False)


async def test_same_pvid_untagged_ports_reach_each_other_until_one_moves() -> None:
    _need_root()
    async with NetworkLab({"srv1": 1, "srv2": 2}, ping_wait_s=WAIT) as lab:
        await lab.apply_port(1, pvid=CLEAN, untagged={CLEAN})
        await lab.apply_port(2, pvid=CLEAN, untagged={CLEAN})
        assert await lab.port_vlans(1) == [BridgeVlan(CLEAN, pvid=True, untagged=True)]
        both = [("srv1", "srv2"), ("srv2", "srv1")]
        assert await lab.reachability(both) == dict.fromkeys(both, True)

        await lab.apply_port(2, pvid=30, untagged={30})
        assert await lab.port_vlans(2) == [BridgeVlan(30, pvid=True, untagged=True)]
        assert await lab.reachability(both) == dict.fromkeys(both, False)

        # And back: the table is replaced exactly, nothing of VLAN 30 is left behind.
        await lab.apply_port(2, pvid=CLEAN, untagged={CLEAN}, tagged={40})
        assert await lab.port_vlans(2) == [
            BridgeVlan(CLEAN, pvid=True, untagged=True),
            BridgeVlan(40),
        ]
        assert await lab.ping("srv2", "srv1")


async def test_hospital_unreachable_from_quarantine_ports() -> None:
    _need_root()
    async with NetworkLab({"srv1": 1, "srv2": 2}, hospital_port=24, ping_wait_s=WAIT) as lab:
        for port in (1, 2):
            await lab.apply_port(port, pvid=QUARANTINE, untagged={QUARANTINE})
        await lab.apply_port(24, pvid=100, untagged={100})
        pairs = [
            ("srv1", HOSPITAL), (HOSPITAL, "srv1"), ("srv2", HOSPITAL), (HOSPITAL, "srv2"),
            ("srv1", "srv2"),
        ]  # fmt: skip
        result = await lab.reachability(pairs)
        # Quarantined servers share VLAN 999 with each other, never with the hospital.
        assert result == {pair: pair == ("srv1", "srv2") for pair in pairs}
        # An admin-down port forwards nothing even inside its VLAN.
        await lab.apply_port(2, pvid=QUARANTINE, untagged={QUARANTINE}, admin_up=False)
        assert await lab.ping("srv1", "srv2") is False


@dataclass(frozen=True)
class _State:
    """The fields of the simulated switch's PortState the lab reads (importing the switch
    itself would pull pysnmp into the VM's slow start-up for nothing)."""

    port: int
    pvid: int
    tagged: frozenset[int] = frozenset()
    untagged: frozenset[int] = frozenset()
    admin_up: bool = True


async def test_switch_observer_moves_ports_between_vlans() -> None:
    _need_root()
    async with NetworkLab({"srv1": 1}, hospital_port=24, ping_wait_s=WAIT) as lab:
        # Factory state of a switch: everything untagged in VLAN 1, so everything talks.
        lab.observe({p: _State(p, 1, untagged=frozenset({1})) for p in (1, 24)})
        await lab.settled()
        assert await lab.ping("srv1", HOSPITAL)
        lab.observe({1: _State(1, QUARANTINE, untagged=frozenset({QUARANTINE}))})
        await lab.settled()
        assert await lab.port_vlans(1) == [BridgeVlan(QUARANTINE, pvid=True, untagged=True)]
        assert not await lab.ping("srv1", HOSPITAL)


async def _run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(30):
        out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def test_8021q_and_netem_work_here() -> None:
    """Later issues rely on VLAN sub-interfaces and netem: prove both load and apply."""
    _need_root()
    name = f"crk{os.getpid() % 100000}"
    await create_netns(name)
    try:
        async with Netlink(name) as nl:
            await nl.create_veth("va", "vb")
            await nl.create_vlan("va.42", "va", 42)
            await nl.set_up("va")
            await nl.set_up("va.42")
            assert "va.42" in await nl.links()
        rc, out = await _run(
            "ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "vb", "root",
            "netem", "delay", "20ms",
        )  # fmt: skip
        assert rc == 0, out
        rc, out = await _run("ip", "netns", "exec", name, "tc", "qdisc", "show", "dev", "vb")
        assert rc == 0
        assert "netem" in out
        assert "delay 20ms" in out
    finally:
        await remove_netns(name, missing_ok=True)
