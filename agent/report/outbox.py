"""The durable outbox: every stream message is committed here before it is sent.

A message's ``seq`` is assigned in the same transaction that inserts its row (from
counters kept in ``meta``), so a committed row always has a seq and a rolled-back one never
consumed one. Each *stream* has its own counter, starting at 1 per boot: ``events``
(events, audit entries, status events: everything on the events topic) and each
telemetry topic, so a supervisor that follows only some topics sees a gap only where a
message of those topics was lost (or telemetry of that topic thinned), never because of
a topic it does not follow.

The outbox is bounded. When a commit takes it past ``max_messages``, telemetry is thinned
per topic (one batch in ``telemetry_keep_every`` is kept, oldest first, repeatedly while
needed) down to 90 % of the bound; events and audit entries are never dropped, so an
outbox made only of them may exceed the bound, which ``OutboxStats.over_bound`` reports.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.errors import ConfigError
from agent.report.payloads import OutboxStats
from agent.store import Store

log = logging.getLogger(__name__)

SEQ_KEY = "outbox.seq"
EVENTS_STREAM = "events"


def stream_of(category: str, topic: str) -> str:
    """The stream a message is numbered in: its telemetry topic, or ``events``."""
    return topic if category == "telemetry" else EVENTS_STREAM


THINNED_KEY = "outbox.thinned"
LOW_WATER = 0.9


WireRow = tuple[int, str, int, int, bytes]
"""``(id, topic, qos, retain, payload)``, as `Outbox.fetch_wire` returns it."""


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    seq: int
    category: str
    topic: str
    qos: int
    retain: bool
    payload: bytes
    props: dict[str, Any]


def _meta_get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _meta_set(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


class Outbox:
    """``await outbox.open()`` once, then ``add``/``insert`` from anywhere in the agent."""

    def __init__(
        self, store: Store, boot_id: str, *, max_messages: int, telemetry_keep_every: int
    ) -> None:
        problems = []
        if max_messages < 1:
            problems.append(
                f"mqtt.outbox_max_messages = {max_messages}: must be at least 1 "
                "(try 100000: a day of events and thinned telemetry)"
            )
        if telemetry_keep_every < 2:
            problems.append(
                f"mqtt.telemetry_keep_every = {telemetry_keep_every}: must be at "
                "least 2, or thinning could never free space (try 4)"
            )
        if problems:
            raise ConfigError(problems)
        self.store = store
        self.boot_id = boot_id
        self.max_messages = max_messages
        self.keep_every = telemetry_keep_every
        # Cached counters, only touched on the store thread (inside store calls), which
        # serialises them; the event loop reads them for stats, a momentary race there
        # only makes a reported number one commit stale.
        self._count = 0
        self._thinned = 0
        self._seqs: dict[str, int] = {}
        self._over_bound = False
        self.changed = asyncio.Event()
        """Set after every commit; the sender waits on it when the outbox is drained."""

    async def open(self) -> None:
        def load(conn: sqlite3.Connection) -> None:
            self._count = int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
            self._thinned = int(_meta_get(conn, THINNED_KEY) or 0)
            state = json.loads(_meta_get(conn, SEQ_KEY) or "{}")
            seqs = state.get("seqs", {}) if state.get("boot") == self.boot_id else {}
            self._seqs = {str(stream): int(seq) for stream, seq in seqs.items()}

        await self.store.call(load)
        if self._count:
            self.changed.set()

    @property
    def last_seq(self) -> int:
        """The last ``seq`` committed on the events stream (a status's ``as_of_seq``)."""
        return self._seqs.get(EVENTS_STREAM, 0)

    def seq_of(self, stream: str) -> int:
        return self._seqs.get(stream, 0)

    @property
    def committed(self) -> int:
        """Messages committed this boot, every stream together."""
        return sum(self._seqs.values())

    def stats(self) -> OutboxStats:
        return OutboxStats(
            backlog=self._count,
            max_messages=self.max_messages,
            telemetry_keep_every=self.keep_every,
            thinned=self._thinned,
            over_bound=self._over_bound,
        )

    # --- writing (store thread, inside the caller's transaction) -----------------------

    def insert(
        self,
        conn: sqlite3.Connection,
        *,
        category: str,
        topic: str,
        qos: int,
        retain: bool,
        make: Callable[[int], bytes],
        props: dict[str, Any] | None = None,
    ) -> int:
        """Insert one message; ``make(seq)`` builds its payload with the next seq of its
        stream. Returns the seq."""
        stream = stream_of(category, topic)
        seq = self._seqs.get(stream, 0) + 1
        payload = make(seq)
        conn.execute(
            "INSERT INTO outbox(created, boot_id, seq, category, topic, qos, retain, payload,"
            " props) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(),
                self.boot_id,
                seq,
                category,
                topic,
                qos,
                int(retain),
                payload,
                json.dumps(props or {}),
            ),
        )
        seqs = {**self._seqs, stream: seq}
        _meta_set(conn, SEQ_KEY, json.dumps({"boot": self.boot_id, "seqs": seqs}))
        # Only now, the statements having succeeded, move the counters (a failing
        # statement above leaves them untouched; see reload() for a failed COMMIT).
        self._seqs = seqs
        self._count += 1
        if self._count > self.max_messages:
            self._thin(conn)
        return seq

    def _thin(self, conn: sqlite3.Connection) -> None:
        low_water = int(self.max_messages * LOW_WATER)
        while self._count > low_water:
            # Per topic, so interleaved devices are thinned evenly; keep the first of
            # every `keep_every` batches of each device.
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY topic ORDER BY id)"
                    " AS rn FROM outbox WHERE category = 'telemetry') WHERE (rn - 1) % ? != 0",
                    (self.keep_every,),
                )
            ]
            if not ids:
                break
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(
                    f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                    chunk,
                )
            self._count -= len(ids)
            self._thinned += len(ids)
            _meta_set(conn, THINNED_KEY, str(self._thinned))
        over = self._count > self.max_messages
        if over and not self._over_bound:
            log.warning(
                "outbox: %d messages exceed mqtt.outbox_max_messages = %d with no "
                "telemetry left to thin; keeping them (events and audit entries are "
                "never dropped)",
                self._count,
                self.max_messages,
            )
        self._over_bound = over

    async def add(
        self,
        *,
        category: str,
        topic: str,
        qos: int,
        retain: bool,
        make: Callable[[int], bytes],
        props: dict[str, Any] | None = None,
    ) -> int:
        try:
            seq = await self.store.transaction(
                lambda conn: self.insert(
                    conn,
                    category=category,
                    topic=topic,
                    qos=qos,
                    retain=retain,
                    make=make,
                    props=props,
                )
            )
        except BaseException:
            await self.reload()
            raise
        self.changed.set()
        return seq

    async def reload(self) -> None:
        """Re-read the counters after a failed transaction (they may have run ahead)."""
        await self.open()

    # --- reading and acknowledging (the sender) ---------------------------------------

    async def fetch(self, after_id: int, limit: int) -> list[Row]:
        def read(conn: sqlite3.Connection) -> list[Row]:
            rows = conn.execute(
                "SELECT id, seq, category, topic, qos, retain, payload, props FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
            return [
                Row(
                    int(r[0]),
                    int(r[1]),
                    str(r[2]),
                    str(r[3]),
                    int(r[4]),
                    bool(r[5]),
                    bytes(r[6]),
                    json.loads(r[7]),
                )
                for r in rows
            ]

        return await self.store.call(read)

    async def fetch_wire(self, after_id: int, limit: int) -> list[WireRow]:
        """The sender's read: only what goes on the wire, as plain tuples ``(id, topic,
        qos, retain, payload)`` in id order (no `Row` or props decoding per message)."""

        def read(conn: sqlite3.Connection) -> list[WireRow]:
            cursor = conn.execute(
                "SELECT id, topic, qos, retain, payload FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            )
            # The store's sqlite3.Row factory costs a Python object per row; plain tuples
            # are all the sender needs.
            cursor.row_factory = None
            return cursor.fetchall()

        return await self.store.call(read)

    async def delete_through(self, last_id: int) -> None:
        """Remove every row with ``id <= last_id``, durably, in one statement.

        Only for the sender, once the broker acknowledged every row up to ``last_id``:
        ids grow with each commit (AUTOINCREMENT, one writer thread) and the sender sends
        in id order from the oldest row, so no row at or below it is left unsent.
        """

        def remove(conn: sqlite3.Connection) -> None:
            cursor = conn.execute("DELETE FROM outbox WHERE id <= ?", (last_id,))
            self._count -= cursor.rowcount
            if self._count <= self.max_messages:
                self._over_bound = False

        await self.store.transaction(remove)

    async def delete(self, ids: Sequence[int]) -> None:
        """Remove acknowledged rows (one transaction; ids already gone are ignored)."""
        if not ids:
            return

        def remove(conn: sqlite3.Connection) -> None:
            removed = 0
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                cursor = conn.execute(
                    f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                    chunk,
                )
                removed += cursor.rowcount
            self._count -= removed
            if self._count <= self.max_messages:
                self._over_bound = False

        await self.store.transaction(remove)
