"""Health of a rack PDU: whole-unit load and power, inlets, phases, breakers, outlet
states, outlet load and power, temperature and humidity.

Identity and outlet states come from the PDU driver's family data
(``agent.devices.pdu``); metering comes from :mod:`agent.devices.pdu.metering`.
One poll is one GET for the scalars plus one GETBULK walk per column; decoding is a
pure function (:func:`decode`) so recordings can be fed to it directly.

Every table the poll needed is accounted for in :attr:`PduReader.last_tables`
("MIB::object" -> "read", "absent" (the device has no such object: this family's
model does not publish it), "empty" (the table exists, its size object answers, no
rows) or "unreadable: <why>" (the device answered with an error)). A device that does
not answer at all raises DeviceUnreachable, as every reader does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from agent.adapters.snmp import MISSING, SnmpClient, Value
from agent.devices.detect import resolve_driver
from agent.devices.pdu import PduDriver, PduFamily
from agent.devices.pdu.driver import number_outlets
from agent.devices.pdu.metering import METERING, Metering, Scalar, Table
from agent.errors import NegativeReply, ProtocolError
from agent.health.readers.base import as_int, column, index_key
from agent.health.sensors import (
    AMPERE,
    BOOLEAN,
    CELSIUS,
    PERCENT,
    VOLT,
    WATT,
    Identity,
    Reading,
    reading,
    unknown,
)

# Plausible ranges: anything outside is a broken agent or a sentinel, not a measurement.
MAX_INLET_A = 200.0
MAX_INLET_W = 60_000.0
MAX_OUTLET_A = 40.0
MAX_OUTLET_W = 10_000.0
MAX_VOLT = 1_000.0
TEMPERATURE_RANGE = (-40.0, 120.0)

READ, ABSENT, EMPTY = "read", "absent", "empty"
# PowerNet-MIB, DellrPDU-MIB and Sentry3/4-MIB: "Models that do not support this
# feature will respond to this OID with a value of -1".
NOT_SUPPORTED = -1
_RANK = {"unreadable": 0, READ: 1, EMPTY: 2, ABSENT: 3}


def metering_for(family: PduFamily) -> Metering:
    """The family's metering entry, or one built from its inlet measurements."""
    found = METERING.get(family.key)
    if found is not None:
        return found
    current, power, temp = family.inlet_current, family.inlet_power, family.temperature
    return Metering(
        inlet_current=None
        if current is None
        else Scalar(current.oid, current.scale, current.mib, current.digits_oid),
        inlet_power=None
        if power is None
        else Scalar(power.oid, power.scale, power.mib, power.digits_oid),
        temperature=None if temp is None else Scalar(temp.oid, temp.scale, temp.mib),
    )


class PduReader:
    """Reads one PDU through an open SnmpClient. ``driver`` is a family key or "auto"."""

    def __init__(self, device: str, client: SnmpClient, driver: str = "auto") -> None:
        self.device = device
        self.client = client
        self._driver_key = driver
        self._driver: PduDriver | None = None
        # Decimal-digit counts are configuration, not measurements: read once.
        self._digits_cache: dict[str, list[tuple[str, Value]]] = {}
        self.last_tables: dict[str, str] = {}

    async def driver(self) -> PduDriver:
        if self._driver is None:
            self._driver = await resolve_driver(self.client, self._driver_key)
        return self._driver

    async def identify(self) -> Identity:
        drv = await self.driver()
        ident = await drv.identify(self.client)
        return Identity(
            device=self.device,
            family=drv.family.key,
            vendor=drv.family.vendor,
            model=ident.model or "",
            serial=ident.serial or "",
            firmware=ident.firmware or "",
            sys_object_id=ident.sys_object_id,
            outlets=ident.outlet_count,
        )

    async def read(self, ts: float) -> list[Reading]:
        drv = await self.driver()
        family = drv.family
        metering = metering_for(family)
        failed: dict[str, str] = {}
        oids = scalar_oids(family, metering)
        values: dict[str, Value] = {}
        if oids:
            try:
                values = await self.client.get(oids)
            except (ProtocolError, NegativeReply) as exc:
                failed.update(dict.fromkeys(oids, str(exc)))
        walked = await self._walk_all(family, metering, failed)
        self.last_tables = table_status(family, metering, values, walked, failed)
        return decode(
            self.device,
            family,
            metering=metering,
            values=values,
            walked=walked,
            ts=ts,
            failed=failed,
        )

    async def _walk_all(
        self, family: PduFamily, metering: Metering, failed: dict[str, str]
    ) -> dict[str, list[tuple[str, Value]]]:
        measured, digits = walked_columns(family, metering)
        todo = [c for c in digits if c not in self._digits_cache]
        wanted = measured + todo
        results = await asyncio.gather(
            *(self.client.walk(c) for c in wanted), return_exceptions=True
        )
        walked: dict[str, list[tuple[str, Value]]] = {}
        for col, result in zip(wanted, results, strict=True):
            if isinstance(result, (ProtocolError, NegativeReply)):
                failed[col] = str(result)
                walked[col] = []
            elif isinstance(result, BaseException):
                raise result  # DeviceUnreachable, cancellation: the poller's business
            else:
                walked[col] = result
        listing = family.outlet_list
        if listing is not None and family.state is not None and not walked.get(family.state.column):
            # No switched rows (a metered model, or a family without switching): the
            # outlets are listed from the metered table. Walked only then.
            try:
                walked[listing.column] = await self.client.walk(listing.column)
            except (ProtocolError, NegativeReply) as exc:
                failed[listing.column] = str(exc)
                walked[listing.column] = []
        elif listing is not None and family.state is None:
            walked[listing.column] = await self.client.walk(listing.column)
        for col in todo:
            if walked[col]:
                self._digits_cache[col] = walked[col]
        for col, rows in self._digits_cache.items():
            walked.setdefault(col, rows)
        return walked


