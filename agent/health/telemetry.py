"""How often a device's readings become a published telemetry batch.

Polling serves the alarms and the health view: its interval is ``[health] interval``.
Publishing serves the ARS and costs 4G traffic and outbox room: its interval is
``[mqtt] telemetry_interval``. The gate lets one poll's readings through per telemetry
interval and device, on a fixed grid so polling jitter does not stretch the period; a
telemetry interval shorter than the poll interval publishes every poll.
"""

from __future__ import annotations

EARLY = 0.25
"""How early in its slot (a fraction of the interval) a poll may be and still publish."""


class TelemetryGate:
    def __init__(self, interval: float) -> None:
        if not interval > 0:
            raise ValueError(f"telemetry interval {interval!r}: give seconds > 0")
        self.interval = interval
        self._next: dict[str, float] = {}

    def due(self, device: str, now: float) -> bool:
        """True when ``device``'s batch at ``now`` (monotonic seconds) is to be published."""
        next_at = self._next.get(device)
        # A poll a little early (jitter) still counts for its slot: the grid, not the
        # poll, sets the pace, so the rate stays one batch per interval.
        if next_at is not None and now < next_at - self.interval * EARLY:
            return False
        # On the grid, unless the device fell a whole interval behind (silent for a while).
        if next_at is None or now - next_at >= self.interval:
            next_at = now
        self._next[device] = next_at + self.interval
        return True


def messages_per_day(devices: int, telemetry_interval: float) -> float:
    """Telemetry batches a day at this rate: one per device per interval."""
    return devices * 86_400.0 / max(telemetry_interval, 1e-9)
