"""The audit chain detects any change, deletion or reordering."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.report import audit
from agent.store import Store


def append_one(index: int, conn: sqlite3.Connection) -> audit.AuditEntry:
    return audit.append(
        conn,
        ts=1000.0 + index,
        actor="local:console",
        action="power.outlet",
        detail={"outlet": index, "state": "on"},
    )


async def chain(tmp_path: Path, count: int = 5) -> Store:
    store = Store(tmp_path / "a.db")
    await store.__aenter__()
    for index in range(count):
        await store.transaction(
            functools.partial(
                append_one,
                index,
            )
        )
    return store


async def test_an_intact_chain_verifies(tmp_path: Path) -> None:
    store = await chain(tmp_path)
    try:
        report = await audit.verify_store(store)
    finally:
        await store.__aexit__(None, None, None)
    assert report.ok, report.problems
    assert report.entries == 5


TAMPERS: dict[str, Callable[[sqlite3.Connection], object]] = {
    "changed detail": lambda c: c.execute(
        'UPDATE audit SET detail = \'{"outlet":2,"state":"off"}\' WHERE id = 3'
    ),
    "changed actor": lambda c: c.execute("UPDATE audit SET actor = 'remote:x' WHERE id = 1"),
    "deleted middle": lambda c: c.execute("DELETE FROM audit WHERE id = 2"),
    "deleted tail": lambda c: c.execute("DELETE FROM audit WHERE id = 5"),
    "deleted all": lambda c: c.execute("DELETE FROM audit"),
    "swapped": lambda c: (
        c.execute("UPDATE audit SET id = 100 WHERE id = 2"),
        c.execute("UPDATE audit SET id = 2 WHERE id = 3"),
        c.execute("UPDATE audit SET id = 3 WHERE id = 100"),
    ),
    "rehashed one entry": lambda c: c.execute(
        "UPDATE audit SET detail = '{}', hash = ? WHERE id = 4",
        (
            audit.entry_hash(
                4,
                1003.0,
                "local:console",
                "power.outlet",
                detail_json="{}",
                prev_hash=c.execute("SELECT hash FROM audit WHERE id = 3").fetchone()[0],
            ),
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
async def test_tampering_is_detected(tmp_path: Path, name: str) -> None:
    store = await chain(tmp_path)
    try:
        await store.transaction(TAMPERS[name])
        report = await audit.verify_store(store)
    finally:
        await store.__aexit__(None, None, None)
    assert not report.ok
    assert report.problems
