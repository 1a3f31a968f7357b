"""``cleanroom watch``: a live board of every rack on a broker.

The board is built only from what racks publish (retained statuses, the event stream), so
a supervisor joining at any time sees every rack at once: state, online, open alarms, last
seen, outbox backlog, and gaps in each rack's sequence numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from agent.report.payloads import Status, StreamEvent
from agent.report.topics import split_rack_topic


@dataclass
class RackRow:
    site: str
    rack: str
    online: bool = False
    state: str = "?"
    version: str = ""
    boot_id: str = ""
    alarms: list[str] = field(default_factory=list)
    backlog: int = 0
    thinned: int = 0
    last_seen: float = 0.0
    last_seq: int = 0
    gaps: int = 0
    duplicates: int = 0
    # The last events seq seen per boot: after a crash the next boot re-sends the old
    # boot's unacknowledged tail with its old boot id, interleaved with the new stream.
    seqs: dict[str, int] = field(default_factory=dict)
    last_event: str = ""


class Board:
    def __init__(self, prefix: str, clock: Any = time.time) -> None:
        self.prefix = prefix
        self.racks: dict[tuple[str, str], RackRow] = {}
        self.clock = clock
        self.ignored = 0

    def update(self, topic: str, payload: bytes) -> bool:
        """Apply one message; False when it is not something the board understands."""
        where = split_rack_topic(self.prefix, topic)
        if where is None:
            return False
        site, rack, rest = where
        row = self.racks.setdefault((site, rack), RackRow(site, rack))
        try:
            if rest == "status":
                self._status(row, msgspec.json.decode(payload, type=Status))
            elif rest == "events":
                self._event(row, msgspec.json.decode(payload, type=StreamEvent))
            else:
                return False
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            self.ignored += 1
            return False
        return True

    def _status(self, row: RackRow, status: Status) -> None:
        row.online = status.online
        if status.state is not None:  # the will does not know the state: keep the last
            row.state = status.state
        row.version = status.version
        row.alarms = [f"{a.device}:{a.name}" for a in status.alarms]
        if status.outbox is not None:
            row.backlog = status.outbox.backlog
            row.thinned = status.outbox.thinned
        if status.boot_id != row.boot_id:
            row.boot_id, row.last_seq = status.boot_id, row.seqs.get(status.boot_id, 0)
        # Offline: the rack's own time of its last word, else (the will) when we heard.
        row.last_seen = self.clock() if status.online or status.ts is None else status.ts

    def _event(self, row: RackRow, event: StreamEvent) -> None:
        """Gaps are counted per boot on the events stream only (telemetry topics number
        their own streams, docs/protocol.md); a (boot_id, seq) seen before is a
        duplicate of at-least-once delivery, not news."""
        last = row.seqs.get(event.boot_id, 0)
        if event.seq <= last:
            row.duplicates += 1
            return
        if last and event.seq > last + 1:
            row.gaps += event.seq - last - 1
        new_boot = event.boot_id not in row.seqs
        row.seqs[event.boot_id] = event.seq
        if event.boot_id == row.boot_id or new_boot:
            row.boot_id, row.last_seq = event.boot_id, event.seq
        row.last_seen = self.clock()
        row.last_event = event.kind
        if event.kind in ("alarm.raised", "alarm.cleared"):
            # Named as the status names them (wiring._snapshot): health's alarm events
            # carry kind and sensor, not a name.
            data = event.data
            label = data.get("name") or f"{data.get('kind', '?')}/{data.get('sensor', '?')}"
            name = f"{data.get('device', event.source)}:{label}"
            if event.kind == "alarm.cleared":
                row.alarms = [a for a in row.alarms if a != name]
            elif name not in row.alarms:
                row.alarms.append(name)

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in vars(row).items() if k != "seqs"} | {"alarms": list(row.alarms)}
            for _, row in sorted(self.racks.items())
        ]

    def render(self) -> str:
        now = self.clock()
        header = (
            f"{'SITE':<14} {'RACK':<12} {'ONLINE':<7} {'STATE':<14} {'ALARMS':<6} "
            f"{'BACKLOG':>8} {'SEEN':>8} {'GAPS':>5}  LAST EVENT / ALARMS"
        )
        lines = [header, "-" * len(header)]
        for _, row in sorted(self.racks.items()):
            seen = f"{now - row.last_seen:.0f}s" if row.last_seen else "never"
            alarms = ", ".join(row.alarms[:3]) + (" ..." if len(row.alarms) > 3 else "")
            lines.append(
                f"{row.site:<14} {row.rack:<12} {'yes' if row.online else 'NO':<7} "
                f"{row.state:<14} {len(row.alarms):<6} {row.backlog:>8} {seen:>8} "
                f"{row.gaps:>5}  {row.last_event}{' | ' + alarms if alarms else ''}"
            )
        if not self.racks:
            lines.append("(no rack seen yet)")
        return "\n".join(lines)
