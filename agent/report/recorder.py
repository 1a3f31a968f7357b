"""Turn what happened into committed outbox rows (and audit entries) in one transaction.

Bus events become `StreamEvent`s on ``events`` (or `TelemetryBatch`es on
``telemetry/{device}``); audit entries are appended to the hash chain *and* queued for
MQTT in the same transaction, so neither exists without the other.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from agent.bus import Event
from agent.report import audit
from agent.report.audit import AuditEntry
from agent.report.outbox import Outbox
from agent.report.payloads import StreamEvent, TelemetryBatch
from agent.report.topics import Topics

T = TypeVar("T")
_encoder = msgspec.json.Encoder()


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """Bus data may hold anything; what cannot be JSON becomes its text, never an error."""
    try:
        _encoder.encode(data)
    except (TypeError, ValueError, OverflowError):
        return {
            key: value if isinstance(value, str | int | float | bool | None) else repr(value)
            for key, value in data.items()
        }
    return data


class Recorder:
    def __init__(self, outbox: Outbox, topics: Topics, *, telemetry_qos: int = 1) -> None:
        self.outbox = outbox
        self.topics = topics
        self.telemetry_qos = telemetry_qos

    # --- in-transaction building blocks (store thread) ---------------------------------

    def event_in(
        self,
        conn: sqlite3.Connection,
        *,
        kind: str,
        source: str,
        category: str,
        data: dict[str, Any],
        ts: float,
    ) -> int:
        boot_id = self.outbox.boot_id
        safe = _json_safe(data)

        def make(seq: int) -> bytes:
            return _encoder.encode(
                StreamEvent(
                    boot_id=boot_id,
                    seq=seq,
                    ts=ts,
                    kind=kind,
                    source=source,
                    category=category,  # type: ignore[arg-type]  # checked by the caller
                    data=safe,
                )
            )

        return self.outbox.insert(
            conn, category=category, topic=self.topics.events, qos=1, retain=False, make=make
        )

    def telemetry_in(self, conn: sqlite3.Connection, event: Event) -> int:
        boot_id = self.outbox.boot_id
        safe = _json_safe(event.data)
        # A batch names its device in its data (the source is the part that polled it).
        device = str(event.data.get("device") or event.source)

        def make(seq: int) -> bytes:
            return _encoder.encode(
                TelemetryBatch(
                    boot_id=boot_id,
                    seq=seq,
                    ts=event.ts,
                    device=device,
                    kind=event.kind,
                    data=safe,
                )
            )

        return self.outbox.insert(
            conn,
            category="telemetry",
            topic=self.topics.telemetry(device),
            qos=self.telemetry_qos,
            retain=False,
            make=make,
        )

    def audit_in(
        self,
        conn: sqlite3.Connection,
        *,
        actor: str,
        action: str,
        detail: dict[str, Any],
        ts: float,
    ) -> AuditEntry:
        entry = audit.append(conn, ts=ts, actor=actor, action=action, detail=_json_safe(detail))
        self.event_in(
            conn,
            kind=f"audit.{action}",
            source=actor,
            category="audit",
            ts=ts,
            data={
                "audit_id": entry.id,
                "actor": actor,
                "action": action,
                "detail": entry.detail,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
            },
        )
        return entry

    def bus_event_in(self, conn: sqlite3.Connection, event: Event) -> None:
        if event.category == "telemetry":
            self.telemetry_in(conn, event)
        elif event.category == "audit":
            # Domain parts report power actions, VLAN changes and operator actions as
            # audit events: the actor is in the data when known, else the source part.
            actor = str(event.data.get("actor", event.source))
            self.audit_in(
                conn, actor=actor, action=event.kind, detail=dict(event.data), ts=event.ts
            )
        else:
            self.event_in(
                conn,
                kind=event.kind,
                source=event.source,
                category=event.category,
                data=dict(event.data),
                ts=event.ts,
            )

    # --- async conveniences ------------------------------------------------------------

    async def record_events(self, events: list[Event]) -> None:
        """Commit a batch of bus events in one transaction (one fsync for many)."""

        def write(conn: sqlite3.Connection) -> None:
            for event in events:
                self.bus_event_in(conn, event)

        await self.commit(write)

    async def record_audit(self, actor: str, action: str, detail: dict[str, Any]) -> AuditEntry:
        ts = time.time()
        return await self.commit(
            lambda conn: self.audit_in(conn, actor=actor, action=action, detail=detail, ts=ts)
        )

    async def commit(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            result = await self.outbox.store.transaction(fn)
        except BaseException:
            await self.outbox.reload()
            raise
        self.outbox.changed.set()
        return result
