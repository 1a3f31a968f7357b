"""Proof by traffic: ping between the hosts cabled to a switch and check that exactly
the paths the layout allows are open.

Hosts are named like the config's devices (the server plugged into a port), plus
``hospital`` for the namespace on the uplink port. At layer 2 two hosts reach each other
only when both ports are up and share an untagged VLAN; the hospital never shares one
with a server (in *connected* the controller routes, it does not bridge), so every
server -> hospital path must be closed in every phase.

The pinger is anything with ``reachability(pairs)`` (`agent.sim.lab.NetworkLab`, or a
probe host on a real rack); this module never imports the lab.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from agent.conf.schema import RackConfig
from agent.network.manager import ProbeResult
from agent.network.plan import Layout, plan

HOSPITAL = "hospital"


class Pinger(Protocol):
    async def reachability(
        self, pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], bool]: ...


def host_ports(config: RackConfig, switch_id: str) -> dict[str, int]:
    """Host name -> port on ``switch_id``: devices by their port, the uplink as hospital."""
    switch = next(s for s in config.switch if s.id == switch_id)
    hosts = {p.device: p.number for p in switch.ports if p.device and p.role != "uplink"}
    for p in switch.ports:
        if p.role == "uplink":
            hosts[HOSPITAL] = p.number
    return hosts


def expected_paths(
    config: RackConfig, layout: Layout, switch_id: str, hosts: Mapping[str, int]
) -> dict[tuple[str, str], bool]:
    """Every ordered pair of hosts -> whether the layout leaves the path open."""
    ports = plan(config, layout)[switch_id].ports
    out: dict[tuple[str, str], bool] = {}
    for src, sp in hosts.items():
        for dst, dp in hosts.items():
            if src == dst:
                continue
            a, b = ports[sp], ports[dp]
            out[(src, dst)] = a.admin_up and b.admin_up and bool(a.untagged & b.untagged)
    return out


class TrafficProbe:
    """A `Probe` for NetworkManager: ``NetworkManager(..., probe=TrafficProbe(...))``."""

    def __init__(
        self, config: RackConfig, pinger: Pinger, switch_id: str, hosts: Mapping[str, int]
    ) -> None:
        self.config = config
        self.pinger = pinger
        self.switch_id = switch_id
        self.hosts = dict(hosts)

    async def __call__(self, layout: Layout) -> ProbeResult:
        expected = expected_paths(self.config, layout, self.switch_id, self.hosts)
        seen = await self.pinger.reachability(expected)
        wrong = [
            f"{src} -> {dst}: {'open' if seen[(src, dst)] else 'closed'}, should be "
            f"{'open' if want else 'closed'} in phase {layout.phase!r}"
            for (src, dst), want in sorted(expected.items())
            if seen[(src, dst)] != want
        ]
        return ProbeResult(not wrong, tuple(wrong))
