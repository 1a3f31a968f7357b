"""The record is always on: with no ``[mqtt] urls`` (a drill strips them) the journal,
the audit chain and the outbox are written all the same, from the daemon's first event
(``agent.started``) on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.bus import Bus, Event
from agent.drill_run import run_drill
from agent.errors import StoreError
from agent.lifecycle.journal import Journal
from agent.record import Record
from agent.report.audit import read_entries, verify
from agent.report.topics import Topics
from agent.store import Store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-rack.toml"


async def test_a_drill_without_mqtt_is_journaled_audited_and_in_the_outbox(
    tmp_path: Path,
) -> None:
    outcome = await run_drill(DEMO, tmp_path, timeout=180)
    assert outcome.ok, outcome
    assert "urls" not in (tmp_path / DEMO.name).read_text()  # no broker at all
    async with Store(tmp_path / "state" / "agent.db") as store:
        kinds = await store.call(
            lambda c: [json.loads(bytes(r[0]))["kind"] for r in c.execute(
                "SELECT payload FROM outbox WHERE category != 'telemetry' ORDER BY id"
            )]
        )  # fmt: skip
        chain = await store.call(verify)
        entries = await store.call(read_entries)
        states = await store.call(
            lambda c: [r[0] for r in c.execute(
                "SELECT subject FROM journal WHERE kind = 'transition' ORDER BY id"
            )]
        )  # fmt: skip
    assert states[:2] == ["arrival", "selftest"], states
    assert "operational" in states
    assert kinds[0] == "agent.started", kinds[:5]
    assert "lifecycle.transition" in kinds
    assert chain.ok, chain.problems
    actions = {e.action for e in entries}
    assert "network.apply" in actions, actions  # the isolation's VLAN moves
    assert any(a.startswith("power.") for a in actions), actions


# --- a journal entry and the event announcing it: one transaction ---------------------


def _kinds(conn: sqlite3.Connection) -> list[str]:
    return [
        json.loads(bytes(r[0]))["kind"]
        for r in conn.execute("SELECT payload FROM outbox ORDER BY id")
    ]


def _journal(conn: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT subject FROM journal ORDER BY id")]


@contextlib.asynccontextmanager
async def _recorded(tmp_path: Path) -> AsyncIterator[tuple[Store, Bus, Record]]:
    bus = Bus()
    topics = Topics("cr", "site", "rack")
    async with (
        Store(tmp_path / "agent.db") as store,
        Record(store, bus, "boot-1", topics) as record,
    ):
        yield store, bus, record


def _step(phase: str) -> Event:
    return Event(kind="runbook.step", source="lifecycle", data={"step": "s1", "phase": phase})


async def test_a_journal_entry_commits_with_its_event_after_what_came_before(
    tmp_path: Path,
) -> None:
    async with _recorded(tmp_path) as (store, bus, record):
        journal = Journal(store, "boot-1", record=record)
        watcher = bus.subscribe()
        bus.emit("before", "test")
        await journal.write("step", "s1", "start", announce=_step("start"), run="r")
        # Durable when write returns: the entry, the event, and what the bus held before.
        kinds = await store.call(_kinds)
        assert kinds == ["before", "runbook.step"]
        assert await store.call(_journal) == ["s1"]
        await record.flush()
        await asyncio.sleep(0.05)  # the pump has had its turn too
        assert await store.call(_kinds) == kinds, "the journaled event was committed twice"
        seen = [watcher.get_nowait(), watcher.get_nowait(), watcher.get_nowait()]
        assert [e.kind if e else None for e in seen] == ["before", "runbook.step", None]
        assert record.committed == 2


async def test_a_failed_journal_write_commits_neither_and_keeps_the_bus_events(
    tmp_path: Path,
) -> None:
    async with _recorded(tmp_path) as (store, bus, record):
        watcher = bus.subscribe()
        bus.emit("before", "test")

        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO journal(ts) VALUES (1)")  # NOT NULL columns missing

        with pytest.raises(StoreError):
            await record.commit_with(broken, [_step("start")])
        assert await store.call(_journal) == []
        assert watcher.get_nowait() is not None  # "before"
        assert watcher.get_nowait() is None, "an event announced an entry never journaled"
        await record.flush()  # what the failed write took from the bus is the pump's again
        assert await store.call(_kinds) == ["before"], "the bus's events were dropped"


async def test_a_cancelled_journal_write_still_commits_once_and_the_cancel_goes_on(
    tmp_path: Path,
) -> None:
    async with _recorded(tmp_path) as (store, bus, record):
        journal = Journal(store, "boot-1", record=record)
        bus.emit("before", "test")
        slow = threading.Event()
        await store.call(lambda _c: None)  # the store thread is up
        # Hold the store thread so the write is queued when the cancel arrives.
        blocker = asyncio.ensure_future(store.call(lambda _c: slow.wait(5)))
        write = asyncio.create_task(
            journal.write("step", "s1", "start", announce=_step("start"), run="r")
        )
        await asyncio.sleep(0.05)
        write.cancel()
        slow.set()
        with pytest.raises(asyncio.CancelledError):
            await write
        await blocker
        await store.call(lambda _c: None)  # the write's transaction has run
        await asyncio.sleep(0.05)  # and its outcome is folded in
        await record.flush()
        assert await store.call(_kinds) == ["before", "runbook.step"]
        assert await store.call(_journal) == ["s1"]


async def test_a_command_result_is_not_chained_before_the_action_it_reports(
    tmp_path: Path,
) -> None:
    """A direct audit entry (a command's result) is committed after the events the bus
    already holds, as a journal entry is: the chain never says the result came first."""
    async with Store(tmp_path / "agent.db") as store:
        bus = Bus()
        async with Record(store, bus, "boot-1", Topics("cleanroom/v1", "s", "r")) as record:
            bus.emit("telemetry.x", "health", category="event", n=1)
            await asyncio.sleep(0)  # the pump takes it: its commit is in flight
            bus.emit("firmware.override", "lifecycle", category="audit", actor="remote:k")
            await record.record_audit("remote:k", "command.result", {"status": "result"})
            await record.flush()
            actions = await store.call(
                lambda c: [r[0] for r in c.execute("SELECT action FROM audit ORDER BY id")]
            )
    assert actions == ["firmware.override", "command.result"], actions
