"""The power budget: what may be switched on without tripping a PDU inlet or the UPS.

Pure bookkeeping, no I/O: the sequencer tells it which devices draw and what the meters
say, and asks before every switch-on whether the next device still fits.

The load of a feed (a PDU inlet or a UPS) is the sum of the nominal draws of the devices
that draw on it, plus whatever the feed's meter shows beyond that sum (a load the config
does not describe, such as the controller itself or a device drawing more than its
nominal). A device that would take any of its feeds past its budget is refused with a
`PolicyRefusal` *before* any of its outlets is switched.

Dual-corded devices: a device counts its **full** nominal draw on the PDU of each of its
cords, not a share. Power supplies share the load while both feeds are up, but when one
feed fails (the very event dual cords exist for) the other PDU carries everything, and a
budget that only holds while both feeds are healthy would trip the survivor's breaker
exactly then. On a UPS, a device counts once, whatever the number of its cords behind it:
the UPS delivers the device's total draw however it is split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent.conf.schema import RackConfig
from agent.errors import PolicyRefusal


@dataclass(frozen=True, slots=True)
class DeviceLoad:
    """A device the budget knows: its nominal draw and the feeds it draws on."""

    device: str
    nominal_w: float
    pdus: tuple[str, ...]  # PDUs feeding it, one per distinct PDU of its outlets
    upses: tuple[str, ...]  # UPSes behind those PDUs


@dataclass(frozen=True, slots=True)
class FeedLoad:
    """One feed's state, for reports and the CLI."""

    feed: str  # "pdu-a" or "ups-1"
    kind: str  # "pdu" or "ups"
    nominal_w: float  # sum of the nominal draws of what draws on it
    unaccounted_w: float  # what its meter showed beyond that sum
    budget_w: float

    @property
    def load_w(self) -> float:
        return self.nominal_w + self.unaccounted_w


