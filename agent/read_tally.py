"""Reads are counted, not audited one by one.

A read-only verb (``read=True`` in agent/verbs.py) changes nothing on the rack, and a
supervisor may poll it every few seconds: one audit entry per read would grow the
hash-chained log (and the outbox) without bound. Both command paths (signed MQTT
commands, the local console) count their reads here instead, per actor and verb, with
how many answered and how many failed; the count is written as one audit entry per
interval (``command.reads`` over MQTT, ``console.reads`` at the console) when there was
any read, and at once when the agent stops, so the chain still accounts for every read.
A read *refused* before it ran (bad signature, expired, replayed...) is a refusal and is
audited as every refusal is (docs/protocol.md).

Pure bookkeeping; the command paths do the writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

READ_AUDIT_INTERVAL = 900.0
"""Seconds between two summaries of reads (when there were reads)."""

# Actors come from verified keys or local users, so they are few; a bound all the same.
MAX_ACTORS = 50
OTHER_ACTORS = "(other actors)"


@dataclass
class Count:
    ok: int = 0
    failed: int = 0


@dataclass
class ReadTally:
    counts: dict[tuple[str, str], Count] = field(default_factory=dict)
    first_ts: float = 0.0
    last_ts: float = 0.0

    @property
    def total(self) -> int:
        return sum(c.ok + c.failed for c in self.counts.values())

    def add(self, actor: str, verb: str, *, ok: bool, ts: float) -> None:
        actors = {a for a, _ in self.counts}
        if actor not in actors and len(actors) >= MAX_ACTORS:
            actor = OTHER_ACTORS
        if not self.counts:
            self.first_ts = ts
        self.last_ts = ts
        count = self.counts.setdefault((actor, verb), Count())
        if ok:
            count.ok += 1
        else:
            count.failed += 1

    def take(self) -> dict[str, Any] | None:
        """The audit entry's detail for the reads counted so far, reset; None when there
        was none (an idle rack writes nothing)."""
        if not self.counts:
            return None
        detail: dict[str, Any] = {
            "count": self.total,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "reads": [
                {"actor": actor, "verb": verb, "ok": c.ok, "failed": c.failed}
                for (actor, verb), c in sorted(self.counts.items())
            ],
        }
        self.counts = {}
        return detail
