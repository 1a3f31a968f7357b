"""A simulated 24-port switch over real UDP, and the demo rack's config pointed at it."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
import tomli_w

from agent.bus import Bus, Subscription
from agent.conf import RackConfig, parse_config
from agent.network.manager import NetworkManager
from agent.sim.snmp import SimulatedRack, SwitchModel, SwitchSpec

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"


def rack_config(port: int, *, drift: str = "repair", interval: str = "300ms") -> RackConfig:
    return parse_config(rack_toml(port, drift=drift, interval=interval), path=DEMO)


def rack_toml(port: int, *, drift: str = "repair", interval: str = "300ms") -> str:
    """The demo rack's config with its switch on the simulator's UDP port."""
    doc: dict[str, Any] = tomllib.loads(DEMO.read_text())
    doc["switch"][0]["snmp_port"] = port
    doc["credentials"]["net-v2c"]["community"] = "public"
    doc["credentials"]["net-v2c"]["write_community"] = "public"
    doc["credentials"]["net-v2c"]["timeout"] = "500ms"
    doc["credentials"]["net-v2c"]["retries"] = 1
    doc["policy"] = {"drift": drift, "reconcile_interval": interval}
    return tomli_w.dumps(doc)


@dataclass
class Lab:
    rack: SimulatedRack
    switch: SwitchModel
    config: RackConfig
    bus: Bus
    events: Subscription

    def drain(self) -> list[Any]:
        found = []
        while (event := self.events.get_nowait()) is not None:
            found.append(event)
        return found


@pytest_asyncio.fixture
async def lab() -> AsyncIterator[Lab]:
    # The factory state the agent must fix: every port untagged in VLAN 1 with PVID 1,
    # and the hospital uplink (24) cabled and up.
    spec = SwitchSpec("tor-1", ports=24, connected={1, 2, 3, 4, 5, 23, 24})
    async with SimulatedRack([spec]) as rack:
        bus = Bus()
        yield Lab(
            rack, rack.switch("tor-1"), rack_config(rack.endpoint("tor-1")[1]), bus, bus.subscribe()
        )


@pytest_asyncio.fixture
async def net(lab: Lab) -> AsyncIterator[NetworkManager]:
    async with NetworkManager(lab.config, lab.bus, reconcile=False) as manager:
        yield manager
