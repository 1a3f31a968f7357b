"""The store after `kill -9` in the middle of a write loop: no torn transaction, nothing
that was reported committed is missing, and the file passes SQLite's integrity check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from agent.store import Store

WRITER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from agent.store import Store

    async def main(path):
        async with Store(path) as store:
            batch = 0
            while True:
                batch += 1
                def write(conn, batch=batch):
                    for part in range(5):
                        conn.execute(
                            "INSERT INTO journal(ts, boot_id, kind, subject, phase, data) "
                            "VALUES (?, 'crash-test', 'test', ?, 'done', ?)",
                            (time.time(), f"batch-{batch}", json.dumps({"part": part})),
                        )
                await store.transaction(write)
                print(batch, flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_store_survives_kill_9_mid_write(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        last_committed = 0
        for line in proc.stdout:
            last_committed = int(line)
            if last_committed >= 40 + 17 * round_:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = conn.execute(
                "SELECT subject, count(*) FROM journal WHERE kind = 'test' GROUP BY subject"
            ).fetchall()
        finally:
            conn.close()
        counts = dict(rows)
        # Every transaction is whole: five rows or none (batch numbers restart each round,
        # so a number seen in several rounds holds a multiple of five).
        assert all(n % 5 == 0 for n in counts.values()), counts
        # Nothing reported as committed is missing.
        assert f"batch-{last_committed}" in counts


def test_store_reopens_and_migrates_once(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, str | None]:
        async with Store(tmp_path / "a.db") as store:
            await store.set_meta("k", "v1")
        async with Store(tmp_path / "a.db") as store:
            version = await store.call(
                lambda c: int(c.execute("PRAGMA user_version").fetchone()[0])
            )
            mode = await store.call(lambda c: str(c.execute("PRAGMA journal_mode").fetchone()[0]))
            assert mode == "wal"
            return version, await store.get_meta("k")

    version, value = asyncio.run(scenario())
    assert version >= 1
    assert value == "v1"


def test_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    async def scenario() -> str | None:
        async with Store(tmp_path / "a.db") as store:
            await store.set_meta("k", "before")

            def half_done(conn: sqlite3.Connection) -> None:
                conn.execute("UPDATE meta SET value = 'after' WHERE key = 'k'")
                raise RuntimeError("boom in the middle")

            with contextlib.suppress(RuntimeError):
                await store.transaction(half_done)
            return await store.get_meta("k")

    assert asyncio.run(scenario()) == "before"
