"""The network lab on any kernel: the degraded lab (plain bridge) and the adapter basics.

These run on the host's kernel, with or without bridge VLAN filtering (none on the
development kernel, present on Debian's); the isolation proofs that need it are in
test_lab_vlan.py, which runs inside the kernel lab VM where the host lacks it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import subprocess

import pytest

from agent.adapters.netlink import Netlink, NetlinkRefused, list_netns
from agent.errors import EnvironmentMissing
from agent.sim.lab import HOSPITAL, NetworkLab, PortTable

pytestmark = pytest.mark.root


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces and bridges need root: run the suite as root")
    for tool, package in (("ip", "iproute2"), ("ping", "iputils-ping")):
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` missing: apt-get install {package}")


def _kernel_filters_vlans() -> bool:
    """Probe in a throwaway namespace whether this kernel has bridge VLAN filtering."""
    probe = subprocess.run(
        ["unshare", "--net", "ip", "link", "add", "b", "type", "bridge", "vlan_filtering", "1"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


async def _leftovers(prefix: str) -> tuple[list[str], list[str]]:
    async with Netlink() as nl:
        links = [name for name in await nl.links() if name.startswith(prefix)]
    spaces = [name for name in await list_netns() if name.startswith(prefix)]
    return links, spaces


async def reachable_soon(lab: NetworkLab, src: str, dst: str, attempts: int = 3) -> bool:
    """A port just set up forwards once the kernel's linkwatch has run (up to about a
    second later, more on a loaded machine), and the first ARP request may be lost before
    that: a positive proof gets a few pings. Negative proofs stay single-shot."""
    for _ in range(attempts):
        if await lab.ping(src, dst):
            return True
    return False


async def test_degraded_lab_pings_across_plain_bridge_and_cleans_up() -> None:
    _need_root()
    async with NetworkLab({"srv1": 1, "srv2": 2}, hospital_port=24, vlan_filtering=False) as lab:
        prefix = lab.prefix
        assert set(lab.hosts) == {"srv1", "srv2", HOSPITAL}
        ten = ipaddress.IPv4Network("10.0.0.0/8")
        assert all(host.address.ip in ten for host in lab.hosts.values())
        links, spaces = await _leftovers(prefix)
        assert sorted(links) == sorted([lab.bridge, f"{prefix}p1", f"{prefix}p2", f"{prefix}p24"])
        assert len(spaces) == 3
        result = await lab.reachability(
            [("srv1", "srv2"), ("srv2", "srv1"), ("srv1", HOSPITAL), (HOSPITAL, "srv2")]
        )
        # A plain bridge forwards everything: this is why it cannot prove isolation.
        assert result == dict.fromkeys(result, True)
        # Admin state is still applied in degraded mode: a port that is down forwards nothing.
        await lab.apply_port(2, pvid=10, untagged={10}, admin_up=False)
        assert lab.table(2) == PortTable(pvid=10, untagged=frozenset({10}), admin_up=False)
        assert await lab.ping("srv1", "srv2") is False
        await lab.apply_port(2, pvid=10, untagged={10}, admin_up=True)
        assert await reachable_soon(lab, "srv1", "srv2")
    assert await _leftovers(prefix) == ([], [])


async def test_switch_observer_drives_the_lab() -> None:
    """The simulated switch's observer hook feeds the lab; degraded mode still applies the
    admin state, which is enough to see the effect on a plain bridge."""
    _need_root()
    from agent.sim.snmp.switch import PortState  # noqa: PLC0415  (pysnmp: import after skip)

    def state(port: int, *, up: bool) -> PortState:
        return PortState(port, 1000 + port, up, up, 10, frozenset({10}), frozenset({20}))

    async with NetworkLab({"srv1": 1, "srv2": 2}, vlan_filtering=False) as lab:
        # Ports the lab does not have (7) are ignored.
        lab.observe({1: state(1, up=True), 2: state(2, up=False), 7: state(7, up=True)})
        await lab.settled()
        assert lab.table(2) == PortTable(
            pvid=10, tagged=frozenset({20}), untagged=frozenset({10}), admin_up=False
        )
        assert await lab.ping("srv1", "srv2") is False
        lab.observe({2: state(2, up=False)})
        lab.observe({2: state(2, up=True)})  # only the latest state matters
        await lab.settled()
        assert await reachable_soon(lab, "srv1", "srv2")


async def test_a_state_the_lab_cannot_apply_fails_its_owner() -> None:
    _need_root()
    from agent.sim.snmp.switch import PortState  # noqa: PLC0415  (pysnmp: import after skip)

    both = frozenset({10})  # tagged and untagged at once: no port can do that
    prefixes: list[str] = []

    async def run() -> None:
        async with NetworkLab({"srv1": 1}, vlan_filtering=False) as lab:
            prefixes.append(lab.prefix)
            lab.observe({1: PortState(1, 1001, True, True, 10, both, both)})
            await lab.settled()

    with pytest.raises(ExceptionGroup) as info:
        await run()
    assert info.group_contains(ValueError, match="both tagged and untagged")
    assert await _leftovers(prefixes[0]) == ([], [])


async def test_two_labs_side_by_side_do_not_collide() -> None:
    _need_root()
    async with (
        NetworkLab({"a": 1}, hospital_port=2, vlan_filtering=False) as one,
        NetworkLab({"a": 1}, hospital_port=2, vlan_filtering=False) as two,
    ):
        assert one.prefix != two.prefix
        assert await one.ping("a", HOSPITAL)
        assert await two.ping(HOSPITAL, "a")
    assert await _leftovers(one.prefix) == ([], [])
    assert await _leftovers(two.prefix) == ([], [])


async def test_teardown_after_error_and_cancellation_leaves_nothing() -> None:
    _need_root()
    prefixes: list[str] = []

    async def fail_inside() -> None:
        async with NetworkLab({"srv1": 1}, vlan_filtering=False) as lab:
            prefixes.append(lab.prefix)
            raise LookupError("boom")

    with pytest.raises(LookupError):
        await fail_inside()
    assert await _leftovers(prefixes[0]) == ([], [])

    entered = asyncio.Event()

    async def hold() -> None:
        async with NetworkLab({"srv1": 1, "srv2": 2}, vlan_filtering=False) as lab:
            prefixes.append(lab.prefix)
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _leftovers(prefixes[1]) == ([], [])


async def test_vlan_filtering_lab_needs_the_kernel_feature() -> None:
    """Without bridge VLAN filtering (the development kernel) the lab refuses, saying
    where to run; with it (Debian's kernel, the controller's) the lab comes up with a
    filtering bridge. Either way it leaves no namespace behind."""
    _need_root()
    before = await list_netns()
    if not _kernel_filters_vlans():
        with pytest.raises(EnvironmentMissing, match=r"kernel lab \(tests/kernel_lab\)"):
            async with NetworkLab({"srv1": 1}):
                pass
    else:
        async with NetworkLab({"srv1": 1}) as lab:
            async with Netlink() as nl:
                assert await nl.bridge_vlan_filtering(lab.bridge)
            assert await lab.port_vlans(1) == []  # default_pvid 0: a new port is in no VLAN
    assert await list_netns() == before


async def test_adapter_names_the_interface_in_errors() -> None:
    _need_root()
    async with Netlink() as nl:
        with pytest.raises(NetlinkRefused, match="no-such-if0") as info:
            await nl.set_up("no-such-if0")
        assert info.value.status == "ENODEV"
        await nl.delete("no-such-if0", missing_ok=True)
    with pytest.raises(NetlinkRefused, match="no such network namespace"):
        async with Netlink("cr-no-such-namespace"):
            pass


def test_port_table_entries_and_validation() -> None:
    table = PortTable(pvid=10, tagged=frozenset({20, 30}), untagged=frozenset({10}))
    assert [(e.vid, e.pvid, e.untagged) for e in table.entries()] == [
        (10, True, True),
        (20, False, False),
        (30, False, False),
    ]
    # The PVID VLAN is a member even when no list names it, and then egresses tagged.
    assert [(e.vid, e.pvid, e.untagged) for e in PortTable(pvid=5).entries()] == [(5, True, False)]
    assert PortTable().entries() == []
    with pytest.raises(ValueError, match=r"not inside 10\.0\.0\.0/8"):
        NetworkLab({"srv1": 1}, subnet="192.168.7.0/24")
    with pytest.raises(ValueError, match="share a bridge port"):
        NetworkLab({"srv1": 1, "srv2": 1})
    with pytest.raises(ValueError, match="reserved"):
        NetworkLab({HOSPITAL: 1}, hospital_port=2)
