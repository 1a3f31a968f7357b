"""The record: every bus event committed to the store, with or without MQTT.

``async with Record(store, bus, ...) as record:`` owns the durable outbox and the audit
chain. It subscribes to the bus when it is built, so the daemon builds it right after the
bus, before any part can publish: nothing a part says is lost, ``agent.started`` included.
A task pumps the subscription into the store in batches (one transaction each); audit
events are appended to the hash chain and queued for the ARS in the same transaction.
Remote supervision (report/) only *sends* from this outbox: with no ``[mqtt] urls`` the
journal, the chain and the outbox are written all the same, and sent when a broker is
configured later (a drill, a rack set up offline).

A journal entry and the event that announces it are one record: `commit_with` runs the
journal's write and commits the event in the same transaction (after every event
published before it, so the outbox keeps the bus's order), then hands the event to the
bus's other subscribers; the record's own subscription never sees it, so it is committed
once. A crash at any instant leaves both or neither.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from agent.bus import Bus, Event, check_category
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
T = TypeVar("T")


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
        # The pump's batch while it waits to retry a failed commit: `commit_with` takes
        # it first, so a journal entry never overtakes events published before it.
        self._stalled: list[Event] | None = None
        self.committed = 0

    def on_commit(self, listener: Listener) -> None:
        """Call ``listener(batch)`` after each batch of bus events is committed."""
        self._listeners.append(listener)

    async def record_audit(self, actor: str, action: str, detail: dict[str, Any]) -> AuditEntry:
        """Append to the audit chain and queue it for MQTT, committed when this returns,
        after every event the bus holds now (so a command's result is never chained
        before the audit entry of the action it reports)."""
        ts = time.time()
        return await self.commit_with(
            lambda conn: self.recorder.audit_in(
                conn, actor=actor, action=action, detail=detail, ts=ts
            )
        )

    async def flush(self) -> None:
        """Commit what the bus holds now (a test, a stop): when this returns it is durable."""
        while batch := self._take():
            await self._commit(batch)

    async def commit_with(
        self, fn: Callable[[sqlite3.Connection], T], events: Sequence[Event] = ()
    ) -> T:
        """Run ``fn(conn)`` and commit ``events`` in one transaction, after every event the
        bus holds now; then publish ``events`` to the bus's other subscribers. When this
        returns, all of it is durable; if it raises, none of it was committed (the events
        taken from the bus go back to the pump).

        A cancellation of the caller does not stop the transaction (it runs on the store
        thread): its outcome is folded in when it ends, and the cancellation goes on.
        """
        for event in events:
            check_category(event)
        pending = [*(self._stalled or ()), *self._drain()]
        if self._stalled is not None:
            self._stalled = []  # taken: the pump's retry finds it committed here

        def write(conn: sqlite3.Connection) -> T:
            for event in pending:
                self.recorder.bus_event_in(conn, event)
            result = fn(conn)
            for event in events:
                self.recorder.bus_event_in(conn, event)
            return result

        def settled(task: asyncio.Task[T]) -> None:
            if task.cancelled() or task.exception() is not None:
                self._sub.put_back(pending)  # not committed: the pump commits them later
                return
            for event in events:
                self.bus.publish(event, already=self._sub)
            self._committed_now([*pending, *events])

        # The task's first step submits the transaction to the store thread; tasks step in
        # the order they were scheduled, so a pump woken by a later event submits after it.
        task = asyncio.ensure_future(self.recorder.commit(write))
        task.add_done_callback(settled)  # runs before the caller resumes
        return await asyncio.shield(task)

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
                await self.flush()
            except StoreError:
                log.exception("record: could not commit the last events at stop")
            self._sub.close()

    def _take(self, first: Event | None = None) -> list[Event]:
        batch = [first] if first is not None else []
        while len(batch) < BATCH and (event := self._sub.get_nowait()) is not None:
            batch.append(event)
        return batch

    def _drain(self) -> list[Event]:
        batch = []
        while (event := self._sub.get_nowait()) is not None:
            batch.append(event)
        return batch

    async def _commit(self, batch: list[Event]) -> None:
        if not batch:
            return
        await self.recorder.record_events(batch)
        self._committed_now(batch)

    def _committed_now(self, batch: list[Event]) -> None:
        self.committed += len(batch)
        for listener in self._listeners:
            listener(batch)

    async def _run(self) -> None:
        while True:
            batch: list[Event] | None = self._take(await self._sub.get())
            retry_logged = False
            while batch:
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
                    self._stalled = batch
                    try:
                        await asyncio.sleep(1.0)
                    except asyncio.CancelledError:
                        self._sub.put_back(self._stalled or [])  # the stop's flush has a go
                        self._stalled = None
                        raise
                    # Emptied if a journal write committed it meanwhile.
                    batch, self._stalled = self._stalled, None
