"""The hash-chained audit log.

Each entry's hash covers its id, time, actor, action, detail and the previous entry's
hash, so changing, deleting or reordering any entry breaks every hash after it. A chain
alone cannot show that its *last* entries were cut off, so the head (id and hash of the
newest entry) is also kept in ``meta`` in the same transaction, and every entry is
published on MQTT (category ``audit``), where the ARS keeps its own copy.

The functions taking a ``sqlite3.Connection`` run on the store thread inside the caller's
transaction, so an audit entry commits together with the action it records.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import msgspec

from agent.store import Store

GENESIS = "0" * 64
HEAD_KEY = "audit.head"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts: float
    actor: str
    action: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def entry_hash(
    entry_id: int, ts: float, actor: str, action: str, *, detail_json: str, prev_hash: str
) -> str:
    body = msgspec.json.encode(
        {
            "id": entry_id,
            "ts": ts,
            "actor": actor,
            "action": action,
            "detail": detail_json,
            "prev_hash": prev_hash,
        },
        order="sorted",
    )
    return hashlib.sha256(body).hexdigest()


def append(
    conn: sqlite3.Connection, *, ts: float, actor: str, action: str, detail: dict[str, Any]
) -> AuditEntry:
    """Append one entry (call inside a transaction)."""
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    entry_id, prev_hash = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    detail_json = msgspec.json.encode(detail, order="sorted").decode("utf-8")
    digest = entry_hash(entry_id, ts, actor, action, detail_json=detail_json, prev_hash=prev_hash)
    conn.execute(
        "INSERT INTO audit(id, ts, actor, action, detail, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (entry_id, ts, actor, action, detail_json, prev_hash, digest),
    )
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (HEAD_KEY, json.dumps({"id": entry_id, "hash": digest})),
    )
    return AuditEntry(entry_id, ts, actor, action, detail, prev_hash, digest)


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: sqlite3.Connection, *, max_problems: int = 20) -> VerifyReport:
    """Walk the whole chain; report every break (up to ``max_problems``)."""
    report = VerifyReport()
    expected_id, prev_hash = 1, GENESIS

    def problem(text: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(text)

    rows = conn.execute(
        "SELECT id, ts, actor, action, detail, prev_hash, hash FROM audit ORDER BY id"
    )
    for entry_id, ts, actor, action, detail_json, stored_prev, stored_hash in rows:
        if entry_id != expected_id:
            problem(
                f"audit entry {entry_id}: expected id {expected_id}; entries "
                f"{expected_id}..{entry_id - 1} were deleted or renumbered"
            )
        if stored_prev != prev_hash:
            problem(
                f"audit entry {entry_id}: prev_hash {stored_prev[:12]}... does not match "
                f"the previous entry's hash {prev_hash[:12]}...; an entry before it was "
                "changed, deleted or moved"
            )
        computed = entry_hash(
            entry_id, ts, actor, action, detail_json=detail_json, prev_hash=stored_prev
        )
        if computed != stored_hash:
            problem(
                f"audit entry {entry_id} ({action} by {actor}): its content does not "
                "match its hash; the entry was modified"
            )
        report.entries += 1
        expected_id, prev_hash = entry_id + 1, stored_hash
    report.head_hash = prev_hash

    head_row = conn.execute("SELECT value FROM meta WHERE key = ?", (HEAD_KEY,)).fetchone()
    if head_row is None:
        if report.entries:
            problem(
                f"meta {HEAD_KEY} is missing while the log holds {report.entries} "
                "entries; the head record was deleted"
            )
    else:
        head = json.loads(head_row[0])
        if head.get("id") != expected_id - 1 or head.get("hash") != prev_hash:
            problem(
                f"the log ends at entry {expected_id - 1} ({prev_hash[:12]}...) but the "
                f"recorded head is entry {head.get('id')} ({str(head.get('hash'))[:12]}...); "
                "entries were removed from the end or the head was altered"
            )
    return report


async def verify_store(store: Store) -> VerifyReport:
    return await store.call(verify)


def read_entries(
    conn: sqlite3.Connection, after_id: int = 0, limit: int = 1000
) -> list[AuditEntry]:
    rows = conn.execute(
        "SELECT id, ts, actor, action, detail, prev_hash, hash FROM audit WHERE id > ? "
        "ORDER BY id LIMIT ?",
        (after_id, limit),
    ).fetchall()
    return [
        AuditEntry(
            int(r[0]), float(r[1]), str(r[2]), str(r[3]), json.loads(r[4]), str(r[5]), str(r[6])
        )
        for r in rows
    ]
