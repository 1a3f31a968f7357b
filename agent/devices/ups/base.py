"""What a UPS family is, as data: the objects to read and how to read them.

A family never contains code. ``agent.devices.ups.driver`` reads any family from this
data, the way NUT's ``*-mib.c`` tables describe vendors. OIDs are numeric, without a
leading dot, each naming its ``MIB-MODULE::object``. Scales turn the raw integer into
SI units (V, A, W, Hz, %, s, degC): ``value = raw * scale``. ``low``/``high`` bound the
*raw* value (the MIB's range, or the vendor's "not supported" sentinel such as -1);
a raw value outside them is unknown, with a note naming the object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BatteryState = Literal["normal", "low", "depleted", "unknown"]


@dataclass(frozen=True, slots=True)
class Text:
    """A DisplayString instance (identity)."""

    oid: str
    mib: str


@dataclass(frozen=True, slots=True)
class Number:
    """An integer instance read as ``raw * scale`` SI units."""

    oid: str
    mib: str
    scale: float = 1.0
    low: int | None = 0
    high: int | None = None


@dataclass(frozen=True, slots=True)
class BatteryEnum:
    """An enumerated (or yes/no) instance mapped onto normal / low / depleted / unknown.
    A value in none of the sets is outside the MIB and reads as unknown with a note."""

    oid: str
    mib: str
    normal: frozenset[int] = frozenset()
    low: frozenset[int] = frozenset()
    depleted: frozenset[int] = frozenset()
    unknown: frozenset[int] = frozenset()

    def state(self, raw: int) -> BatteryState | None:
        """The state ``raw`` means, or None when the MIB does not define it."""
        for state, values in (
            ("depleted", self.depleted),
            ("low", self.low),
            ("normal", self.normal),
            ("unknown", self.unknown),
        ):
            if raw in values:
                return state  # type: ignore[return-value]  # the literal names above
        return None


@dataclass(frozen=True, slots=True)
class AlarmTable:
    """The battery status from a table of present alarms (XUPS-MIB): the ``descr``
    column of each row names its alarm by OID. When ``count`` (the number of present
    alarms) answers, a present ``low`` or ``depleted`` alarm says so, and none says
    normal."""

    count: Number
    descr_column: str
    mib: str  # the descr column's MIB::object
    low: frozenset[str] = frozenset()
    depleted: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SourceEnum:
    """What feeds the load: values meaning "on battery", values meaning "on mains"
    (possibly through bypass, boost or trim), and values that say neither (off, none,
    other, unknown). A value in no set is outside the MIB."""

    oid: str
    mib: str
    battery: frozenset[int]
    mains: frozenset[int]
    neither: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class LineColumn:
    """One column of a per-line (per-phase) table: ``raw * scale``."""

    column: int
    mib: str
    scale: float = 1.0
    low: int | None = 0
    high: int | None = None


@dataclass(frozen=True, slots=True)
class LineTable:
    """A per-line (per-phase) table, walked at ``entry``; a row is
    ``{entry}.{column}.{index}``.

    ``device_index`` selects the rows of the first UPS or input (Tripp Lite's and APC's
    tables are indexed by device, then line). The line number is the first arc of the
    rest of the index (``line_arc="first"``: some agents append a stray ``.0``, seen in
    real recordings) or its last arc (``"last"``). ``count`` is the number of lines the
    UPS says it has: rows past it are ignored (agents pad the table with zero rows).
    """

    entry: str
    mib: str
    count: Number | None = None
    device_index: str = ""
    line_arc: Literal["first", "last"] = "first"
    voltage: LineColumn | None = None  # V
    current: LineColumn | None = None  # A
    frequency: LineColumn | None = None  # Hz
    power: LineColumn | None = None  # W
    load: LineColumn | None = None  # % of rated capacity

    def columns(self) -> dict[str, LineColumn]:
        quantities = {
            "voltage": self.voltage,
            "current": self.current,
            "frequency": self.frequency,
            "power": self.power,
            "load": self.load,
        }
        return {name: col for name, col in quantities.items() if col is not None}


@dataclass(frozen=True, slots=True)
class UpsFamily:
    """One family of UPSes, entirely described by its MIB objects.

    Every quantity is a tuple of sources tried in order (the high-precision object
    first, the coarse one after); the reader then falls back to the families named in
    ``also`` and to RFC 1628 UPS-MIB, which most network cards publish as well.
    """

    key: str
    vendor: str
    mib: str
    sys_object_ids: tuple[str, ...]  # sysObjectID prefixes: a hint only
    # Objects every UPS of the family answers and no other family does: detection GETs
    # them all and the family matches when every one answers (agent.devices.detect).
    sentinels: tuple[Text | Number, ...]
    # Identity: the first non-empty answer, except ``model``, whose parts are joined
    # with a space (MGE splits it into family and model names).
    manufacturer: tuple[Text, ...] = ()
    model: tuple[Text, ...] = ()
    serial: tuple[Text, ...] = ()
    firmware: tuple[Text, ...] = ()
    battery_status: tuple[BatteryEnum, ...] = ()  # the worst state answered wins
    battery_alarms: AlarmTable | None = None  # counts with battery_status
    on_battery: tuple[SourceEnum, ...] = ()  # the first that says wins
    charge: tuple[Number, ...] = ()  # %
    runtime: tuple[Number, ...] = ()  # s (scale converts minutes / TimeTicks)
    seconds_on_battery: tuple[Number, ...] = ()  # s
    battery_voltage: tuple[Number, ...] = ()  # V DC
    battery_temperature: tuple[Number, ...] = ()  # degC
    input_line_bads: tuple[Number, ...] = ()  # count
    # Scalars for the whole unit (single-phase UPSes publish only these; they become
    # line 1 when no per-line table answers).
    input_voltage: tuple[Number, ...] = ()
    input_current: tuple[Number, ...] = ()
    input_frequency: tuple[Number, ...] = ()
    output_voltage: tuple[Number, ...] = ()
    output_current: tuple[Number, ...] = ()
    output_power: tuple[Number, ...] = ()  # W, the total
    output_load: tuple[Number, ...] = ()  # %, the unit's
    input_lines: tuple[LineTable, ...] = ()
    output_lines: tuple[LineTable, ...] = ()
    also: tuple[str, ...] = ()  # keys of other families the same devices publish
    notes: str = field(default="", compare=False)

    def scalars(self) -> list[Text | Number | BatteryEnum | SourceEnum]:
        """Every scalar instance the family names (for one GET and consistency checks)."""
        out: list[Text | Number | BatteryEnum | SourceEnum] = [
            *self.manufacturer,
            *self.model,
            *self.serial,
            *self.firmware,
            *self.battery_status,
            *self.on_battery,
        ]
        for group in (
            self.charge,
            self.runtime,
            self.seconds_on_battery,
            self.battery_voltage,
            self.battery_temperature,
            self.input_line_bads,
            self.input_voltage,
            self.input_current,
            self.input_frequency,
            self.output_voltage,
            self.output_current,
            self.output_power,
            self.output_load,
        ):
            out.extend(group)
        for table in (*self.input_lines, *self.output_lines):
            if table.count is not None:
                out.append(table.count)
        if self.battery_alarms is not None:
            out.append(self.battery_alarms.count)
        return out


ENTERPRISES = "1.3.6.1.4.1"


def ent(suffix: str) -> str:
    """``1.3.6.1.4.1.<suffix>``."""
    return f"{ENTERPRISES}.{suffix}"
