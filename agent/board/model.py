"""The fleet as the board sees it: every rack's row and, per rack, its picture.

Rows reuse ``cleanroom watch``'s model (`agent.report.board.Board`: online, state,
alarms, backlog, sequence gaps); this module adds what the page shows beyond a terminal:
since when a rack is online or offline, alarms by severity, the last message of any
kind, the latest readings with a short trend per sensor, the network phase, the restore
timeline and a bounded event log. Everything comes from MQTT payloads (agent.report.payloads),
so a board restarted at any time rebuilds it from retained statuses and the stream.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from agent.board.layout import RackLayout, vlan_role
from agent.board.timeline import Timeline
from agent.report.board import Board, RackRow
from agent.report.payloads import Status, StreamEvent, TelemetryBatch
from agent.report.topics import split_rack_topic

EVENT_LOG = 400
TREND_POINTS = 40
_SEVERE_STATES = frozenset({"safe_hold", "shutdown", "degraded"})
_status_decoder = msgspec.json.Decoder(Status)
_event_decoder = msgspec.json.Decoder(StreamEvent)
_telemetry_decoder = msgspec.json.Decoder(TelemetryBatch)

RackKey = tuple[str, str]


@dataclass(slots=True)
class Reading:
    value: float | None
    unit: str
    kind: str
    status: str
    trend: deque[float] = field(default_factory=lambda: deque(maxlen=TREND_POINTS))


@dataclass(slots=True)
class RackDetail:
    online_since: float = 0.0
    was_online: bool | None = None
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    readings: dict[str, dict[str, Reading]] = field(default_factory=dict)
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=EVENT_LOG))
    network_phase: str = ""
    timeline: Timeline = field(default_factory=Timeline)
    last_message: float = 0.0
    last_seq: int = 0


def _alarm_key(device: str, name: str) -> str:
    return f"{device}:{name}"


class FleetModel:
    """Apply MQTT messages; say which rack changed; render rows and pictures as JSON."""

    def __init__(
        self,
        prefix: str,
        layouts: dict[RackKey, RackLayout] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.prefix = prefix
        self.rows = Board(prefix, clock=clock)
        self.details: dict[RackKey, RackDetail] = {}
        self.layouts = layouts or {}
        self.clock = clock
        self.ignored = 0

    def update(self, topic: str, payload: bytes) -> RackKey | None:
        """Apply one message; the rack it changed, or None when it is not ours or bad."""
        where = split_rack_topic(self.prefix, topic)
        if where is None:
            return None
        site, rack, rest = where
        key = (site, rack)
        try:
            if rest == "status":
                status = _status_decoder.decode(payload)
                self.rows.update(topic, payload)
                self._status(key, status)
            elif rest == "events":
                event = _event_decoder.decode(payload)
                self.rows.update(topic, payload)
                self._event(key, event)
            elif rest.startswith("telemetry/"):
                self._telemetry(key, _telemetry_decoder.decode(payload))
            else:
                return None
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            self.ignored += 1
            return None
        return key

    def _detail(self, key: RackKey) -> RackDetail:
        detail = self.details.get(key)
        if detail is None:
            detail = self.details[key] = RackDetail()
            self.rows.racks.setdefault(key, RackRow(*key))
        return detail

    def _status(self, key: RackKey, status: Status) -> None:
        detail = self._detail(key)
        if detail.was_online is not status.online:
            # The will carries no time (the rack cannot know when it is published):
            # offline since we heard it.
            offline_at = self.clock() if status.ts is None else status.ts
            detail.online_since = self.clock() if status.online else offline_at
            detail.was_online = status.online
        if status.online:
            detail.devices = dict(status.devices)
            detail.alarms = {
                _alarm_key(a.device, a.name): {
                    "device": a.device,
                    "name": a.name,
                    "severity": a.severity,
                    "since": a.since,
                    "message": a.message,
                }
                for a in status.alarms
            }
        detail.last_message = self.clock()

    def _event(self, key: RackKey, event: StreamEvent) -> None:
        detail = self._detail(key)
        detail.last_message = self.clock()
        detail.last_seq = max(detail.last_seq, event.seq)
        data = event.data
        detail.events.append(
            {
                "seq": event.seq,
                "ts": event.ts,
                "kind": event.kind,
                "source": event.source,
                "category": event.category,
                "data": data,
            }
        )
        kind = event.kind
        if kind in {"alarm.raised", "alarm.cleared"}:
            device = str(data.get("device", event.source))
            name = str(data.get("name") or f"{data.get('kind', '?')}/{data.get('sensor', '?')}")
            if kind == "alarm.raised":
                detail.alarms[_alarm_key(device, name)] = {
                    "device": device,
                    "name": name,
                    "severity": str(data.get("severity", "warning")),
                    "since": event.ts,
                    "message": str(data.get("message", "")),
                }
            else:
                detail.alarms.pop(_alarm_key(device, name), None)
        elif kind == "runbook.step":
            detail.timeline.step_event(event.ts, data)
        elif kind == "lifecycle.transition":
            if data.get("state") == "restore" and data.get("previous") != "restore":
                detail.timeline.restore_started(event.ts)
        elif kind == "network.applied":
            detail.network_phase = str(data.get("phase", ""))
        elif kind in ("network.isolated", "network.isolate"):
            detail.network_phase = "quarantine"
        elif kind == "device.state":
            device = str(data.get("device", ""))
            if device:
                detail.devices.setdefault(device, {})["state"] = data.get("new")

    def _telemetry(self, key: RackKey, batch: TelemetryBatch) -> None:
        detail = self._detail(key)
        detail.last_message = self.clock()
        # A telemetry topic numbers its own stream: last_seq is the events stream's.
        row = self.rows.racks[key]
        row.last_seen = detail.last_message
        readings = batch.data.get("readings")
        if not isinstance(readings, list):
            return
        sensors = detail.readings.setdefault(batch.device, {})
        for item in readings:
            if not isinstance(item, dict):
                continue
            sensor = item.get("sensor")
            value = item.get("value")
            if not isinstance(sensor, str):
                continue
            number = float(value) if isinstance(value, int | float) else None
            reading = sensors.get(sensor)
            if reading is None:
                reading = sensors[sensor] = Reading(
                    number, str(item.get("unit", "")), str(item.get("kind", "")), ""
                )
            reading.value = number
            reading.status = str(item.get("status", ""))
            if number is not None:
                reading.trend.append(number)

    # --- views ---------------------------------------------------------------------------

    def row(self, key: RackKey) -> dict[str, Any]:
        row = self.rows.racks[key]
        detail = self._detail(key)
        severities: dict[str, int] = {}
        for alarm in detail.alarms.values():
            severities[alarm["severity"]] = severities.get(alarm["severity"], 0) + 1
        runs = detail.timeline.steps.values()
        return {
            "id": f"{row.site}/{row.rack}",
            "site": row.site,
            "rack": row.rack,
            "online": row.online,
            "since": detail.online_since,
            "state": row.state,
            "version": row.version,
            "alarms": severities,
            "backlog": row.backlog,
            "thinned": row.thinned,
            "gaps": row.gaps,
            "last_message": detail.last_message,
            "last_seq": detail.last_seq,
            "last_event": row.last_event,
            "steps_done": sum(1 for r in runs if r.state == "done"),
            "steps_total": max(len(runs), len(self._layout_steps(key))),
            "rank": self.rank(key),
        }

    def _layout_steps(self, key: RackKey) -> dict[str, Any]:
        layout = self.layouts.get(key)
        return dict(layout.steps) if layout else {}

    def rank(self, key: RackKey) -> list[int]:
        """Sort key, smallest first: the rack that needs attention is on top (offline,
        then critical alarms, a state needing a person, warnings, gaps, backlog)."""
        row = self.rows.racks[key]
        alarms = self._detail(key).alarms.values()
        critical = sum(1 for a in alarms if a["severity"] == "critical")
        return [
            0 if not row.online else 1,
            -critical,
            0 if row.state in _SEVERE_STATES else 1,
            -(len(alarms) - critical),
            -min(row.gaps, 10**6),
            -min(row.backlog, 10**9),
        ]

    def fleet(self) -> list[dict[str, Any]]:
        rows = [self.row(key) for key in self.rows.racks]
        rows.sort(key=lambda r: (r["rank"], r["id"]))
        return rows

    def picture(self, key: RackKey) -> dict[str, Any] | None:
        if key not in self.rows.racks:
            return None
        detail = self._detail(key)
        layout = self.layouts.get(key)
        phase = detail.network_phase
        ports: dict[str, list[dict[str, Any]]] = {}
        if layout:
            for switch, plan in layout.switches.items():
                sensors = detail.readings.get(switch, {})
                ports[switch] = [
                    {
                        "n": p.number,
                        "role": p.role,
                        "vlan_role": vlan_role(p.role, phase),
                        "device": p.device,
                        "name": p.name,
                        "admin": _value(sensors, f"port/{p.number}/admin"),
                        "oper": _value(sensors, f"port/{p.number}/oper"),
                    }
                    for p in plan
                ]
        return {
            "row": self.row(key),
            "devices": detail.devices,
            "alarms": sorted(detail.alarms.values(), key=lambda a: (a["severity"], a["device"])),
            "readings": {
                device: {
                    sensor: {
                        "value": r.value,
                        "unit": r.unit,
                        "kind": r.kind,
                        "status": r.status,
                        "trend": list(r.trend),
                    }
                    for sensor, r in sensors.items()
                }
                for device, sensors in detail.readings.items()
            },
            "network_phase": phase,
            "ports": ports,
            "layout": layout.as_json() if layout else None,
            "timeline": detail.timeline.as_json(layout),
            "events": list(detail.events),
        }


def _value(sensors: dict[str, Reading], name: str) -> float | None:
    reading = sensors.get(name)
    return reading.value if reading else None