def scalar_oids(family: PduFamily, metering: Metering) -> list[str]:
    """The one GET of a poll: metering scalars, their digit counts, table sizes."""
    oids: list[str] = []
    for scalar in (
        metering.inlet_current,
        metering.inlet_power,
        metering.temperature,
        metering.humidity,
    ):
        if scalar is not None:
            oids.append(scalar.oid)
            if scalar.digits is not None:
                oids.append(scalar.digits)
    oids += [t.size for t in metering.tables if t.size is not None]
    if family.outlet_count is not None:
        oids.append(family.outlet_count.oid)
    return list(dict.fromkeys(oids))


def walked_columns(family: PduFamily, metering: Metering) -> tuple[list[str], list[str]]:
    """(measured columns, decimal-digit columns) a poll walks. The family's outlet list
    is walked only when the state column has no rows (see PduReader._walk_all)."""
    measured: list[str] = [family.state.column] if family.state is not None else []
    digits: list[str] = []
    for table in metering.tables:
        measured.append(table.column)
        if table.number is not None:
            measured.append(table.number)
        if table.select is not None:
            measured.append(table.select.column)
        if table.digits is not None:
            digits.append(table.digits)
    if metering.external is not None:
        measured.append(metering.external.value_column)
        digits += [metering.external.type_column, metering.external.digits_column]
    return list(dict.fromkeys(measured)), list(dict.fromkeys(digits))


def table_status(
    family: PduFamily,
    metering: Metering,
    values: Mapping[str, Value],
    walked: Mapping[str, list[tuple[str, Value]]],
    failed: Mapping[str, str],
) -> dict[str, str]:
    """ "MIB::object" -> read / absent / empty / unreadable: why, for one poll."""
    out: dict[str, str] = {}

    def put(mib: str, status: str) -> None:
        old = out.get(mib)
        if old is None or _RANK[status.partition(":")[0]] < _RANK[old.partition(":")[0]]:
            out[mib] = status

    def walk_status(col: str, size: str | None, suffix: str = "", size_mib: str = "") -> str:
        if col in failed:
            return f"unreadable: {failed[col]}"
        rows = column(walked.get(col, []), col)
        if any(index.endswith(suffix) for index in rows):
            return READ
        if size is None or values.get(size, MISSING) is MISSING:
            return ABSENT
        promised = as_int(values.get(size))
        if size_mib and promised is not None and promised > 0:
            # The walk ended without a row although the table-size object counts some:
            # the device stopped the walk (an error it did not report as one).
            return f"unreadable: {size_mib} says {promised} rows, the walk of {col} returned none"
        return EMPTY

    count = family.outlet_count.oid if family.outlet_count else None
    for col in (family.state, family.outlet_list):
        if col is not None and (col.column in walked or col.column in failed):
            put(col.mib, walk_status(col.column, count))
    for table in metering.tables:
        put(table.mib, walk_status(table.column, table.size, table.suffix, table.size_mib))
    for scalar in (
        metering.inlet_current,
        metering.inlet_power,
        metering.temperature,
        metering.humidity,
    ):
        if scalar is not None:
            if scalar.oid in failed:
                put(scalar.mib, f"unreadable: {failed[scalar.oid]}")
            else:
                put(scalar.mib, READ if values.get(scalar.oid, MISSING) is not MISSING else ABSENT)
    if metering.external is not None:
        ext = metering.external
        put(f"{ext.mib}::measurementsExternalSensorValue", walk_status(ext.value_column, None))
    return out


def _scale(raw: int, scale: float, digits: Value | None) -> float:
    count = as_int(digits) if digits is not None else None
    if count is not None and 0 <= count <= 6:
        return raw * 10.0**-count
    return raw * scale


