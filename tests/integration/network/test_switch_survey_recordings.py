"""The switch survey against recordings of real switches (the snmpsim-data package),
replayed over UDP. Each expected value was read off the recording's own lines (the OID
is cited next to it), not produced by running our code.

The replay serves the subtrees the survey reads (system, IF-MIB, BRIDGE-MIB, Q-BRIDGE-MIB,
ENTITY-MIB, CISCO-VLAN-MEMBERSHIP-MIB vmMembershipEntry, CISCO-VTP-MIB vtpVlanState and
vlanTrunkPortEntry), copied line for line from the .bz2 recording: other subtrees of
these recordings use snmpsim variation modules (``67:numeric``) that our replay does not
serve yet.
"""

from __future__ import annotations

import bz2
import importlib.resources
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.devices.switch.survey import SwitchSurvey, survey
from agent.health.readers.switch import SwitchReader
from agent.sim.snmp import RecordingSpec, SimulatedRack

SUBTREES = (
    "1.3.6.1.2.1.1.2.0|",  # SNMPv2-MIB::sysObjectID
    "1.3.6.1.2.1.2.2.1.",  # IF-MIB::ifEntry
    "1.3.6.1.2.1.31.1.1.1.1.",  # IF-MIB::ifName
    "1.3.6.1.2.1.17.1.4.1.",  # BRIDGE-MIB::dot1dBasePortEntry
    "1.3.6.1.2.1.17.7.1.4.",  # Q-BRIDGE-MIB::dot1qVlan
    "1.3.6.1.2.1.47.1.1.1.1.",  # ENTITY-MIB::entPhysicalEntry
    "1.3.6.1.4.1.9.9.68.1.2.2.1.",  # CISCO-VLAN-MEMBERSHIP-MIB::vmMembershipEntry
    "1.3.6.1.4.1.9.9.46.1.3.1.1.2.",  # CISCO-VTP-MIB::vtpVlanState
    "1.3.6.1.4.1.9.9.46.1.6.1.1.",  # CISCO-VTP-MIB::vlanTrunkPortEntry
)


def _switch_recordings() -> Path:
    try:
        root = importlib.resources.files("snmpsim_data")
    except ModuleNotFoundError:
        pytest.skip("snmpsim-data is not installed (pip install snmpsim-data==1.0.1)")
    path = Path(str(root)) / "data" / "network" / "switch"
    if not path.is_dir():
        pytest.skip(f"snmpsim-data has no switch recordings at {path}")
    return path


def _subset(name: str, into: Path) -> Path:
    text = bz2.decompress((_switch_recordings() / f"{name}.snmprec.bz2").read_bytes())
    lines = [line for line in text.decode("utf-8").splitlines() if line.startswith(SUBTREES)]
    out = into / f"{name}.snmprec"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@asynccontextmanager
async def _replayed(name: str, tmp: Path) -> AsyncIterator[SwitchSurvey]:
    async with _client(name, tmp) as client:
        yield await survey(client)


@asynccontextmanager
async def _client(name: str, tmp: Path) -> AsyncIterator[SnmpClient]:
    async with SimulatedRack([RecordingSpec(name, _subset(name, tmp))]) as rack:
        host, port = rack.endpoint(name)
        async with SnmpClient(SnmpTarget(name, host, port=port, timeout=2.0)) as client:
            yield client


def _vlans(found: SwitchSurvey, port: int) -> tuple[int | None, tuple[int, ...], tuple[int, ...]]:
    p = found.ports[[q.port for q in found.ports].index(port)]
    return p.pvid, p.untagged, p.tagged


async def test_catalyst_3560_access_ports_from_vmvlan(tmp_path: Path) -> None:
    async with _replayed("cisco-c3560", tmp_path) as found:
        pass
    # sysObjectID 1.3.6.1.4.1.9.1.617; chassis entPhysicalClass.1001 = 3
    assert (found.enterprise, found.vendor) == (9, "Cisco")
    assert found.model == "WS-C3560G-48TS-E"  # entPhysicalModelName.1001
    assert found.serial == "FOC1408Z61U"  # entPhysicalSerialNum.1001
    assert found.firmware == "12.2(55)SE3"  # entPhysicalSoftwareRev.1001
    assert found.membership == "cisco"
    assert found.tables["BRIDGE-MIB::dot1dBasePortIfIndex"] == "absent"
    # vlanTrunkPortTable has rows for ifIndex 10101..10152 (Gi0/1..Gi0/52)
    assert found.port_count == 52
    assert (found.ports[0].if_index, found.ports[0].name) == (10101, "Gi0/1")
    # vmVlan.10101..10148 = 3, vlanTrunkPortDynamicStatus 2 (notTrunking)
    assert all(_vlans(found, p) == (3, (3,), ()) for p in range(1, 49))
    assert _vlans(found, 50) == (2, (2,), ())  # vmVlan.10150 = 2
    # Gi0/49: DynamicStatus.10149 = 1 (trunking), VlansEnabled 0x20.. = VLAN 2,
    # NativeVlan 1 not enabled, so nothing untagged
    assert _vlans(found, 49) == (1, (), (2,))
    assert _vlans(found, 51) == (1, (), (2,))  # VlansEnabled.10151 = 0x20..
    assert _vlans(found, 52) == (1, (), (2, 3))  # VlansEnabled.10152 = 0x30..
    assert found.ports[48].trunk
    assert not found.ports[49].trunk


