"""The one sensor model every health reader produces, and the identity every device reports.

A reading is a fact about one sensor at one instant: which device, which sensor on it,
what kind of quantity (the kinds thresholds are written for, see
``agent.conf.schema.SensorKind``), its unit, its value and whether the value can be
trusted. A value that could not be read or decoded is not dropped: it becomes an
explicit ``unknown`` reading with the reason, so a silent sensor is visible in the
report instead of being a gap.

Readings are msgspec Structs: a 40-device rack produces a couple of thousand per cycle,
and msgspec builds and serialises them several times cheaper than dataclasses + json.
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec

# ok: a trusted value. unknown: no usable value (missing object, garbage, out of range,
# sensor not fitted or host off); ``detail`` says which. fault: the device itself says
# the sensor or component failed (a fan reported non-operational); ``value`` may be set.
ReadingStatus = Literal["ok", "unknown", "fault"]

# Units: SI-ish, as the rack config documents them per kind.
CELSIUS = "Cel"
PERCENT = "%"
AMPERE = "A"
WATT = "W"
SECOND = "s"
RPM = "RPM"
VOLT = "V"
BOOLEAN = "1"  # a 0/1 reading: on battery, port up, clock synchronised
COUNT = "{count}"


class Reading(msgspec.Struct, frozen=True, kw_only=True, array_like=False):
    """One normalised sensor reading.

    ``sensor`` is stable across polls and unique on its device (``outlet/3/power``,
    ``port/24/oper``, ``temperature/CPU1 Temp``), so thresholds and the report can track
    it. ``ts`` is wall-clock seconds (time.time()) of the poll that produced it.
    """

    device: str
    sensor: str
    kind: str
    unit: str
    value: float | None
    ts: float
    status: ReadingStatus = "ok"
    detail: str = ""

    @property
    def usable(self) -> bool:
        """True when thresholds may act on the value (known, and not a fault without one)."""
        return self.status != "unknown" and self.value is not None


def reading(  # noqa: PLR0917 - the fields of a reading, in the model's order
    device: str,
    sensor: str,
    kind: str,
    unit: str,
    value: float | None,
    ts: float,
    *,
    low: float | None = None,
    high: float | None = None,
    status: ReadingStatus = "ok",
    detail: str = "",
) -> Reading:
    """A reading, turned into an explicit unknown when the value is missing, not finite or
    outside the physically plausible range [low, high] (a PDU answering 6553.5 A is a
    broken agent or a sentinel such as -1, not an overload)."""
    if value is None:
        return unknown(device, sensor, kind, unit, ts, detail or "no value")
    if (
        not math.isfinite(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        span = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
        why = f"value {value!r} {unit} is outside the plausible range {span}"
        return unknown(device, sensor, kind, unit, ts, why)
    # ``detail`` explains an unknown; on a good value it would only be noise, except for
    # a fault, where it says what the device reported.
    return Reading(
        device=device,
        sensor=sensor,
        kind=kind,
        unit=unit,
        value=float(value),
        ts=ts,
        status=status,
        detail=detail if status == "fault" else "",
    )


def unknown(  # noqa: PLR0917 - the fields of a reading, in the model's order
    device: str, sensor: str, kind: str, unit: str, ts: float, detail: str
) -> Reading:
    """An explicit unknown reading: the sensor should be there but gave nothing usable."""
    return Reading(
        device=device,
        sensor=sensor,
        kind=kind,
        unit=unit,
        value=None,
        ts=ts,
        status="unknown",
        detail=detail,
    )


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """Who a device says it is: what the self-test holds against the inventory and the
    firmware baseline. Empty strings where the device does not say."""

    device: str
    family: str  # the driver family ("apc_rpdu2", "rfc1628", "qbridge", "redfish", ...)
    vendor: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    sys_object_id: str = ""
    sys_descr: str = ""
    # Outlets the device reports (PDUs only; None where it does not say or is no PDU).
    outlets: int | None = None
