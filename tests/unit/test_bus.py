"""The in-process bus: a subscriber that falls behind loses the oldest telemetry first,
is told how much, and never loses an event or an audit entry."""

from __future__ import annotations

import asyncio
import logging

import pytest

from agent.bus import Bus


async def test_a_slow_subscriber_loses_the_oldest_telemetry_first() -> None:
    bus = Bus()
    sub = bus.subscribe(soft_limit=4)
    bus.emit("telemetry.batch", "health", "telemetry", n=1)
    bus.emit("alarm.raised", "health", n=2)
    bus.emit("telemetry.batch", "health", "telemetry", n=3)
    bus.emit("power.outlet", "power", "audit", n=4)
    bus.emit("telemetry.batch", "health", "telemetry", n=5)  # full: drops n=1
    bus.emit("telemetry.batch", "health", "telemetry", n=6)  # full: drops n=3
    assert sub.dropped_telemetry == 2
    got = []
    while (event := sub.get_nowait()) is not None:
        got.append(event.data["n"])
    assert got == [2, 4, 5, 6]


async def test_events_are_kept_past_the_bound_and_that_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="agent.bus")
    bus = Bus()
    sub = bus.subscribe(soft_limit=2)
    for n in range(5):
        bus.emit("runbook.step", "lifecycle", n=n)
    bus.emit("telemetry.batch", "health", "telemetry", n=99)  # nothing older to drop: itself
    assert len(sub) == 5
    assert sub.dropped_telemetry == 1
    assert [e.data["n"] for e in (sub.get_nowait() for _ in range(5)) if e] == [0, 1, 2, 3, 4]
    warnings = [r for r in caplog.records if "behind" in r.getMessage()]
    assert len(warnings) == 1


async def test_every_subscriber_gets_every_event_and_a_closed_one_none() -> None:
    bus = Bus()
    first, second = bus.subscribe(), bus.subscribe()
    bus.emit("agent.started", "daemon")
    second.close()
    bus.emit("agent.stopping", "daemon")
    assert [e.kind for e in (first.get_nowait(), first.get_nowait()) if e] == [
        "agent.started",
        "agent.stopping",
    ]
    assert second.get_nowait() is not None  # what it had before closing
    assert second.get_nowait() is None


async def test_a_waiting_subscriber_wakes_up_on_publish() -> None:
    bus = Bus()
    sub = bus.subscribe()
    waiter = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    assert not waiter.done()
    bus.emit("alarm.cleared", "health")
    async with asyncio.timeout(1):
        assert (await waiter).kind == "alarm.cleared"


def test_an_unknown_category_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="category 'metrics' is not one of"):
        Bus().emit("x.y", "test", "metrics")