async def test_procurve_from_the_static_table(tmp_path: Path) -> None:
    async with _replayed("hpe-procurve-516733-b21", tmp_path) as found:
        pass
    assert (found.enterprise, found.vendor) == (11, "HPE")  # 1.3.6.1.4.1.11.2.3.7.11.107
    assert found.model == "516733-B21"  # entPhysicalModelName.1 (class.1 = chassis)
    assert found.serial == "3C421900TX"
    assert found.firmware == "Z.14.31"  # entPhysicalSoftwareRev.1
    assert found.membership == "static"
    assert found.port_count == 24  # dot1dBasePortIfIndex.1..24
    # dot1qPvid.4 = 71; VLAN 71 untagged 0x1810.. (ports 4, 5, 12), VLAN 53 egress
    # 0xf9e380 (1-5, 8-11, 15-17) with untagged 0
    assert _vlans(found, 4) == (71, (71,), (53,))
    assert _vlans(found, 12) == (71, (71,), ())
    assert _vlans(found, 13) == (50, (50,), ())  # VLAN 50 untagged 0x0008.. = port 13
    # VLAN 1 egress 0x0604ff.. untagged 0x06047f..: port 17 tagged, 18-24 untagged;
    # bits past port 24 (the PortList is 10 octets) are not ports of this switch
    assert _vlans(found, 17) == (1, (), (1, 50, 52, 53, 70, 71, 77, 78))
    assert _vlans(found, 18) == (1, (1,), ())
    assert _vlans(found, 1) == (1, (), (50, 52, 53, 70, 71, 77, 78))


async def test_h3c_e528_from_the_static_table_without_a_current_table(tmp_path: Path) -> None:
    async with _replayed("h3c-e528-1", tmp_path) as found:
        pass
    assert (found.enterprise, found.vendor) == (25506, "H3C")  # 1.3.6.1.4.1.25506.1.578
    # entPhysicalClass.1 = 11 (stack), .2 = 3 (chassis): the chassis row is 2
    assert found.model == "H3C Switch E528"
    assert found.serial == "210235A0GKC158000929"
    assert found.firmware == "5.20 Release 1513P62"
    assert found.membership == "static"
    assert found.tables["Q-BRIDGE-MIB::dot1qVlanCurrentEgressPorts"] == "absent"
    assert found.port_count == 28
    # VLAN 1 egress = untagged = 0xfffffff0 (ports 1-28); VLAN 2 egress 0x000001 (port 24)
    assert _vlans(found, 1) == (1, (1,), ())
    assert _vlans(found, 24) == (1, (1,), (2,))
    assert found.ports[23].name == "GigabitEthernet1/0/24"


async def test_health_identity_is_the_chassis_row(tmp_path: Path) -> None:
    """The health reader names the vendor (enterprise 25506) and the chassis row
    (entPhysicalClass 3: row 2 here, row 1 being the stack)."""
    async with _client("h3c-e528-1", tmp_path) as client:
        ident = await SwitchReader("h3c-e528-1", client).identify()
    assert (ident.vendor, ident.model, ident.serial) == (
        "H3C",
        "H3C Switch E528",
        "210235A0GKC158000929",
    )


async def test_nexus_access_ports_outside_the_default_bridge_context(tmp_path: Path) -> None:
    """NX-OS lists only VLAN 1's ports in BRIDGE-MIB's default context; the access
    ports of other VLANs are switching interfaces all the same (vmVlan rows)."""
    async with _replayed("cisco-n5000", tmp_path) as found:
        pass
    assert found.membership == "cisco"
    assert found.tables["BRIDGE-MIB::dot1dBasePortIfIndex"] == "read"  # 10 rows
    # vmVlan and vlanTrunkPortDynamicStatus have rows for 78 interfaces, the 10 included
    assert found.port_count == 78
    assert sum(p.port is not None for p in found.ports) == 10
    # vmVlan.436215808 = 71, vlanTrunkPortDynamicStatus.436215808 = 2 (notTrunking)
    eth = next(p for p in found.ports if p.if_index == 436215808)
    assert (eth.port, eth.pvid, eth.untagged, eth.tagged) == (None, 71, (71,), ())
