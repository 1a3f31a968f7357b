"""The SET log: the simulator's witness of what the agent did and when power changed.

Every accepted SET and every power effect (an outlet actually switching, the UPS moving
to battery) is one entry, stamped with the device model's clock (CLOCK_MONOTONIC by
default, which every process on the host shares, so a log written by a simulator in
another process can be compared with the agent's own timestamps).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Literal

EntryKind = Literal["set", "power"]


@dataclass(frozen=True, slots=True)
class SetLogEntry:
    t: float
    device: str
    kind: EntryKind
    oid: str
    value: str | int | bool | float

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class SetLog:
    """In-memory log, optionally mirrored line by line to a JSONL file."""

    def __init__(self, path: Path | None = None) -> None:
        self._entries: list[SetLogEntry] = []
        self._path = path
        self._file: IO[str] | None = None
        # Models record from the event loop; the lock only matters to callers that read
        # the log from another thread (a test harness), and keeps append+write atomic.
        self._lock = threading.Lock()

    def open(self) -> None:
        if self._path is not None and self._file is None:
            try:
                self._file = self._path.open("a", encoding="utf-8")
            except OSError as exc:
                raise OSError(
                    f"set log: cannot append to {self._path}: {exc.strerror}; "
                    "give a writable path or none"
                ) from exc

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def record(
        self, t: float, device: str, kind: EntryKind, oid: str, value: str | int | bool | float
    ) -> None:
        entry = SetLogEntry(t, device, kind, oid, value)
        with self._lock:
            self._entries.append(entry)
            if self._file is not None:
                # One flushed line per entry: a reader in another process (or after this
                # one crashes) sees every entry that was acknowledged on the wire.
                self._file.write(entry.to_json() + "\n")
                self._file.flush()

    def entries(
        self, device: str | None = None, kind: EntryKind | None = None
    ) -> list[SetLogEntry]:
        """Entries ordered by time (power effects are logged once settled, so the
        file may hold them slightly after later SETs; this view is sorted)."""
        with self._lock:
            found = [
                e
                for e in self._entries
                if (device is None or e.device == device) and (kind is None or e.kind == kind)
            ]
        return sorted(found, key=lambda e: e.t)

    @staticmethod
    def read_jsonl(path: Path) -> list[SetLogEntry]:
        """Load a log written by another process, sorted by time."""
        entries = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                entries.append(
                    SetLogEntry(raw["t"], raw["device"], raw["kind"], raw["oid"], raw["value"])
                )
            except (ValueError, KeyError) as exc:
                raise ValueError(
                    f"{path}:{number}: not a set log entry ({exc}): {line[:80]!r}"
                ) from exc
        return sorted(entries, key=lambda e: e.t)
