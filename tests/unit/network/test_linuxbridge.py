"""The Linux-bridge driver's pure parts: the port naming rule, the entries a planned port
needs, the writes a diff turns into, and the sysfs/procfs parsing (against a folder laid
out as the kernel lays them out)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from agent.adapters.netlink import BridgeVlan
from agent.conf.schema import Switch, SwitchPort
from agent.devices.switch import linuxbridge_sysfs as sysfs
from agent.devices.switch.driver import make_diff
from agent.devices.switch.linuxbridge import (
    LinuxBridgeDriver,
    entries_for,
    natural_key,
    port_interfaces,
    port_writes,
)
from agent.devices.switch.model import ActualSwitch, DesiredPort, DesiredSwitch
from agent.errors import EnvironmentMissing, NegativeReply, ProtocolError

Q, CLEAN, MGMT = 999, 20, 10


def _switch(count: int) -> Switch:
    return Switch(
        id="ctl-br",
        driver="linux-bridge",
        bridge="br-rack",
        port_count=count,
        ports=[SwitchPort(number=1, role="server", device="hv-1")],
    )


def test_members_are_numbered_in_natural_name_order() -> None:
    members = ["tap10", "eth2", "tap2", "eth10", "tap-p24", "tap-p3"]
    assert sorted(members, key=natural_key) == [
        "eth2", "eth10", "tap2", "tap10", "tap-p3", "tap-p24",
    ]  # fmt: skip
    assert port_interfaces(_switch(3), ["crp24", "crp2", "crp1"]) == {
        1: "crp1",
        2: "crp2",
        3: "crp24",
    }


def test_member_count_must_match_port_count() -> None:
    with pytest.raises(ProtocolError, match=r"ports \[3, 4\] have no interface"):
        port_interfaces(_switch(4), ["eth1", "eth2"])
    with pytest.raises(ProtocolError, match=r"members \['eth3'\] beyond port_count 2"):
        port_interfaces(_switch(2), ["eth3", "eth1", "eth2"])


def _port(pvid: int, untagged: set[int], tagged: frozenset[int] = frozenset()) -> DesiredPort:
    return DesiredPort(1, "server", "quarantine", pvid, frozenset(untagged), tagged, True)


def test_entries_of_a_planned_port() -> None:
    assert entries_for(_port(Q, {Q})) == [BridgeVlan(Q, pvid=True, untagged=True)]
    assert entries_for(_port(MGMT, {MGMT}, frozenset({CLEAN}))) == [
        BridgeVlan(MGMT, pvid=True, untagged=True),
        BridgeVlan(CLEAN),
    ]
    # A trunk's PVID outside its VLANs becomes a (tagged) member: the Linux quirk.
    assert entries_for(_port(Q, set(), frozenset({CLEAN}))) == [
        BridgeVlan(CLEAN),
        BridgeVlan(Q, pvid=True),
    ]


def _actual(
    pvid: dict[int, int], untagged: dict[int, set[int]], up: dict[int, bool]
) -> ActualSwitch:
    egress = {v: frozenset(p) for v, p in untagged.items()}
    return ActualSwitch("ctl-br", frozenset(egress), egress, egress, pvid, up)


def test_writes_of_a_dirty_bridge_to_quarantine() -> None:
    # Factory state: both ports untagged in VLAN 1, up; port 2 is the uplink.
    before = _actual({1: 1, 2: 1}, {1: {1, 2}}, {1: True, 2: True})
    desired = DesiredSwitch(
        "ctl-br",
        "quarantine",
        MappingProxyType({
            1: DesiredPort(1, "server", "quarantine", Q, frozenset({Q}), frozenset(), True),
            2: DesiredPort(2, "uplink", "quarantine", 100, frozenset({100}), frozenset(), False),
        }),
    )  # fmt: skip
    writes = {w.port: w for w in port_writes(make_diff(desired, before))}
    assert writes[1].delete == (1,)
    assert writes[1].add == (BridgeVlan(Q, pvid=True, untagged=True),)
    assert writes[1].admin_up is None  # already up
    assert writes[2].delete == (1,)
    assert writes[2].admin_up is False
    # Already as planned: no write at all.
    after = _actual({1: Q, 2: 100}, {Q: {1}, 100: {2}}, {1: True, 2: False})
    assert port_writes(make_diff(desired, after)) == []
    # Only the flags differ: the entry is rewritten, nothing deleted.
    tagged = ActualSwitch(
        "ctl-br", frozenset({Q, 100}), {Q: frozenset({1}), 100: frozenset({2})},
        {100: frozenset({2})}, {1: Q, 2: 100}, {1: True, 2: False},
    )  # fmt: skip
    (only,) = port_writes(make_diff(desired, tagged))
    assert (only.port, only.delete, only.add) == (1, (), (BridgeVlan(Q, True, True),))


def _fake_bridge(root: Path, *, filtering: str | None, pvid: str | None) -> None:
    (root / "br-rack" / "brif").mkdir(parents=True)
    (root / "br-rack" / "bridge").mkdir()
    for name in ("crp1", "crp2"):
        (root / "br-rack" / "brif" / name).mkdir()
        (root / name).mkdir()
        (root / name / "operstate").write_text("up\n" if name == "crp1" else "down\n")
    if filtering is not None:
        (root / "br-rack" / "bridge" / "vlan_filtering").write_text(filtering + "\n")
    if pvid is not None:
        (root / "br-rack" / "bridge" / "default_pvid").write_text(pvid + "\n")
    (root / "eth0").mkdir()


def test_sysfs_reads(tmp_path: Path) -> None:
    _fake_bridge(tmp_path, filtering="1", pvid="0")
    assert sorted(sysfs.bridge_members("br-rack", tmp_path)) == ["crp1", "crp2"]
    assert sysfs.bridge_options("br-rack", tmp_path) == sysfs.BridgeOptions(True, 0)
    assert sysfs.oper_up("crp1", tmp_path) is True
    assert sysfs.oper_up("crp2", tmp_path) is False
    assert sysfs.oper_up("gone", tmp_path) is None
    with pytest.raises(NegativeReply, match="no interface 'nope'"):
        sysfs.bridge_members("nope", tmp_path)
    with pytest.raises(NegativeReply, match="'eth0' is not a bridge"):
        sysfs.bridge_options("eth0", tmp_path)
    sysfs.write_bridge_option("br-rack", "default_pvid", 1, tmp_path)
    assert sysfs.bridge_options("br-rack", tmp_path).default_pvid == 1


def test_a_kernel_without_vlan_filtering_is_refused(tmp_path: Path) -> None:
    _fake_bridge(tmp_path, filtering=None, pvid=None)
    assert sysfs.bridge_options("br-rack", tmp_path) == sysfs.BridgeOptions(None, None)
    with pytest.raises(EnvironmentMissing, match="no bridge option 'vlan_filtering'"):
        sysfs.write_bridge_option("br-rack", "vlan_filtering", 1, tmp_path)


def test_vlan_device_from_procfs(tmp_path: Path) -> None:
    (tmp_path / "eth0.10").write_text(
        "eth0.10  VID: 10\t REORDER_HDR: 1  dev->priv_flags: 1021\n"
        "         total frames received            0\n"
        "Device: eth0\n"
        "INGRESS priority mappings: 0:0  1:0\n"
    )
    assert sysfs.vlan_device("eth0.10", tmp_path) == ("eth0", 10)
    assert sysfs.vlan_device("eth0", tmp_path) is None


def test_culprit_names_the_port() -> None:
    driver = LinuxBridgeDriver(_switch(2))
    driver._ports = {1: "crp1", 2: "crp2"}  # as a read would have mapped them
    assert driver.culprit("crp2 vlan 999").ports == (2,)
    assert driver.culprit("crp2 vlan 999").what == "vlan 999 of port 2 (crp2)"
    assert driver.culprit("other link").ports == ()
    with pytest.raises(EnvironmentMissing, match=r"needs switch\[\]\.bridge"):
        LinuxBridgeDriver(Switch(id="x", driver="linux-bridge", port_count=1))
