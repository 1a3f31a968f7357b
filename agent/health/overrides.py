"""Firmware overrides: a device's firmware accepted outside the approved baseline.

``firmware.override`` (two-person over MQTT, or the operator at the console) records one
per device in the store's ``meta`` table: the exact version accepted, by whom and why.
The self-test then reports that device's firmware as overridden instead of blocking, for
that version only: a device that reports another version later is checked again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from agent.store import Store

PREFIX = "firmware.override."


def save(
    conn: sqlite3.Connection, device: str, version: str, *, actor: str, reason: str
) -> dict[str, Any]:
    """Record the override (inside the caller's transaction); returns what was stored."""
    value = {"version": version, "actor": actor, "reason": reason, "at": time.time()}
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (PREFIX + device, json.dumps(value, sort_keys=True)),
    )
    return value


async def load(store: Store) -> dict[str, str]:
    """Device id -> the firmware version accepted for it."""
    rows = await store.call(
        lambda c: c.execute(
            "SELECT key, value FROM meta WHERE key LIKE ?", (PREFIX + "%",)
        ).fetchall()
    )
    return {str(k)[len(PREFIX) :]: str(json.loads(v)["version"]) for k, v in rows}
