"""The simulated switch drives the real data plane: SETs sent by net-snmp's `snmpset` to
the SNMP switch simulator over UDP move ports in a Linux bridge with VLAN filtering, and
pings between network namespaces prove it, in both directions.

Marked ``kernel_lab``: runs in the kernel-lab VM on a kernel without bridge VLAN
filtering (tests/kernel_lab), natively on Debian's kernel.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from agent.sim.lab import NetworkLab
from agent.sim.snmp import SimCredentials, SimulatedRack, SwitchSpec

pytestmark = [pytest.mark.kernel_lab, pytest.mark.root]

QBRIDGE = "1.3.6.1.2.1.17.7.1.4"
PVID = f"{QBRIDGE}.5.1.1"  # dot1qPvid.<bridge port>
ROW = f"{QBRIDGE}.3.1.5"  # dot1qVlanStaticRowStatus.<vid>
EGRESS = f"{QBRIDGE}.3.1.2"  # dot1qVlanStaticEgressPorts.<vid> (PortList)
UNTAGGED = f"{QBRIDGE}.3.1.4"  # dot1qVlanStaticUntaggedPorts.<vid> (PortList)
CLEAN = 20


async def snmpset(port: int, *varbinds: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "snmpset",
        "-v2c",
        "-c",
        "lab",
        "-On",
        "-m",
        "",
        "-t",
        "2",
        "-r",
        "2",
        f"127.0.0.1:{port}",
        *varbinds,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()


async def test_snmp_pvid_set_moves_the_port_in_the_real_bridge() -> None:
    if os.geteuid() != 0:
        pytest.skip("bridges and network namespaces need root")
    spec = SwitchSpec(
        id="sw", ports=4, connected=frozenset({1, 2}), credentials=SimCredentials(community="lab")
    )
    async with (
        SimulatedRack([spec]) as rack,
        NetworkLab({"srv1": 1, "srv2": 2}, ping_wait_s=2) as lab,
    ):
        switch = rack.switch("sw")
        switch.on_vlan_change(lab.observe)
        lab.observe(switch.port_states())  # the factory state: every port in VLAN 1
        await lab.settled()
        both = [("srv1", "srv2"), ("srv2", "srv1")]
        assert await lab.reachability(both) == dict.fromkeys(both, True)

        _, port = rack.endpoint("sw")
        await snmpset(port, f"{ROW}.{CLEAN}", "i", "4")  # createAndGo
        # Port 2 alone joins VLAN 20 (PortList: bit 1 = MSB, so port 2 = 0x40) and takes
        # it as its PVID: srv1 (still in VLAN 1) and srv2 can no longer talk.
        # Membership in the order switches accept: join (egress, then untagged), move the
        # PVID, then leave VLAN 1 (untagged, then egress).
        await snmpset(port, f"{EGRESS}.{CLEAN}", "x", "40")
        await snmpset(port, f"{UNTAGGED}.{CLEAN}", "x", "40")
        await snmpset(port, f"{PVID}.2", "u", str(CLEAN))
        await snmpset(port, f"{UNTAGGED}.1", "x", "B0")
        await snmpset(port, f"{EGRESS}.1", "x", "B0")
        await lab.settled()
        assert switch.port_states()[2].pvid == CLEAN
        assert await lab.reachability(both) == dict.fromkeys(both, False)

        # Port 1 follows: both in VLAN 20, they talk again, both ways.
        await snmpset(port, f"{EGRESS}.{CLEAN}", "x", "C0")
        await snmpset(port, f"{UNTAGGED}.{CLEAN}", "x", "C0")
        await snmpset(port, f"{PVID}.1", "u", str(CLEAN))
        await snmpset(port, f"{UNTAGGED}.1", "x", "30")
        await snmpset(port, f"{EGRESS}.1", "x", "30")
        await lab.settled()
        assert await lab.reachability(both) == dict.fromkeys(both, True)