class PowerBudget:
    """Budgets per PDU inlet and per UPS, and which devices draw now."""

    def __init__(
        self,
        pdu_budgets: Mapping[str, float],
        ups_budgets: Mapping[str, float],
        devices: Iterable[DeviceLoad],
    ) -> None:
        self.pdu_budgets = dict(pdu_budgets)
        self.ups_budgets = dict(ups_budgets)
        self.devices = {d.device: d for d in devices}
        self.drawing: set[str] = set()
        self._extra: dict[tuple[str, str], float] = {}  # (kind, feed) -> unaccounted W

    @classmethod
    def from_config(cls, config: RackConfig) -> PowerBudget:
        ups_of = {p.id: p.ups for p in config.pdu if p.ups}
        devices: list[DeviceLoad] = []
        powered = [(s.id, s.power, s.nominal_w) for s in config.server]
        powered += [(sw.id, sw.power, sw.nominal_w) for sw in config.switch]
        for device, refs, watts in powered:
            if not refs:
                continue
            pdus = tuple(dict.fromkeys(ref.pdu for ref in refs))
            upses = tuple(dict.fromkeys(ups_of[p] for p in pdus if p in ups_of))
            devices.append(DeviceLoad(device, float(watts), pdus, upses))
        return cls(
            {p.id: float(p.inlet_budget_w) for p in config.pdu},
            {u.id: float(u.budget_w) for u in config.ups},
            devices,
        )

    def copy(self) -> PowerBudget:
        twin = PowerBudget(self.pdu_budgets, self.ups_budgets, self.devices.values())
        twin.drawing = set(self.drawing)
        twin._extra = dict(self._extra)
        return twin

    # --- state ---------------------------------------------------------------------------

    def mark_on(self, device: str) -> None:
        self._known(device)
        self.drawing.add(device)

    def mark_off(self, device: str) -> None:
        self.drawing.discard(device)

    def nominal(self, kind: str, feed: str, *, excluding: str | None = None) -> float:
        """Sum of the nominal draws on ``feed`` (a PDU or UPS id) of the drawing devices."""
        total = 0.0
        for device in self.drawing:
            if device == excluding:
                continue
            load = self.devices[device]
            if feed in (load.pdus if kind == "pdu" else load.upses):
                total += load.nominal_w
        return total

    def observe(self, kind: str, feed: str, measured_w: float | None) -> None:
        """Record a meter reading of ``feed``: what it shows beyond the nominal sum is
        load the config does not describe, and counts from now on. None (no meter, or
        no answer) keeps the last estimate."""
        if measured_w is None:
            return
        self._extra[(kind, feed)] = max(0.0, measured_w - self.nominal(kind, feed))

    def feeds(self) -> list[FeedLoad]:
        out = [self._feed("pdu", p, b) for p, b in self.pdu_budgets.items()]
        out += [self._feed("ups", u, b) for u, b in self.ups_budgets.items()]
        return out

    # --- decisions -----------------------------------------------------------------------

    def check(self, device: str, *, group: str) -> None:
        """Raise PolicyRefusal if switching ``device`` on would take one of its feeds past
        its budget. A device already drawing is re-counted, not added twice."""
        load = self._known(device)
        feeds = [("pdu", p, self.pdu_budgets.get(p)) for p in load.pdus]
        feeds += [("ups", u, self.ups_budgets.get(u)) for u in load.upses]
        for kind, feed, budget in feeds:
            if budget is None:
                continue
            base = self.nominal(kind, feed, excluding=device)
            extra = self._extra.get((kind, feed), 0.0)
            total = base + extra + load.nominal_w
            if total > budget:
                seen = f" + {extra:.0f} W measured beyond the nominal draws" if extra else ""
                raise PolicyRefusal(
                    f"power budget: group {group!r}, device {device!r}: switching it on would "
                    f"take {_feed_name(kind, feed)} to {total:.0f} W ({base:.0f} W already "
                    f"on{seen} + {load.nominal_w:.0f} W nominal) over its budget of "
                    f"{budget:.0f} W; nothing was switched. Raise "
                    f"{_budget_key(kind, feed)} if the breaker and the feed allow it, move "
                    "the device to another feed, or take a device out of the power groups"
                )

    def check_measured(
        self, kind: str, feed: str, measured_w: float | None, *, after: str, group: str
    ) -> None:
        """Raise PolicyRefusal when a meter shows ``feed`` over its budget (after
        ``after`` came up): the nominal draws in the config are too low."""
        budgets = self.pdu_budgets if kind == "pdu" else self.ups_budgets
        budget = budgets.get(feed)
        if measured_w is None or budget is None or measured_w <= budget:
            return
        raise PolicyRefusal(
            f"power budget: group {group!r}: {_feed_name(kind, feed)} measures "
            f"{measured_w:.0f} W after device {after!r} came up, over its budget of "
            f"{budget:.0f} W (the nominal draws add up to {self.nominal(kind, feed):.0f} W); "
            "the sequence stops here. Correct the devices' nominal_w in the rack config to "
            "their measured draw, or raise the budget if the feed allows it"
        )

    def project(self, group: str, members: Iterable[str]) -> None:
        """Check a whole group before its first outlet: members in order, each as if the
        ones before it were on. Raises at the first that would not fit, so a group too
        big for the budget is refused before any of its outlets is switched."""
        trial = self.copy()
        for member in members:
            trial.check(member, group=group)
            trial.mark_on(member)

    # --- helpers -------------------------------------------------------------------------

    def _known(self, device: str) -> DeviceLoad:
        load = self.devices.get(device)
        if load is None:
            raise PolicyRefusal(
                f"power budget: device {device!r} has no outlets in the rack config, so "
                "its draw cannot be budgeted; give it `power` outlets and a nominal_w"
            )
        return load

    def _feed(self, kind: str, feed: str, budget: float) -> FeedLoad:
        return FeedLoad(
            feed, kind, self.nominal(kind, feed), self._extra.get((kind, feed), 0.0), budget
        )


def _feed_name(kind: str, feed: str) -> str:
    return f"PDU {feed!r} inlet" if kind == "pdu" else f"UPS {feed!r}"


def _budget_key(kind: str, feed: str) -> str:
    return f"inlet_budget_w of pdu {feed!r}" if kind == "pdu" else f"budget_w of ups {feed!r}"
