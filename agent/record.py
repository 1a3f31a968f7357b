"""The record: every bus event committed to the store, with or without MQTT.

``async with Record(store, bus, ...) as record:`` owns the durable outbox and the audit
chain. It subscribes to the bus when it is built, so the daemon builds it right after the
bus, before any part can publish: nothing a part says is lost, ``agent.started`` included.
A task pumps the subscription into the store in batches (one transaction each); audit
events are appended to the hash chain and queued for the ARS in the same transaction.
Remote supervision (report/) only *sends* from this outbox: with no ``[mqtt] urls`` the
journal, the chain and the outbox are written all the same, and sent when a broker is
configured later (a drill, a rack set up offline).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from agent.bus import Bus, Event
from agent.errors import StoreError
from agent.report.audit import AuditEntry
from agent.report.outbox import Outbox
from agent.report.recorder import Recorder
from agent.report.topics import Topics
from agent.store import Store

log = logging.getLogger(__name__)

# Events committed per transaction at most: one fsync for many, a bounded transaction.
BATCH = 500

Listener = Callable[[list[Event]], None]


class Record:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        boot_id: str,
        topics: Topics,
        *,
        max_messages: int = 200_000,
        telemetry_keep_every: int = 4,
        telemetry_qos: int = 1,
    ) -> None:
        self.outbox = Outbox(
            store, boot_id, max_messages=max_messages, telemetry_keep_every=telemetry_keep_every
        )
        self.recorder = Recorder(self.outbox, topics, telemetry_qos=telemetry_qos)
        self.bus = bus
        self._sub = bus.subscribe()  # now: whatever is published from here on is kept
        self._listeners: list[Listener] = []
        self._tg: asyncio.TaskGroup | None = None
        self._pump: asyncio.Task[None] | None = None
        self.committed = 0

    def on_commit(self, listener: Listener) -> None:
        """Call ``listener(batch)`` after each batch of bus events is committed."""
        self._listeners.append(listener)

    async def record_audit(self, actor: str, action: str, detail: dict[str, Any]) -> AuditEntry:
        """Append to the audit chain and queue it for MQTT, committed when this returns."""
        return await self.recorder.record_audit(actor, action, detail)

    async def flush(self) -> None:
        """Commit what the bus holds now (a test, a stop): when this returns it is durable."""
        await self._commit(self._take())

    async def __aenter__(self) -> Self:
        await self.outbox.open()
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        self._tg = tg
        self._pump = tg.create_task(self._run(), name="record.bus")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        assert tg is not None
        try:
            if self._pump is not None:
                self._pump.cancel()
            # Only our own pump is stopped here: the body's exception (if any) goes on
            # as it is, not wrapped in the task group's ExceptionGroup.
            await tg.__aexit__(None, None, None)
        finally:
            # Whatever the parts published before the stop is committed, not dropped.
            try:
                await self._commit(self._take())
            except StoreError:
                log.exception("record: could not commit the last events at stop")
            self._sub.close()

    def _take(self, first: Event | None = None) -> list[Event]:
        batch = [first] if first is not None else []
        while len(batch) < BATCH and (event := self._sub.get_nowait()) is not None:
            batch.append(event)
        return batch

    async def _commit(self, batch: list[Event]) -> None:
        if not batch:
            return
        await self.recorder.record_events(batch)
        self.committed += len(batch)
        for listener in self._listeners:
            listener(batch)

    async def _run(self) -> None:
        while True:
            batch = self._take(await self._sub.get())
            retry_logged = False
            while True:
                try:
                    await self._commit(batch)
                    break
                except StoreError as exc:
                    # Keep the batch and retry: the disk may come back (full, remounted).
                    if not retry_logged:
                        log.exception(
                            "record: cannot commit %d events (%s); retrying every second",
                            len(batch),
                            type(exc).__name__,
                        )
                        retry_logged = True
                    await asyncio.sleep(1.0)