def _scalar_value(scalar: Scalar, values: Mapping[str, Value]) -> tuple[float | None, str]:
    raw = values.get(scalar.oid, MISSING)
    if raw is MISSING:
        return None, f"{scalar.mib} ({scalar.oid}) is not published (no probe fitted?)"
    number = as_int(raw)
    if number is None:
        return None, f"{scalar.mib} ({scalar.oid}) answered {raw!r}, not an integer"
    if number == NOT_SUPPORTED:
        return None, f"{scalar.mib} ({scalar.oid}) answered -1: not supported or no probe"
    digits = values.get(scalar.digits, MISSING) if scalar.digits else None
    return _scale(number, scalar.scale, None if digits is MISSING else digits), ""


_KINDS = {
    ("inlet", "current"): ("pdu_load_a", AMPERE, MAX_INLET_A),
    ("inlet", "power"): ("pdu_power_w", WATT, MAX_INLET_W),
    ("inlet", "voltage"): ("voltage", VOLT, MAX_VOLT),
    ("phase", "current"): ("phase_current_a", AMPERE, MAX_INLET_A),
    ("phase", "power"): ("phase_power_w", WATT, MAX_INLET_W),
    ("phase", "voltage"): ("voltage", VOLT, MAX_VOLT),
    ("breaker", "current"): ("breaker_current_a", AMPERE, MAX_INLET_A),
    ("outlet", "current"): ("outlet_current_a", AMPERE, MAX_OUTLET_A),
    ("outlet", "power"): ("outlet_power_w", WATT, MAX_OUTLET_W),
}


def decode(
    device: str,
    family: PduFamily,
    *,
    metering: Metering,
    values: Mapping[str, Value],
    walked: Mapping[str, list[tuple[str, Value]]],
    ts: float,
    failed: Mapping[str, str] | None = None,
) -> list[Reading]:
    """Readings from one poll's raw answers: ``values`` of the scalars, ``walked`` rows
    per walked column, ``failed`` the columns the device refused (and why). Unsorted or
    partial tables and odd values are tolerated."""
    out: list[Reading] = []
    scalars: tuple[tuple[Scalar | None, str, str, str, float, float], ...] = (
        (metering.inlet_current, "inlet/current", "pdu_load_a", AMPERE, 0.0, MAX_INLET_A),
        (metering.inlet_power, "inlet/power", "pdu_power_w", WATT, 0.0, MAX_INLET_W),
        (metering.temperature, "temperature", "temperature", CELSIUS, *TEMPERATURE_RANGE),
        (metering.humidity, "humidity", "humidity", PERCENT, 0.0, 100.0),
    )
    for scalar, sensor, kind, unit, low, high in scalars:
        if scalar is None:
            continue
        value, why = _scalar_value(scalar, values)
        out.append(reading(device, sensor, kind, unit, value, ts, low=low, high=high, detail=why))

    state_rows = (
        column(walked.get(family.state.column, []), family.state.column) if family.state else {}
    )
    numbers = number_outlets(state_rows, family.index_arcs)
    switched = bool(numbers)
    if not numbers and family.outlet_list is not None:
        listed = column(walked.get(family.outlet_list.column, []), family.outlet_list.column)
        numbers = number_outlets(listed, family.index_arcs)
    outlet_of = {index: n for n, index in numbers.items()}
    for number, index in sorted(numbers.items()):
        sensor = f"outlet/{number}/state"
        if not switched:
            refused = (failed or {}).get(family.state.column) if family.state else None
            why = (
                f"outlet state not readable: {family.state.mib} was refused ({refused})"
                if refused and family.state
                else "not switched: this PDU publishes no "
                f"{family.state.mib if family.state else 'outlet state'} row for it"
            )
            out.append(unknown(device, sensor, "outlet_state", BOOLEAN, ts, why))
            continue
        raw = state_rows[index]
        code = as_int(raw)
        if code in family.state_on:
            out.append(reading(device, sensor, "outlet_state", BOOLEAN, 1.0, ts))
        elif code in family.state_off:
            out.append(reading(device, sensor, "outlet_state", BOOLEAN, 0.0, ts))
        else:
            mib = family.state.mib if family.state else ""
            out.append(
                unknown(
                    device,
                    sensor,
                    "outlet_state",
                    BOOLEAN,
                    ts,
                    f"{mib} answered {raw!r}, neither on nor off",
                )
            )
    by_table: dict[str, list[Reading]] = {}
    for table in metering.tables:
        found = _table(device, table, walked, outlet_of, ts)
        by_table[table.sensor] = found
        out += found
    for target, source, low_high in (
        ("inlet/current", metering.sum_current, MAX_INLET_A),
        ("inlet/power", metering.sum_power, MAX_INLET_W),
    ):
        if source is not None and source in by_table:
            out.append(_sum(device, target, by_table[source], low_high, ts))
    if metering.external is not None:
        out += _external(device, metering, walked, ts)
    return out


