"""The store's refusals and its all-or-nothing transactions, on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.errors import StoreError
from agent.store import MIGRATIONS, Store


async def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.db") as store:

        def half_done(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
            raise ValueError("a bug half way through")

        with pytest.raises(ValueError, match="half way"):
            await store.transaction(half_done)
        assert await store.get_meta("a") is None
        await store.set_meta("a", "2")
        assert await store.get_meta("a") == "2"


async def test_a_store_written_by_a_newer_agent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with Store(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this agent knows") as caught:
        async with Store(path):
            pass
    assert str(path) in str(caught.value)


async def test_a_store_that_cannot_be_opened_says_where_and_what_to_check(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    path.mkdir()  # a directory where the file should be
    with pytest.raises(StoreError, match="cannot open the store") as caught:
        async with Store(path):
            pass
    assert "permissions" in str(caught.value)


async def test_one_agent_per_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with Store(path, exclusive=True):
        with pytest.raises(StoreError, match="another agent") as caught:
            async with Store(path, exclusive=True):
                pass
        assert "systemctl stop cleanroom-agent" in str(caught.value)
    async with Store(path, exclusive=True):  # released with the first one
        pass


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    async with store:
        pass
    with pytest.raises(StoreError, match="the store is closed"):
        await store.get_meta("a")
