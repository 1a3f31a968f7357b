"""The Linux-bridge driver on this host's kernel, with or without bridge VLAN filtering:
where the kernel cannot filter, the driver must refuse a bridge (it would forward between
every port) with an error that says why and what to run on, before touching it; where it
can, it makes a plain bridge fail-closed itself; and the driver table builds it for
``driver = "linux-bridge"`` switches. The proofs by traffic are in test_lab_isolation.py
(kernel lab)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from agent.adapters.netlink import Netlink
from agent.conf import RackConfig, parse_config
from agent.devices.switch import linuxbridge_sysfs as sysfs
from agent.devices.switch.drivers import drivers_for
from agent.devices.switch.linuxbridge import LinuxBridgeDriver
from agent.errors import EnvironmentMissing

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"


def bridge_rack(bridge: str, *, controller: dict[str, str] | None = None) -> RackConfig:
    """The demo rack with its switch replaced by a 4-port Linux bridge: hv-1 on port 1,
    hv-2 on port 2, port 3 unused (parked), the hospital uplink on port 4."""
    doc: dict[str, Any] = tomllib.loads(DEMO.read_text())
    power = doc["switch"][0]["power"]
    doc["switch"] = [
        {
            "id": "tor-1",
            "driver": "linux-bridge",
            "bridge": bridge,
            "port_count": 4,
            "power": power,
            "ports": [
                {"number": 1, "role": "server", "device": "hv-1"},
                {"number": 2, "role": "server", "device": "hv-2"},
                {"number": 3, "role": "unused"},
                {"number": 4, "role": "uplink", "name": "hospital"},
            ],
        }
    ]
    if controller:
        doc["controller"] |= controller
    return parse_config(tomli_w.dumps(doc), path=DEMO)


def test_drivers_for_builds_the_linux_bridge_driver() -> None:
    drivers = drivers_for(bridge_rack("br-rack"))
    driver = drivers["tor-1"]
    assert isinstance(driver, LinuxBridgeDriver)
    assert driver.bridge == "br-rack"


async def test_a_bridge_without_vlan_filtering_is_made_fail_closed_or_refused() -> None:
    """A bridge created without filtering, ports up: on a kernel that can filter VLANs
    (Debian's, the controller's) the driver shuts the members, then sets vlan_filtering 1
    and default_pvid 0 and reads them back; on one that cannot (the development kernel)
    it refuses before any write, saying why and where to run."""
    if os.geteuid() != 0:
        pytest.skip("creating a bridge needs root (CAP_NET_ADMIN)")
    name = f"crlb{os.getpid() % 100000}"
    async with Netlink() as nl:
        await nl.create_bridge(name, vlan_filtering=False)
        try:
            for port in (1, 2, 3, 4):
                await nl.create_veth(f"{name}p{port}", f"{name}h{port}")
                await nl.set_master(f"{name}p{port}", name)
                await nl.set_up(f"{name}p{port}")
            if sysfs.bridge_options(name).vlan_filtering is not None:
                async with LinuxBridgeDriver(bridge_rack(name).switch[0]):
                    options = sysfs.bridge_options(name)
                    assert options.vlan_filtering is True
                    assert options.default_pvid == 0
                    # Shut before filtering went on: nothing forwarded meanwhile.
                    assert not any([await nl.is_up(f"{name}p{port}") for port in (1, 2, 3, 4)])
                return
            with pytest.raises(EnvironmentMissing) as caught:
                async with LinuxBridgeDriver(bridge_rack(name).switch[0]):
                    pass
            message = str(caught.value)
            assert f"bridge {name} cannot filter VLANs" in message
            assert "CONFIG_BRIDGE_VLAN_FILTERING" in message
            assert "Debian's kernel" in message
            # Refused before any write: the members were left as they were.
            assert all([await nl.is_up(f"{name}p{port}") for port in (1, 2, 3, 4)])
        finally:
            for port in (1, 2, 3, 4):
                await nl.delete(f"{name}p{port}", missing_ok=True)
            await nl.delete(name, missing_ok=True)