def _sum(device: str, sensor: str, parts: list[Reading], high: float, ts: float) -> Reading:
    kind, unit = ("pdu_load_a", AMPERE) if sensor.endswith("current") else ("pdu_power_w", WATT)
    if not parts:
        return unknown(device, sensor, kind, unit, ts, "no row to total")
    bad = [r.sensor for r in parts if not r.usable]
    if bad:
        return unknown(device, sensor, kind, unit, ts, f"cannot total: {', '.join(bad)} unknown")
    total = sum(r.value for r in parts if r.value is not None)
    return reading(device, sensor, kind, unit, total, ts, low=0.0, high=high)


def _table(
    device: str,
    table: Table,
    walked: Mapping[str, list[tuple[str, Value]]],
    outlet_of: Mapping[str, int],
    ts: float,
) -> list[Reading]:
    rows = column(walked.get(table.column, []), table.column)
    if not rows:
        return []  # an absent or empty table: last_tables says which, no reading invented
    numbers = column(walked.get(table.number, []), table.number) if table.number else {}
    select = (
        column(walked.get(table.select.column, []), table.select.column) if table.select else {}
    )
    digits = column(walked.get(table.digits, []), table.digits) if table.digits else {}
    kept: list[tuple[str, str, Value]] = []  # (index, index without suffix, raw)
    for index, raw in rows.items():
        if table.suffix:
            if not index.endswith(table.suffix):
                continue
            base = index[: -len(table.suffix)]
        else:
            base = index
        if table.select is not None and not table.select.keeps(as_int(select.get(index))):
            continue
        kept.append((index, base, raw))
    kept.sort(key=lambda item: index_key(item[1]))
    group, quantity = table.sensor.split("/", 1)[0], table.quantity
    kind, unit, high = _KINDS[(group, quantity)]
    found: dict[int, Reading] = {}
    for position, (index, base, raw) in enumerate(kept, 1):
        number: int | None
        if table.number is not None:
            number = as_int(numbers.get(index))
        elif group == "outlet" and base in outlet_of:
            number = outlet_of[base]
        elif "." not in base and base.isdigit():
            number = int(base)
        else:
            number = position
        if number is None or (table.max_number is not None and number > table.max_number):
            continue
        sensor = table.sensor.format(n=number)
        value = as_int(raw)
        if value is None:
            found[number] = unknown(
                device,
                sensor,
                kind,
                unit,
                ts,
                f"{table.mib}.{index} answered {raw!r}, not an integer",
            )
            continue
        scaled = _scale(value, table.scale, digits.get(index))
        found[number] = reading(device, sensor, kind, unit, scaled, ts, low=0.0, high=high)
    if group == "outlet":
        # An outlet whose state we read but whose metering row is missing (a truncated
        # table, a firmware without that column for it) is an explicit unknown.
        for number in set(outlet_of.values()) - found.keys():
            found[number] = unknown(
                device,
                table.sensor.format(n=number),
                kind,
                unit,
                ts,
                f"{table.mib} has no row for outlet {number}",
            )
    return [found[n] for n in sorted(found)]


def _external(
    device: str, metering: Metering, walked: Mapping[str, list[tuple[str, Value]]], ts: float
) -> list[Reading]:
    ext = metering.external
    assert ext is not None
    types = column(walked.get(ext.type_column, []), ext.type_column)
    digits = column(walked.get(ext.digits_column, []), ext.digits_column)
    values = column(walked.get(ext.value_column, []), ext.value_column)
    out: list[Reading] = []
    for index in sorted(types, key=index_key):
        sensor_type = as_int(types[index])
        if sensor_type == ext.temperature_type:
            sensor, kind, unit, low, high = (
                f"temperature/{index}",
                "temperature",
                CELSIUS,
                -40.0,
                120.0,
            )
        elif sensor_type == ext.humidity_type:
            sensor, kind, unit, low, high = f"humidity/{index}", "humidity", PERCENT, 0.0, 100.0
        else:
            continue
        raw = values.get(index, MISSING)
        number = as_int(raw)
        if number is None:
            out.append(
                unknown(
                    device,
                    sensor,
                    kind,
                    unit,
                    ts,
                    f"{ext.mib}::measurementsExternalSensorValue.{index} = {raw!r}",
                )
            )
            continue
        out.append(
            reading(
                device,
                sensor,
                kind,
                unit,
                _scale(number, 1.0, digits.get(index)),
                ts,
                low=low,
                high=high,
            )
        )
    return out
