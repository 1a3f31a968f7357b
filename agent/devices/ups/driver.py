"""Read any UPS family: one GET for the scalars, one walk per line table.

The driver *reports*: whether the UPS is on mains, its battery, runtime and lines.
Whether that means shutting the rack down is for the UPS policy, never here.

Every quantity is tried in the family's order, then in the families it names in
``also``, then in RFC 1628 UPS-MIB (most cards publish it too). A value the UPS does
not publish is ``None``; one published with the wrong type or outside its MIB range is
``None`` with a note in ``problems`` naming the object, the OID and the value. Decoding
never raises: a UPS with one odd object still tells us whether we are on mains.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from agent.adapters.snmp import MISSING, SnmpClient, Value, as_text
from agent.devices.ups.base import (
    AlarmTable,
    BatteryEnum,
    LineColumn,
    LineTable,
    Number,
    SourceEnum,
    Text,
    UpsFamily,
)
from agent.devices.ups.rfc1628 import RFC1628
from agent.errors import TableUnreadable

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
GET_CHUNK = 24  # OIDs per GET: small enough for every agent's PDU size


class BatteryStatus(enum.IntEnum):
    """The normalised battery status (numbered as UPS-MIB's upsBatteryStatus)."""

    UNKNOWN = 1
    NORMAL = 2
    LOW = 3
    DEPLETED = 4


_BY_STATE = {
    "unknown": BatteryStatus.UNKNOWN,
    "normal": BatteryStatus.NORMAL,
    "low": BatteryStatus.LOW,
    "depleted": BatteryStatus.DEPLETED,
}
_SEVERITY = {BatteryStatus.NORMAL: 1, BatteryStatus.LOW: 2, BatteryStatus.DEPLETED: 3}


@dataclass(frozen=True, slots=True)
class LineValues:
    """One input or output line (phase), SI units; None where the UPS does not say."""

    line: int
    voltage_v: float | None = None
    current_a: float | None = None
    frequency_hz: float | None = None
    power_w: float | None = None
    load_pct: float | None = None

    def get(self, quantity: str) -> float | None:
        return {
            "voltage": self.voltage_v,
            "current": self.current_a,
            "frequency": self.frequency_hz,
            "power": self.power_w,
            "load": self.load_pct,
        }[quantity]


@dataclass(frozen=True, slots=True)
class UpsIdentity:
    family: str
    manufacturer: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    sys_object_id: str | None
    sys_descr: str | None


@dataclass(frozen=True, slots=True)
class UpsStatus:
    """What the UPS says now; None where it does not say (see ``problems``)."""

    battery_status: BatteryStatus | None = None
    on_battery: bool | None = None
    runtime_s: float | None = None
    charge_pct: float | None = None
    seconds_on_battery: float | None = None
    battery_voltage_v: float | None = None
    battery_temperature_c: float | None = None
    input_line_bads: float | None = None
    input_voltage_v: float | None = None  # the unit's, or line 1's
    input_frequency_hz: float | None = None
    output_power_w: float | None = None  # the total, or the sum of the lines
    output_load_pct: float | None = None  # the unit's, or the most loaded line's
    inputs: tuple[LineValues, ...] = ()
    outputs: tuple[LineValues, ...] = ()
    # Quantities some table of the family could give per line (for explicit unknowns).
    input_quantities: tuple[str, ...] = ()
    output_quantities: tuple[str, ...] = ()
    family: str = ""
    problems: tuple[str, ...] = ()
    # Each walked table by its MIB name: "read", "absent" (no rows) or "unreadable: why".
    tables: tuple[tuple[str, str], ...] = ()


def family_chain(family: UpsFamily, known: Mapping[str, UpsFamily]) -> tuple[UpsFamily, ...]:
    """``family``, then the families it names in ``also``, then RFC 1628 (no repeats)."""
    chain: dict[str, UpsFamily] = {}
    for member in (family, *(known[key] for key in family.also if key in known), RFC1628):
        chain.setdefault(member.key, member)
    return tuple(chain.values())


def scalar_oids(chain: Sequence[UpsFamily]) -> list[str]:
    return list(dict.fromkeys(obj.oid for family in chain for obj in family.scalars()))


def line_tables(chain: Sequence[UpsFamily]) -> list[LineTable]:
    return [t for family in chain for t in (*family.input_lines, *family.output_lines)]


def walked_columns(chain: Sequence[UpsFamily]) -> list[str]:
    """Every subtree a status read walks: the line tables, the alarm tables."""
    subtrees = [t.entry for t in line_tables(chain)]
    subtrees += [f.battery_alarms.descr_column for f in chain if f.battery_alarms is not None]
    return subtrees


class _Decoder:
    def __init__(self, values: Mapping[str, Value]) -> None:
        self.values = values
        self.problems: list[str] = []

    def raw_int(self, oid: str, mib: str, value: Value, notes: list[str]) -> int | None:
        if value is MISSING:
            return None
        if isinstance(value, bytes):
            # Some cards publish numbers as DisplayStrings ("12"); take them when integral.
            text = value.decode("ascii", errors="replace").strip("\x00 \r\n")
            if text.lstrip("-").isdigit():
                value = int(text)
        if not isinstance(value, int):
            notes.append(f"{mib} ({oid}) answered {value!r}, not an integer")
            return None
        return value

    def number(self, obj: Number, notes: list[str]) -> float | None:
        raw = self.raw_int(obj.oid, obj.mib, self.values.get(obj.oid, MISSING), notes)
        return _in_range(raw, obj, obj.oid, notes)

    def first(self, sources: Iterable[Number]) -> float | None:
        notes: list[str] = []
        for obj in sources:
            value = self.number(obj, notes)
            if value is not None:
                return value
        self.problems.extend(notes)
        return None

    def text(self, sources: Iterable[Text], join: bool = False) -> str | None:
        parts = [as_text(self.values.get(obj.oid, MISSING)) or "" for obj in sources]
        parts = [p for p in parts if p]
        if not parts:
            return None
        return " ".join(parts) if join else parts[0]

    def battery(
        self, chain: Sequence[UpsFamily], walked: Mapping[str, Sequence[tuple[str, Value]]]
    ) -> BatteryStatus | None:
        answered_unknown = False
        for family in chain:
            states: list[BatteryStatus] = []
            for obj in family.battery_status:
                state = self._battery_state(obj)
                if state is BatteryStatus.UNKNOWN:
                    answered_unknown = True
                elif state is not None:
                    states.append(state)
            if family.battery_alarms is not None:
                alarmed = self._alarm_state(family.battery_alarms, walked)
                if alarmed is not None:
                    states.append(alarmed)
            if states:
                return max(states, key=_SEVERITY.__getitem__)
        return BatteryStatus.UNKNOWN if answered_unknown else None

    def _alarm_state(
        self, table: AlarmTable, walked: Mapping[str, Sequence[tuple[str, Value]]]
    ) -> BatteryStatus | None:
        if self.number(table.count, self.problems) is None:
            return None  # no alarm count: the table says nothing
        start = table.descr_column + "."
        present = {
            value.strip(".")
            for oid, value in walked.get(table.descr_column, ())
            if oid.startswith(start) and isinstance(value, str)
        }
        if present & table.depleted:
            return BatteryStatus.DEPLETED
        if present & table.low:
            return BatteryStatus.LOW
        return BatteryStatus.NORMAL

    def _battery_state(self, obj: BatteryEnum) -> BatteryStatus | None:
        raw = self.raw_int(obj.oid, obj.mib, self.values.get(obj.oid, MISSING), self.problems)
        if raw is None:
            return None
        state = obj.state(raw)
        if state is None:
            self.problems.append(f"{obj.mib} ({obj.oid}) = {raw} is not a value of its MIB")
            return None
        return _BY_STATE[state]

    def source(self, chain: Sequence[UpsFamily]) -> bool | None:
        for family in chain:
            for obj in family.on_battery:
                said = self._source(obj)
                if said is not None:
                    return said
        return None

    def _source(self, obj: SourceEnum) -> bool | None:
        raw = self.raw_int(obj.oid, obj.mib, self.values.get(obj.oid, MISSING), self.problems)
        if raw is None or raw in obj.neither:
            return None
        if raw in obj.battery:
            return True
        if raw in obj.mains:
            return False
        self.problems.append(f"{obj.mib} ({obj.oid}) = {raw} is not a value of its MIB")
        return None


def _in_range(
    raw: int | None, spec: Number | LineColumn, oid: str, notes: list[str]
) -> float | None:
    """``raw * spec.scale``, or None (with a note) outside the MIB range."""
    if raw is None:
        return None
    low, high = spec.low, spec.high
    if (low is not None and raw < low) or (high is not None and raw > high):
        span = f"{'' if low is None else low}..{'' if high is None else high}"
        notes.append(f"{spec.mib} ({oid}) = {raw} is outside its MIB range {span}")
        return None
    return raw * spec.scale


def _rows_by_line(
    table: LineTable, rows: Iterable[tuple[str, Value]]
) -> dict[int, dict[int, tuple[str, Value]]]:
    """{line: {column: (oid, value)}} of one walked table (any row order)."""
    start = table.entry + "."
    prefix = table.device_index + "." if table.device_index else ""
    out: dict[int, dict[int, tuple[str, Value]]] = {}
    for oid, value in rows:
        if not oid.startswith(start):
            continue
        column, _, index = oid[len(start) :].partition(".")
        if prefix:
            if not index.startswith(prefix):
                continue
            index = index[len(prefix) :]
        arcs = index.split(".")
        arc = arcs[0] if table.line_arc == "first" else arcs[-1]
        if not (column.isdigit() and arc.isdigit()) or int(arc) < 1:
            continue
        out.setdefault(int(arc), {})[int(column)] = (oid, value)
    return out


def _lines(
    decoder: _Decoder,
    tables: Sequence[LineTable],
    walked: Mapping[str, Sequence[tuple[str, Value]]],
) -> list[LineValues]:
    """Lines of the first table that has rows (1..its count); each quantity from the
    first table giving a usable value for that line."""
    parsed: list[tuple[LineTable, dict[int, dict[int, tuple[str, Value]]]]] = []
    for table in tables:
        rows = _rows_by_line(table, walked.get(table.entry, ()))
        if table.count is not None:
            count = decoder.number(table.count, decoder.problems)
            if count is not None:
                rows = {n: r for n, r in rows.items() if n <= count}
        parsed.append((table, rows))
    numbers = next((sorted(rows) for _, rows in parsed if rows), [])
    out = []
    for n in numbers:
        got: dict[str, float] = {}
        notes: list[str] = []
        for table, rows in parsed:
            row = rows.get(n, {})
            for quantity, col in table.columns().items():
                if quantity in got or col.column not in row:
                    continue
                oid, value = row[col.column]
                raw = decoder.raw_int(oid, col.mib, value, notes)
                scaled = _in_range(raw, col, oid, notes)
                if scaled is not None:
                    got[quantity] = scaled
        decoder.problems.extend(notes)
        out.append(
            LineValues(
                n,
                voltage_v=got.get("voltage"),
                current_a=got.get("current"),
                frequency_hz=got.get("frequency"),
                power_w=got.get("power"),
                load_pct=got.get("load"),
            )
        )
    return out


def decode_status(
    chain: Sequence[UpsFamily],
    values: Mapping[str, Value],
    walked: Mapping[str, Sequence[tuple[str, Value]]],
    unreadable: Mapping[str, str] | None = None,
) -> UpsStatus:
    """UpsStatus from the GET answers (OID -> value) and the walked line tables
    (table entry OID -> rows) of ``chain``, read by :func:`family_chain`;
    ``unreadable`` names the subtrees the agent refused, with why."""
    d = _Decoder(values)
    refused = unreadable or {}
    d.problems.extend(
        f"{mib} ({oid}) is unreadable: {why}" for oid, why, mib in _refused(chain, refused)
    )

    def first(name: str) -> float | None:
        return d.first(obj for family in chain for obj in getattr(family, name))

    battery = d.battery(chain, walked)
    on_battery = d.source(chain)
    seconds_on_battery = first("seconds_on_battery")
    if on_battery is None and seconds_on_battery is not None:
        on_battery = seconds_on_battery > 0  # UPS-MIB: zero unless on battery
    inputs = _lines(d, [t for f in chain for t in f.input_lines], walked)
    outputs = _lines(d, [t for f in chain for t in f.output_lines], walked)
    scalar_in = {q: first(f"input_{q}") for q in ("voltage", "current", "frequency")}
    scalar_out = {q: first(f"output_{q}") for q in ("voltage", "current", "power", "load")}
    if not inputs and any(v is not None for v in scalar_in.values()):
        inputs = [LineValues(1, scalar_in["voltage"], scalar_in["current"], scalar_in["frequency"])]
    if not outputs and any(v is not None for v in scalar_out.values()):
        outputs = [
            LineValues(
                1,
                scalar_out["voltage"],
                scalar_out["current"],
                power_w=scalar_out["power"],
                load_pct=scalar_out["load"],
            )
        ]
    powers = [o.power_w for o in outputs]
    loads = [o.load_pct for o in outputs if o.load_pct is not None]
    return UpsStatus(
        battery_status=battery,
        on_battery=on_battery,
        runtime_s=first("runtime"),
        charge_pct=first("charge"),
        seconds_on_battery=seconds_on_battery,
        battery_voltage_v=first("battery_voltage"),
        battery_temperature_c=first("battery_temperature"),
        input_line_bads=first("input_line_bads"),
        input_voltage_v=_or(scalar_in["voltage"], inputs[0].voltage_v if inputs else None),
        input_frequency_hz=_or(scalar_in["frequency"], inputs[0].frequency_hz if inputs else None),
        output_power_w=_or(
            scalar_out["power"],
            sum(p for p in powers if p is not None) if powers and None not in powers else None,
        ),
        output_load_pct=_or(scalar_out["load"], max(loads) if loads else None),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        input_quantities=_quantities(chain, "input"),
        output_quantities=_quantities(chain, "output"),
        family=chain[0].key if chain else "",
        problems=tuple(dict.fromkeys(d.problems)),
        tables=tuple(
            (mib, f"unreadable: {refused[oid]}" if oid in refused else _state(walked.get(oid)))
            for oid, mib in _walked_names(chain).items()
        ),
    )


def _walked_names(chain: Sequence[UpsFamily]) -> dict[str, str]:
    names = {t.entry: t.mib for t in line_tables(chain)}
    for family in chain:
        if family.battery_alarms is not None:
            names[family.battery_alarms.descr_column] = family.battery_alarms.mib
    return names


def _refused(chain: Sequence[UpsFamily], refused: Mapping[str, str]) -> list[tuple[str, str, str]]:
    names = _walked_names(chain)
    return [(oid, why, names.get(oid, oid)) for oid, why in refused.items()]


def _state(rows: Sequence[tuple[str, Value]] | None) -> str:
    return "read" if rows else "absent"


def _quantities(chain: Sequence[UpsFamily], side: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for family in chain:
        for table in getattr(family, f"{side}_lines"):
            found.update(dict.fromkeys(table.columns()))
    order = ("voltage", "current", "frequency", "power", "load")
    return tuple(q for q in order if q in found)


def _or(first: float | None, second: float | None) -> float | None:
    return first if first is not None else second


def decode_identity(chain: Sequence[UpsFamily], values: Mapping[str, Value]) -> UpsIdentity:
    d = _Decoder(values)

    def text(name: str, join: bool = False) -> str | None:
        for family in chain:
            found = d.text(getattr(family, name), join=join)
            if found:
                return found
        return None

    raw_oid = values.get(SYS_OBJECT_ID, MISSING)
    family = chain[0] if chain else RFC1628
    return UpsIdentity(
        family=family.key,
        manufacturer=text("manufacturer") or family.vendor or None,
        model=text("model", join=True),
        serial=text("serial"),
        firmware=text("firmware"),
        sys_object_id=raw_oid if isinstance(raw_oid, str) else None,
        sys_descr=as_text(values.get(SYS_DESCR, MISSING)) or None,
    )


async def get_many(client: SnmpClient, oids: Sequence[str]) -> dict[str, Value]:
    """GET ``oids`` in PDUs of at most GET_CHUNK objects."""
    values: dict[str, Value] = {}
    for start in range(0, len(oids), GET_CHUNK):
        values.update(await client.get(oids[start : start + GET_CHUNK]))
    return values


async def read_status(client: SnmpClient, chain: Sequence[UpsFamily]) -> UpsStatus:
    """One status read; a table the agent refuses is reported, the rest still read."""
    values = await get_many(client, scalar_oids(chain))
    walked: dict[str, list[tuple[str, Value]]] = {}
    unreadable: dict[str, str] = {}
    for subtree in walked_columns(chain):
        try:
            walked[subtree] = await client.walk(subtree)
        except TableUnreadable as exc:
            unreadable[subtree] = str(exc)
    return decode_status(chain, values, walked, unreadable)


async def read_identity(client: SnmpClient, chain: Sequence[UpsFamily]) -> UpsIdentity:
    oids = [SYS_OBJECT_ID, SYS_DESCR]
    for family in chain:
        for group in (family.manufacturer, family.model, family.serial, family.firmware):
            oids.extend(obj.oid for obj in group)
    return decode_identity(chain, await get_many(client, list(dict.fromkeys(oids))))
