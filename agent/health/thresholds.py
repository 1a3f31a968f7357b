"""Thresholds with hysteresis and a hold time: readings in, alarm edges out.

Each ``[[threshold]]`` of the rack config is tracked separately for every (device,
sensor) it applies to. For ``direction = "above"``:

- the alarm is *raised* once the value has stayed at or above ``raise_at`` for ``hold``
  seconds without a break (one reading back under ``raise_at`` restarts the hold, so a
  single spike never raises anything when a hold is set);
- it is *cleared* once a value is at or below ``clear_at`` and strictly below
  ``raise_at`` (the second condition keeps a rule with ``clear_at == raise_at``, such
  as the 0/1 ``ups_on_battery`` reading, from raising and clearing on the same value).

``"below"`` mirrors this. Values that wander inside the band between the two levels
change nothing, which is what keeps noise around a limit from flapping the alarm. An
unknown reading changes no alarm either (the device going silent is the poller's
business, as a stale or lost state) but does restart a pending hold: nobody knows the
value stayed past the limit meanwhile.

Time comes from the caller (``now``, monotonic seconds), so tests drive holds with a
fake clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.conf.schema import Threshold
from agent.health.sensors import Reading


@dataclass(frozen=True, slots=True)
class Edge:
    """An alarm starts or ends. ``rule`` is the threshold's index in the config."""

    change: Literal["raised", "cleared"]
    rule: int
    threshold: Threshold
    reading: Reading


@dataclass(slots=True)
class _Track:
    active: bool = False
    pending_since: float | None = None


def _past(value: float, level: float, above: bool) -> bool:
    return value >= level if above else value <= level


class Thresholds:
    """Every threshold of a rack, with the live state of each (rule, device, sensor)."""

    def __init__(self, rules: Sequence[Threshold]) -> None:
        self._by_kind: dict[str, list[tuple[int, Threshold]]] = {}
        for index, rule in enumerate(rules):
            self._by_kind.setdefault(rule.kind, []).append((index, rule))
        self._tracks: dict[tuple[int, str, str], _Track] = {}

    def kinds(self) -> frozenset[str]:
        return frozenset(self._by_kind)

    def evaluate(self, reading: Reading, now: float) -> list[Edge]:
        """The alarm edges this reading causes (usually none)."""
        rules = self._by_kind.get(reading.kind)
        if not rules:
            return []
        edges: list[Edge] = []
        for index, rule in rules:
            if rule.devices and reading.device not in rule.devices:
                continue
            key = (index, reading.device, reading.sensor)
            track = self._tracks.get(key)
            if track is None:
                track = self._tracks[key] = _Track()
            change = self._step(track, rule, reading, now)
            if change is not None:
                edges.append(Edge(change, index, rule, reading))
        return edges

    def forget_device(self, device: str) -> list[tuple[int, str]]:
        """Drop the state of a device's sensors (it was removed); returns the (rule,
        sensor) pairs whose alarm was active, for the caller to clear."""
        gone = [key for key in self._tracks if key[1] == device]
        active = [(key[0], key[2]) for key in gone if self._tracks[key].active]
        for key in gone:
            del self._tracks[key]
        return active

    @staticmethod
    def _step(
        track: _Track, rule: Threshold, reading: Reading, now: float
    ) -> Literal["raised", "cleared"] | None:
        value = reading.value
        if not reading.usable or value is None:
            track.pending_since = None
            return None
        above = rule.direction == "above"
        if track.active:
            if _past(value, rule.clear_at, not above) and not _past(value, rule.raise_at, above):
                track.active = False
                track.pending_since = None
                return "cleared"
            return None
        if not _past(value, rule.raise_at, above):
            track.pending_since = None
            return None
        if track.pending_since is None:
            track.pending_since = now
        if now - track.pending_since >= float(rule.hold):
            track.active = True
            track.pending_since = None
            return "raised"
        return None
