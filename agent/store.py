"""The local store: one SQLite database for everything that must survive a crash.

The lifecycle journal, the MQTT outbox, used command nonces and the audit chain live
here. SQLite runs in WAL mode with ``synchronous=FULL``: a transaction that returned is
on disk, and a power cut at any instant leaves either the whole transaction or none of it.

The standard library's ``sqlite3`` is used on purpose: aiosqlite would only add the same
"one thread owns the connection" pattern we write below in a few lines. Every statement
runs on one dedicated worker thread that owns the only connection, so the event loop
never blocks on disk I/O and writes are serialised without locks of our own.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, Self, TypeVar

from agent.errors import StoreError

T = TypeVar("T")

# Each migration is applied once, in order, inside one transaction; PRAGMA user_version
# holds how many have run. Never edit a released migration: append a new one.
MIGRATIONS: tuple[str, ...] = (
    # 1: the four homes named by the design.
    """
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        boot_id TEXT NOT NULL,
        kind TEXT NOT NULL,          -- 'transition', 'step', 'operator', ...
        subject TEXT NOT NULL,       -- state name or step id
        phase TEXT NOT NULL,         -- 'start', 'attempt', 'done', 'failed', ...
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX journal_subject ON journal(kind, subject, id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created REAL NOT NULL,
        boot_id TEXT NOT NULL,
        seq INTEGER NOT NULL,        -- per-boot sequence number carried in the payload
        category TEXT NOT NULL,      -- 'status', 'event', 'audit', 'telemetry', 'reply'
        topic TEXT NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        payload BLOB NOT NULL,
        props TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX outbox_category ON outbox(category, id);
    CREATE TABLE nonces (
        key_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (key_id, nonce)
    );
    CREATE INDEX nonces_expires ON nonces(expires);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
)


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly
    # what `transaction()` wraps and nothing is left open by accident.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal" and str(path) != ":memory:":
        raise StoreError(
            f"{path}: SQLite refused WAL mode (got {mode!r}); put the store on a "
            "local file system that supports shared memory (not NFS)"
        )
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path}: store schema version {version} is newer than this agent knows "
            f"({len(MIGRATIONS)}); run the agent version that wrote it, or move the file away"
        )
    for index in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[index].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


class Store:
    """The agent's database. ``async with Store(path) as store:``.

    ``call(fn)`` runs ``fn(conn)`` on the store's thread; ``transaction(fn)`` does the
    same inside ``BEGIN IMMEDIATE ... COMMIT`` (rolled back if ``fn`` raises).
    """

    def __init__(self, path: Path | str, *, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.exclusive = exclusive
        self._lock_file: IO[str] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def _lock(self) -> None:
        """One agent per store: a second one would interleave journals and fight over the
        same devices. The lock is released by the kernel when the process dies."""
        self._lock_file = (self.path.parent / f"{self.path.name}.lock").open("a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "unknown"
            self._lock_file.close()
            self._lock_file = None
            raise StoreError(
                f"{self.path}: another agent (pid {holder}) is using this store; stop it "
                "first (systemctl stop cleanroom-agent) or give this one its own [store] path"
            ) from None
        self._lock_file.truncate(0)
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    async def __aenter__(self) -> Self:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.exclusive:
                self._lock()
            self._conn = await self._run(lambda: _connect(self.path))
            await self.call(lambda conn: _migrate(conn, self.path))
        except sqlite3.Error as exc:
            await self.__aexit__(None, None, None)
            raise StoreError(
                f"{self.path}: cannot open the store: {exc}; check the path, "
                "its permissions and free disk space"
            ) from exc
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        executor, self._executor = self._executor, None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None
        if executor is None:
            return
        if conn is not None:
            # Closing must finish even if we are being cancelled: shield the last hop.
            await asyncio.shield(asyncio.get_running_loop().run_in_executor(executor, conn.close))
        executor.shutdown(wait=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreError(f"{self.path}: the store is closed; use it inside `async with`")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _require_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed; use it inside `async with`")
        return self._conn

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the store's thread (no transaction of its own)."""
        conn = self._require_conn()
        try:
            return await self._run(lambda: fn(conn))
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    async def transaction(
        self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = True
    ) -> T:
        """Run ``fn(conn)`` atomically; when this returns, the change is durable.

        The whole transaction runs on the store thread, so a cancellation of the caller
        cannot leave it half done: the thread finishes (commit or rollback) regardless.

        ``durable=False`` commits without an fsync (``synchronous=NORMAL`` in WAL mode):
        the change survives the agent being killed, and a power cut loses it or keeps it
        whole; the next durable transaction makes it durable too. For what a polling
        supervisor writes per read (a read's nonce), never for an action or the audit.
        """
        conn = self._require_conn()

        def run() -> T:
            if not durable:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous=FULL")
            return result

        try:
            return await self._run(run)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    async def get_meta(self, key: str) -> str | None:
        row = await self.call(
            lambda c: c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        await self.transaction(
            lambda c: c.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )
