"""The lifecycle journal: every transition and every runbook step, committed to the store
*before* its effect starts and again when it completes.

After a crash or a power cut the agent reads the journal back: the last transition says
which state to resume, and each step's last entry says whether it is done (never redone),
started but unfinished (re-checked, then completed or retried) or not started.

An entry may carry the bus event that announces it (``announce=``): with the agent's
record (agent/record.py) the entry and the event's outbox row (and audit entry) commit in
one transaction, so after a crash the journal never holds a transition or a step that
the record does not. Without a record (a test of the lifecycle alone) the event is
published on the given bus once the entry is committed.

Crash-point testing: when ``CLEANROOM_CRASH_AT_JOURNAL_WRITE=N`` is set, the process
kills itself with SIGKILL right after its N-th journal commit. The crash-point test uses
it to stop the agent at every journal write in turn; it has no other effect.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.bus import Bus, Event
from agent.errors import AgentError
from agent.store import Store

if TYPE_CHECKING:
    from agent.record import Record

CRASH_ENV = "CLEANROOM_CRASH_AT_JOURNAL_WRITE"


@dataclass
class StepRecord:
    """What the journal knows of one step, folded from its entries in order."""

    step_id: str
    status: str = "pending"  # pending, started, done, failed, skipped, blocked
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    first_started_at: float | None = None
    output: str = ""
    error: str = ""
    history: list[tuple[str, float]] = field(default_factory=list)


class Journal:
    def __init__(
        self,
        store: Store,
        boot_id: str,
        *,
        record: Record | None = None,
        bus: Bus | None = None,
    ) -> None:
        if record is not None and (
            record.outbox.store is not store or bus not in (None, record.bus)
        ):
            raise AgentError("journal: the record must write to the same store and bus")
        self.store = store
        self.boot_id = boot_id
        self.record = record
        self.bus = record.bus if record is not None else bus
        self.writes = 0
        crash_at = os.environ.get(CRASH_ENV, "")
        self._crash_at = int(crash_at) if crash_at.isdigit() else 0

    async def write(
        self, kind: str, subject: str, phase: str, /, announce: Event | None = None, **data: Any
    ) -> None:
        """Commit one entry, with the event that announces it; when this returns both
        survive a power cut."""
        payload = json.dumps(data, sort_keys=True, default=str)
        now = time.time()

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO journal(ts, boot_id, kind, subject, phase, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (now, self.boot_id, kind, subject, phase, payload),
            )

        events = () if announce is None else (announce,)
        if self.record is not None:
            await self.record.commit_with(insert, events)
        else:
            await self.store.transaction(insert)
            if self.bus is not None:
                for event in events:
                    self.bus.publish(event)
        self.writes += 1
        if self._crash_at and self.writes == self._crash_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def announce(self, event: Event) -> None:
        """Publish an event that goes with no journal entry (a step waiting, a retry)."""
        if self.bus is not None:
            self.bus.publish(event)

    async def since_transition(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(kind, phase, data)`` of the newest entered transition and every entry after
        it, newest first (what happened in the current state, across restarts)."""
        rows = await self.store.call(
            lambda c: c.execute(
                "SELECT kind, phase, data FROM journal WHERE id >= (SELECT max(id) FROM "
                "journal WHERE kind = 'transition' AND phase = 'entered') ORDER BY id DESC"
            ).fetchall()
        )
        return [(str(kind), str(phase), json.loads(data)) for kind, phase, data in rows]

    async def last_state(self) -> str | None:
        row = await self.store.call(
            lambda c: c.execute(
                "SELECT subject FROM journal WHERE kind = 'transition' AND phase = 'entered' "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def steps(self, run_id: str) -> dict[str, StepRecord]:
        """Every step of one runbook run, folded from the journal."""
        rows = await self.store.call(
            lambda c: c.execute(
                "SELECT ts, subject, phase, data FROM journal WHERE kind = 'step' "
                "AND json_extract(data, '$.run') = ? ORDER BY id",
                (run_id,),
            ).fetchall()
        )
        records: dict[str, StepRecord] = {}
        for ts, subject, phase, raw in rows:
            data = json.loads(raw)
            rec = records.setdefault(subject, StepRecord(subject))
            rec.history.append((phase, ts))
            if phase == "start":
                rec.status = "started"
                rec.attempts = int(data.get("attempt", rec.attempts + 1))
                rec.started_at = ts
                if rec.first_started_at is None:
                    rec.first_started_at = ts
            elif phase in ("done", "failed", "skipped", "blocked"):
                rec.status = phase
                rec.finished_at = ts
                rec.output = str(data.get("output", ""))
                rec.error = str(data.get("error", ""))
            elif phase == "retry":
                rec.status = "started"
        return records

    async def newest_run(self, kind: str) -> tuple[str, bool] | None:
        """The newest runbook run of ``kind`` (``restore``/``drill``) and whether it ended."""
        row = await self.store.call(
            lambda c: c.execute(
                "SELECT subject, max(phase = 'end') FROM journal WHERE kind = 'run' "
                "AND subject LIKE ? GROUP BY subject ORDER BY min(id) DESC LIMIT 1",
                (f"{kind}-%",),
            ).fetchone()
        )
        return None if row is None else (str(row[0]), bool(row[1]))

    async def count_runs(self, kind: str) -> int:
        row = await self.store.call(
            lambda c: c.execute(
                "SELECT count(DISTINCT subject) FROM journal WHERE kind = 'run' AND subject LIKE ?",
                (f"{kind}-%",),
            ).fetchone()
        )
        return int(row[0])
