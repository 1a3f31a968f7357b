"""The UPS policy: NUT's upsmon, for one rack.

The UPS driver (`agent.devices.ups`) reports; this decides, on edges only:

- ``on_battery``: the UPS feeds the load from its battery (mains lost);
- ``critical``: on battery with the runtime left below ``low_runtime``, or the battery
  reported low or depleted (NUT's OB+LB), or the UPS silent for ``dead_time`` while last
  seen on battery (NUT's DEADTIME: nothing says the batteries will last). The lifecycle
  answers with the staged shutdown, controller last;
- ``mains_back``: on mains again after an outage;
- ``return_allowed``: on mains since ``mains_back`` and charged to ``return_min_charge``
  percent: the policy allows the ordered return (the operator may allow it sooner);
- ``ups_lost`` / ``ups_back``: the UPS stopped / resumed answering.

A battery reported low while on mains is not critical: the UPS is recharging. `UpsPolicy`
is pure (a clock value comes in with every observation); `watch_ups` is its polling loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from agent.devices.ups import BatteryStatus, UpsStatus
from agent.errors import DeviceError

log = logging.getLogger(__name__)

DecisionKind = Literal[
    "on_battery", "critical", "mains_back", "return_allowed", "ups_lost", "ups_back"
]
# Bus event kinds, one per decision.
EVENT_KINDS: dict[DecisionKind, str] = {
    "on_battery": "power.ups_on_battery",
    "critical": "power.ups_critical",
    "mains_back": "power.ups_mains_back",
    "return_allowed": "power.ups_return_allowed",
    "ups_lost": "power.ups_lost",
    "ups_back": "power.ups_back",
}


@dataclass(frozen=True, slots=True)
class UpsDecision:
    """A policy edge for one UPS, with the readings that caused it."""

    ups: str
    kind: DecisionKind
    reason: str
    runtime_s: float | None = None
    charge_pct: float | None = None
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, object]:
        return {
            "ups": self.ups,
            "kind": self.kind,
            "reason": self.reason,
            "runtime_s": self.runtime_s,
            "charge_pct": self.charge_pct,
            "at": self.at,
        }


class UpsPolicy:
    """The decisions for one UPS from its successive readings (pure, clock injected)."""

    def __init__(
        self,
        ups: str,
        *,
        low_runtime_s: float,
        dead_time_s: float,
        return_min_charge_pct: float = 0.0,
    ) -> None:
        self.ups = ups
        self.low_runtime_s = low_runtime_s
        self.dead_time_s = dead_time_s
        self.return_min_charge_pct = return_min_charge_pct
        self.on_battery: bool | None = None  # last known; None before the first answer
        self.critical = False
        self.lost = False
        self.awaiting_return = False
        self.last_seen: float | None = None
        self.last_status: UpsStatus | None = None
        self.last_error = ""

    def observe(self, status: UpsStatus, now: float) -> list[UpsDecision]:
        """The UPS answered with ``status`` at monotonic time ``now``."""
        out: list[UpsDecision] = []
        charge = status.charge_pct
        if self.lost:
            self.lost = False
            out.append(self._decide("ups_back", "the UPS answers again", status))
        self.last_seen = now
        self.last_status = status
        on_battery = status.on_battery
        if on_battery is None:
            on_battery = self.on_battery  # the UPS does not say: keep what we knew
        if on_battery:
            if not self.on_battery:
                out.append(self._decide("on_battery", _battery_text(status), status))
            self.on_battery = True
            why = self._critical_reason(status)
            if why and not self.critical:
                self.critical = True
                out.append(self._decide("critical", why, status))
        elif on_battery is False:
            if self.on_battery:
                self.awaiting_return = True
                out.append(self._decide("mains_back", "the UPS is on mains again", status))
            self.on_battery = False
            self.critical = False
            if self.awaiting_return and (charge or 0.0) >= self.return_min_charge_pct:
                self.awaiting_return = False
                out.append(
                    self._decide(
                        "return_allowed",
                        f"on mains, battery charged to {_pct(charge)} (policy: at least "
                        f"{self.return_min_charge_pct:g} %)",
                        status,
                    )
                )
        return out

    def silent(self, now: float, error: str) -> list[UpsDecision]:
        """A poll got no usable answer at monotonic time ``now``."""
        out: list[UpsDecision] = []
        self.last_error = error
        if self.last_seen is None:
            self.last_seen = now  # never answered: dead time counts from the first try
        if not self.lost:
            self.lost = True
            out.append(self._decide("ups_lost", f"the UPS does not answer: {error}", None))
        silent_for = now - self.last_seen
        if self.on_battery and not self.critical and silent_for >= self.dead_time_s:
            self.critical = True
            out.append(
                self._decide(
                    "critical",
                    f"silent for {silent_for:.0f} s (dead_time {self.dead_time_s:g} s) while "
                    "last seen on battery: its runtime can no longer be trusted",
                    None,
                )
            )
        return out

    def _critical_reason(self, status: UpsStatus) -> str:
        if status.battery_status in (BatteryStatus.LOW, BatteryStatus.DEPLETED):
            return f"on battery and the battery reports {status.battery_status.name.lower()}"
        runtime = status.runtime_s
        if runtime is not None and runtime < self.low_runtime_s:
            return (
                f"on battery with {runtime:.0f} s of runtime left, below low_runtime "
                f"{self.low_runtime_s:g} s"
            )
        return ""

    def _decide(self, kind: DecisionKind, reason: str, status: UpsStatus | None) -> UpsDecision:
        last = status or self.last_status
        return UpsDecision(
            self.ups,
            kind,
            f"{self.ups}: {reason}",
            runtime_s=last.runtime_s if last else None,
            charge_pct=float(last.charge_pct) if last and last.charge_pct is not None else None,
        )


def _pct(value: float | None) -> str:
    return "an unknown level" if value is None else f"{value:g} %"


def _battery_text(status: UpsStatus) -> str:
    runtime = status.runtime_s
    left = "unknown runtime" if runtime is None else f"{runtime / 60:.0f} min of runtime"
    return f"mains lost: on battery, {left}, charge {_pct(status.charge_pct)}"


async def watch_ups(
    policy: UpsPolicy,
    read: Callable[[], Awaitable[UpsStatus]],
    decide: Callable[[UpsDecision], None],
    *,
    interval_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll one UPS every ``interval_s`` forever, feeding ``policy`` and handing each
    decision to ``decide``. A failed read is a state (silence), never an exit."""
    while True:
        try:
            status = await read()
        except DeviceError as exc:
            decisions = policy.silent(clock(), str(exc))
        else:
            decisions = policy.observe(status, clock())
        for decision in decisions:
            level = logging.WARNING if decision.kind in ("critical", "on_battery") else logging.INFO
            log.log(level, "UPS policy: %s: %s", decision.kind, decision.reason)
            decide(decision)
        await asyncio.sleep(interval_s)
