"""The lifecycle state an agent in another process last journaled, read as an operator's
tool would: read-only, tolerant of a store that does not exist yet or is being written."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def journaled_state(db: Path) -> str | None:
    if not db.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute(
                "SELECT subject FROM journal WHERE kind = 'transition' AND phase = 'entered' "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])
