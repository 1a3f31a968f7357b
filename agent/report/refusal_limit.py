"""How many refused commands get an audit entry of their own.

Every refused command was audited, and audit entries are never dropped: anyone who can
publish on the command topic (a compromised hospital network, a leaked broker password)
could fill the controller's disk and the outbox with refusals, thinning the telemetry the
ARS needs. A token bucket (``burst`` entries at once, ``per_minute`` after) bounds the
individual entries; past it, refusals are counted by reason and the count is written as
one ``command.refused.suppressed`` entry as soon as the bucket allows, so the chain still
accounts for every refusal. The refusal's reply and its log line are unaffected (replies
are not stored; journald limits its own rate).

Pure bookkeeping with injectable clocks (the bucket runs on a monotonic clock, so a
wall-clock step cannot starve or flood it; the entries carry wall time);
`agent.report.commands` does the writing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Key ids come from the refused payloads, so from whoever sent them: only this many
# distinct ones are named in a summary, the rest are counted together.
MAX_KEYS = 20
OTHER_KEYS = "(other keys)"


@dataclass
class Suppressed:
    """Refusals not audited one by one since the last summary."""

    count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    first_ts: float = 0.0
    last_ts: float = 0.0

    def add(self, reason: str, key_id: str, ts: float) -> None:
        if not self.count:
            self.first_ts = ts
        self.count += 1
        self.reasons[reason] += 1
        if key_id not in self.keys and len(self.keys) >= MAX_KEYS:
            key_id = OTHER_KEYS
        self.keys[key_id] += 1
        self.last_ts = ts

    def as_detail(self) -> dict[str, object]:
        return {
            "count": self.count,
            "reasons": dict(self.reasons.most_common()),
            "keys": dict(self.keys.most_common()),
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
        }


class RefusalLimiter:
    def __init__(
        self,
        burst: int,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError(
                f"refusal limiter: burst {burst} must be at least 1 and per_minute "
                f"{per_minute} more than 0"
            )
        self.burst = burst
        self.per_second = per_minute / 60.0
        self._clock = clock
        self._wall = wall
        self._tokens = float(burst)
        self._at = clock()
        self.suppressed = Suppressed()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._tokens = min(self.burst, self._tokens + elapsed * self.per_second)
        self._at = now

    def allow(self, reason: str, key_id: str = "") -> bool:
        """True: audit this refusal now. False: it is counted in `suppressed`."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.suppressed.add(reason, key_id, self._wall())
        return False

    def wait_s(self) -> float:
        """Seconds until one entry may be written (0 when one may be written now)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.per_second)

    def take_summary(self, *, force: bool = False) -> Suppressed | None:
        """The suppressed count, reset, if there is one and the bucket allows an entry
        (or ``force``: the agent is stopping and the count must not be lost)."""
        if not self.suppressed.count or (self.wait_s() > 0 and not force):
            return None
        self._tokens = max(0.0, self._tokens - 1.0)
        summary, self.suppressed = self.suppressed, Suppressed()
        return summary
