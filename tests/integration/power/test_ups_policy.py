"""The UPS policy against the simulated UPS over UDP: on battery, critical (low runtime or
silent past the dead time), the staged shutdown in reverse order with the protected
outlets left on, and mains back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.bus import Bus, Event
from agent.conf import RackConfig, load_config
from agent.power.manager import DecisionStream, PowerManager
from agent.power.ups_policy import UpsDecision
from agent.sim.compose import SimRack
from tests.integration.power import demo_rack
from tests.integration.power.demo_rack import fast_demo_path, quicken

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
POLL_S = 0.1


def fast_demo(tmp_path: Path, **replace: str) -> RackConfig:
    return load_config(
        fast_demo_path(tmp_path, snmp_timeout="200ms", snmp_retries=0, replace=replace)
    )


def manager(config: RackConfig, bus: Bus, **kwargs: bool) -> PowerManager:
    return demo_rack.manager(config, bus, watch_ups=True, ups_interval_s=POLL_S, **kwargs)


async def next_decision(stream: DecisionStream) -> UpsDecision:
    async with asyncio.timeout(10):
        return await stream.get()


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[SimRack]:
    # low_runtime of a day: any time on battery is critical at once.
    config = fast_demo(tmp_path, **{r'^low_runtime = "10min"': 'low_runtime = "24h"'})
    async with SimRack(config) as rack:
        yield quicken(rack)


async def test_on_battery_shuts_the_rack_down_in_reverse_and_keeps_protected_outlets(
    sim: SimRack,
) -> None:
    bus = Bus()
    events = bus.subscribe()
    async with manager(sim.config, bus, auto_shutdown=True) as power:
        stream = power.decisions()
        await power.power_up()
        assert all(sim.host_on(s) for s in ("stor-1", "hv-1", "hv-2", "hv-3", "bkp-1"))
        mark = len(sim.snmp.set_log.entries())
        sim.snmp.ups("ups-1").mains_lost()
        first = await next_decision(stream)
        second = await next_decision(stream)
        assert (first.kind, second.kind) == ("on_battery", "critical")
        assert "below low_runtime 86400 s" in second.reason
        done: Event | None = None
        async with asyncio.timeout(30):
            while done is None:
                event = await events.get()
                if event.kind == "power.sequence" and event.data.get("phase") == "finished":
                    done = event if event.data["direction"] == "down" else None
        assert done.data["ok"], done.data["errors"]
        assert power.last_shutdown is not None
        assert power.last_shutdown.reason.startswith("UPS critical: ups-1: on battery")

    offs = [
        (e.device, int(e.oid.split(".")[1]))
        for e in sim.snmp.set_log.entries()[mark:]
        if e.kind == "power" and e.oid.startswith("outlet.") and e.value is False
    ]
    # Workload in reverse: hypervisors (last first), then storage; each device's last
    # cord first. The switch (1) and the controller (24) stay on.
    assert [n for _, n in offs] == [6, 6, 5, 5, 4, 4, 3, 3, 2, 2]
    assert [pdu for pdu, _ in offs[:2]] == ["pdu-b", "pdu-a"]
    for pdu in ("pdu-a", "pdu-b"):
        for protected in (1, 24):
            assert sim.snmp.outlet_powered(pdu, protected), (pdu, protected)
    assert not any(sim.host_on(s) for s in ("stor-1", "hv-1", "hv-2", "hv-3", "bkp-1"))


async def test_mains_back_then_return_allowed_and_a_silent_ups_on_mains_is_not_critical(
    tmp_path: Path,
) -> None:
    config = fast_demo(tmp_path, **{r'^dead_time = "60s"': 'dead_time = "300ms"'})
    bus = Bus()
    async with SimRack(config) as sim, manager(config, bus) as power:
        quicken(sim)
        stream = power.decisions()
        ups = sim.snmp.ups("ups-1")
        ups.mains_lost()
        on_battery = await next_decision(stream)
        assert on_battery.kind == "on_battery"
        assert "mains lost: on battery" in on_battery.reason
        assert on_battery.runtime_s is not None
        assert on_battery.runtime_s > 600
        ups.mains_restored()
        assert [(await next_decision(stream)).kind for _ in range(2)] == [
            "mains_back",
            "return_allowed",
        ]
        # Silent on mains: lost, then back; never critical, however long it lasts.
        ups.faults.silent = True
        assert (await next_decision(stream)).kind == "ups_lost"
        await asyncio.sleep(3 * 0.3)  # three dead times
        ups.faults.silent = False
        assert (await next_decision(stream)).kind == "ups_back"
        assert stream.pending() == 0


async def test_a_ups_silent_past_the_dead_time_while_on_battery_is_critical(
    tmp_path: Path,
) -> None:
    config = fast_demo(tmp_path, **{r'^dead_time = "60s"': 'dead_time = "400ms"'})
    bus = Bus()
    sub = bus.subscribe()
    async with SimRack(config) as sim, manager(config, bus) as power:
        quicken(sim)
        stream = power.decisions()
        ups = sim.snmp.ups("ups-1")
        ups.mains_lost()
        assert (await next_decision(stream)).kind == "on_battery"
        ups.faults.silent = True
        lost = await next_decision(stream)
        critical = await next_decision(stream)
        assert lost.kind == "ups_lost"
        assert critical.kind == "critical"
        assert "while last seen on battery" in critical.reason
        assert "dead_time 0.4 s" in critical.reason
        assert power.last_shutdown is None, "without auto_shutdown the lifecycle decides"
    kinds = []
    while (event := sub.get_nowait()) is not None:
        kinds.append(event.kind)
    assert kinds[:3] == ["power.ups_on_battery", "power.ups_lost", "power.ups_critical"]
