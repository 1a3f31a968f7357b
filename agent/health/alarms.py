"""The alarm book and the policy it implies.

An alarm is raised and cleared on edges only, each edge an event on the bus
(``alarm.raised`` / ``alarm.cleared``, category "event", which the report publishes).
The book holds the alarms active now, for the snapshot and the MQTT birth message.

Policy lives here, never in a driver: every alarm carries an ``action`` (from its
threshold in the rack config, or from the device-state rules of the watch), and the rack
as a whole is in the most severe action of its active alarms: ``none`` < ``degraded`` <
``shutdown``. Each change of that level is a :class:`PolicyAction` (``degraded``,
``shutdown``, ``recovered``) that the lifecycle consumes, through a callback or the
async iterator of :meth:`AlarmBook.actions`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import msgspec

from agent.bus import Bus, Event
from agent.errors import PolicyRefusal

log = logging.getLogger(__name__)

Action = Literal["none", "degraded", "isolate", "shutdown"]
Severity = Literal["info", "warning", "critical"]
PolicyVerb = Literal["degraded", "isolate", "shutdown", "recovered"]
_RANK: dict[str, int] = {"none": 0, "degraded": 1, "isolate": 2, "shutdown": 3}


class Alarm(msgspec.Struct, frozen=True, kw_only=True):
    """One active alarm. ``id`` is stable for a (rule, device, sensor) so a raise and
    its clear pair up on the ARS side."""

    id: str
    device: str
    sensor: str
    kind: str
    value: float | None
    severity: Severity
    action: Action
    message: str
    raised_at: float  # wall clock


class PolicyAction(msgspec.Struct, frozen=True, kw_only=True):
    """What the rack should do now, with the alarms that decided it."""

    verb: PolicyVerb
    level: Action
    alarms: tuple[str, ...]
    at: float


class AlarmBook:
    """Active alarms, the bus events of their edges and the policy level they imply."""

    def __init__(self, bus: Bus, source: str = "health", *, wall: Callable[[], float] = time.time):
        self._bus = bus
        self._source = source
        self._wall = wall
        self._active: dict[str, Alarm] = {}
        self.acked: dict[str, tuple[str, float]] = {}  # alarm id -> (who, when)
        self._level: Action = "none"
        self._listeners: list[Callable[[PolicyAction], None]] = []
        self._queues: list[asyncio.Queue[PolicyAction]] = []

    @property
    def level(self) -> Action:
        return self._level

    def active(self) -> list[Alarm]:
        return sorted(self._active.values(), key=lambda a: (a.raised_at, a.id))

    def is_active(self, alarm_id: str) -> bool:
        return alarm_id in self._active

    def raise_alarm(
        self,
        alarm_id: str,
        *,
        device: str,
        sensor: str,
        kind: str,
        value: float | None,
        severity: Severity,
        action: Action,
        message: str,
    ) -> bool:
        """Raise unless already active; True when this was an edge (an event was sent)."""
        if alarm_id in self._active:
            return False
        alarm = Alarm(
            id=alarm_id,
            device=device,
            sensor=sensor,
            kind=kind,
            value=value,
            severity=severity,
            action=action,
            message=message,
            raised_at=self._wall(),
        )
        self._active[alarm_id] = alarm
        log.warning("alarm raised: %s (%s, action %s)", message, severity, action)
        self._bus.publish(Event(kind="alarm.raised", source=self._source, data=_payload(alarm)))
        self._update_level()
        return True

    def clear_alarm(self, alarm_id: str, *, value: float | None, message: str) -> bool:
        """Clear if active; True when this was an edge."""
        alarm = self._active.pop(alarm_id, None)
        if alarm is None:
            return False
        self.acked.pop(alarm_id, None)
        log.info("alarm cleared: %s", message)
        data = _payload(alarm)
        data.update(value=value, message=message, duration_s=self._wall() - alarm.raised_at)
        # publish, not emit: the payload has its own "kind" (the sensor kind).
        self._bus.publish(Event(kind="alarm.cleared", source=self._source, data=data))
        self._update_level()
        return True

    def acknowledge(self, alarm_id: str, *, actor: str, reason: str) -> Alarm:
        """An operator saw the alarm: recorded and audited; it stays active (and keeps
        its policy action) until its cause clears."""
        alarm = self._active.get(alarm_id)
        if alarm is None:
            known = ", ".join(sorted(self._active)) or "none"
            raise PolicyRefusal(f"alarm {alarm_id!r} is not active; active alarms: {known}")
        self.acked[alarm_id] = (actor, self._wall())
        data = _payload(alarm) | {"actor": actor, "reason": reason}
        # publish, not emit: the payload has its own "kind" (the sensor kind).
        self._bus.publish(
            Event(kind="alarm.acknowledged", source=self._source, category="audit", data=data)
        )
        return alarm

    # --- policy consumers ------------------------------------------------------------

    def on_action(self, listener: Callable[[PolicyAction], None]) -> None:
        """Call ``listener`` on every change of the policy level (synchronously)."""
        self._listeners.append(listener)

    async def actions(self) -> AsyncIterator[PolicyAction]:
        """Policy actions from now on, as an async iterator (for the lifecycle)."""
        queue: asyncio.Queue[PolicyAction] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    def _update_level(self) -> None:
        level: Action = "none"
        for alarm in self._active.values():
            if _RANK[alarm.action] > _RANK[level]:
                level = alarm.action
        if level == self._level:
            return
        self._level = level
        verb: PolicyVerb = "recovered" if level == "none" else level
        deciding = tuple(sorted(a.id for a in self._active.values() if a.action == level != "none"))
        action = PolicyAction(verb=verb, level=level, alarms=deciding, at=self._wall())
        log.warning("health policy: %s (alarms: %s)", verb, ", ".join(deciding) or "none")
        self._bus.emit(
            "health.policy", self._source, "event", verb=verb, level=level, alarms=list(deciding)
        )
        for listener in self._listeners:
            listener(action)
        for queue in self._queues:
            queue.put_nowait(action)


def _payload(alarm: Alarm) -> dict[str, Any]:
    return {
        "id": alarm.id,
        "device": alarm.device,
        "sensor": alarm.sensor,
        "kind": alarm.kind,
        "value": alarm.value,
        "severity": alarm.severity,
        "action": alarm.action,
        "message": alarm.message,
    }
