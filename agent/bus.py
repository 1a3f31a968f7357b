"""The in-process event bus: how parts tell the rest of the agent what happened.

Domain parts (power, network, health, lifecycle) publish `Event`s; `report/` subscribes
and turns them into MQTT messages through the durable outbox, so no domain module
imports MQTT code. Publishing never blocks and never fails: each subscriber has its own
bounded queue, and a subscriber that falls behind loses the *oldest telemetry* first and
is told how much it lost; events of other categories are never dropped (the queue then
grows past its soft bound, which is logged once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import msgspec

log = logging.getLogger(__name__)

# Categories, as used on the MQTT side: 'event' (transitions, steps, alarms), 'audit',
# 'telemetry' (sensor batches), 'status' (lifecycle state changes for the retained status).
CATEGORIES = frozenset({"event", "audit", "telemetry", "status"})


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened, in our own words. ``kind`` is dotted: ``alarm.raised``,
    ``lifecycle.transition``, ``runbook.step``, ``power.outlet``, ``telemetry.batch``..."""

    kind: str
    source: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    category: str = "event"
    ts: float = msgspec.field(default_factory=time.time)


def check_category(event: Event) -> None:
    if event.category not in CATEGORIES:
        raise ValueError(
            f"event {event.kind!r}: category {event.category!r} is not one of {sorted(CATEGORIES)}"
        )


class Subscription:
    """One subscriber's queue. Iterate it with ``async for event in sub``."""

    def __init__(self, bus: Bus, soft_limit: int) -> None:
        self._bus = bus
        self._items: deque[Event] = deque()
        self._soft_limit = soft_limit
        self._wakeup = asyncio.Event()
        self.dropped_telemetry = 0
        self._overflow_logged = False

    def _put(self, event: Event) -> None:
        if len(self._items) >= self._soft_limit:
            for index, queued in enumerate(self._items):
                if queued.category == "telemetry":
                    del self._items[index]
                    self.dropped_telemetry += 1
                    break
            else:
                if event.category == "telemetry":
                    self.dropped_telemetry += 1
                    return
                if not self._overflow_logged:
                    log.warning(
                        "bus subscriber is %d events behind; keeping them all "
                        "(events are never dropped)",
                        len(self._items),
                    )
                    self._overflow_logged = True
        self._items.append(event)
        self._wakeup.set()

    async def get(self) -> Event:
        while not self._items:
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._items.popleft()

    def get_nowait(self) -> Event | None:
        return self._items.popleft() if self._items else None

    def put_back(self, events: list[Event]) -> None:
        """Return events taken with `get_nowait` to the front of the queue, in order (a
        commit that failed gives back what it took, so nothing is lost)."""
        self._items.extendleft(reversed(events))
        if self._items:
            self._wakeup.set()

    def __len__(self) -> int:
        return len(self._items)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()

    def close(self) -> None:
        self._bus._subscribers.discard(self)


class Bus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def subscribe(self, soft_limit: int = 10_000) -> Subscription:
        sub = Subscription(self, soft_limit)
        self._subscribers.add(sub)
        return sub

    def publish(self, event: Event, *, already: Subscription | None = None) -> None:
        """Deliver ``event`` to every subscriber but ``already``, the one that has it (the
        record, which committed it with the journal entry it announces)."""
        check_category(event)
        for sub in tuple(self._subscribers):
            if sub is not already:
                sub._put(event)

    def emit(self, kind: str, source: str, category: str = "event", **data: Any) -> Event:
        event = Event(kind=kind, source=source, data=data, category=category)
        self.publish(event)
        return event
