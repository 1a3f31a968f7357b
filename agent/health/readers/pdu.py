"""Health of a switched PDU: inlet load and power, outlet states, outlet load and power,
temperature and humidity.

Identity and outlet states come from the PDU driver's family data
(``agent.devices.pdu``); metering comes from :mod:`agent.devices.pdu.metering`.
One poll is one GET for the scalars plus one GETBULK walk per column; decoding is a
pure function (:func:`decode`) so recordings can be fed to it directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from agent.adapters.snmp import MISSING, SnmpClient, Value
from agent.devices.detect import resolve_driver
from agent.devices.pdu import PduDriver, PduFamily
from agent.devices.pdu.metering import METERING, Metering, OutletColumn, Scalar
from agent.health.readers.base import as_int, column, index_key
from agent.health.sensors import (
    AMPERE,
    BOOLEAN,
    CELSIUS,
    PERCENT,
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
TEMPERATURE_RANGE = (-40.0, 120.0)


class PduReader:
    """Reads one PDU through an open SnmpClient. ``driver`` is a family key or "auto"."""

    def __init__(self, device: str, client: SnmpClient, driver: str = "auto") -> None:
        self.device = device
        self.client = client
        self._driver_key = driver
        self._driver: PduDriver | None = None
        # Decimal-digit counts are configuration, not measurements: read once.
        self._digits_cache: dict[str, list[tuple[str, Value]]] = {}

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
        metering = METERING.get(family.key)
        if metering is None:
            inlet = await drv.read_inlet(self.client)
            rows = await self.client.walk(family.state.column)
            readings = decode(
                self.device,
                family,
                metering=Metering(),
                values={},
                walked={family.state.column: rows},
                ts=ts,
            )
            readings += [
                reading(
                    self.device,
                    "inlet/current",
                    "pdu_load_a",
                    AMPERE,
                    inlet.current_a,
                    ts,
                    low=0,
                    high=MAX_INLET_A,
                ),
                reading(
                    self.device,
                    "inlet/power",
                    "pdu_power_w",
                    WATT,
                    inlet.power_w,
                    ts,
                    low=0,
                    high=MAX_INLET_W,
                ),
            ]
            if inlet.temperature_c is not None:
                readings.append(
                    reading(
                        self.device,
                        "temperature",
                        "temperature",
                        CELSIUS,
                        inlet.temperature_c,
                        ts,
                        low=TEMPERATURE_RANGE[0],
                        high=TEMPERATURE_RANGE[1],
                    )
                )
            return readings
        values = await self.client.get(scalar_oids(metering)) if scalar_oids(metering) else {}
        walked = await self._walk_all(family, metering)
        return decode(self.device, family, metering=metering, values=values, walked=walked, ts=ts)

    async def _walk_all(
        self, family: PduFamily, metering: Metering
    ) -> dict[str, list[tuple[str, Value]]]:
        measured = [family.state.column]
        digits: list[str] = []
        for outlet_col in (metering.outlet_current, metering.outlet_power):
            if outlet_col is not None:
                measured.append(outlet_col.column)
                if outlet_col.digits_column is not None:
                    digits.append(outlet_col.digits_column)
        if metering.external is not None:
            measured.append(metering.external.value_column)
            digits += [metering.external.type_column, metering.external.digits_column]
        measured = list(dict.fromkeys(measured))
        todo = [c for c in dict.fromkeys(digits) if c not in self._digits_cache]
        results = await asyncio.gather(*(self.client.walk(c) for c in measured + todo))
        walked = dict(zip(measured + todo, results, strict=True))
        for col in todo:
            if walked[col]:
                self._digits_cache[col] = walked[col]
        for col, rows in self._digits_cache.items():
            walked.setdefault(col, rows)
        return walked


def scalar_oids(metering: Metering) -> list[str]:
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
    return oids


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
    digits = values.get(scalar.digits, MISSING) if scalar.digits else None
    return _scale(number, scalar.scale, None if digits is MISSING else digits), ""


def decode(
    device: str,
    family: PduFamily,
    *,
    metering: Metering,
    values: Mapping[str, Value],
    walked: Mapping[str, list[tuple[str, Value]]],
    ts: float,
) -> list[Reading]:
    """Readings from one poll's raw answers: ``values`` of the scalars, ``walked`` rows
    per walked column. Unsorted or partial tables and odd values are tolerated."""
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

    states = column(walked.get(family.state.column, []), family.state.column)
    outlets: set[int] = set()
    for index, raw in sorted(states.items(), key=lambda item: index_key(item[0])):
        if not index.isdigit():
            continue  # a row of another index shape: not an outlet of this family
        number = int(index)
        outlets.add(number)
        code = as_int(raw)
        sensor = f"outlet/{number}/state"
        if code in family.state_on:
            out.append(reading(device, sensor, "outlet_state", BOOLEAN, 1.0, ts))
        elif code in family.state_off:
            out.append(reading(device, sensor, "outlet_state", BOOLEAN, 0.0, ts))
        else:
            out.append(
                unknown(
                    device,
                    sensor,
                    "outlet_state",
                    BOOLEAN,
                    ts,
                    f"{family.state.mib} answered {raw!r}, neither on nor off",
                )
            )
    for col, name, kind, unit, high in (
        (metering.outlet_current, "current", "outlet_current_a", AMPERE, MAX_OUTLET_A),
        (metering.outlet_power, "power", "outlet_power_w", WATT, MAX_OUTLET_W),
    ):
        if col is not None:
            out += _outlet_column(
                device,
                col,
                name=name,
                kind=kind,
                unit=unit,
                high=high,
                walked=walked,
                outlets=outlets,
                ts=ts,
            )
    if metering.external is not None:
        out += _external(device, metering, walked, ts)
    return out


def _outlet_column(
    device: str,
    col: OutletColumn,
    *,
    name: str,
    kind: str,
    unit: str,
    high: float,
    walked: Mapping[str, list[tuple[str, Value]]],
    outlets: set[int],
    ts: float,
) -> list[Reading]:
    rows = column(walked.get(col.column, []), col.column)
    digits = (
        column(walked.get(col.digits_column, []), col.digits_column) if col.digits_column else {}
    )
    found: dict[int, Reading] = {}
    for index, raw in rows.items():
        head, _, rest = index.partition(".")
        if not head.isdigit() or ("." + rest if rest else "") != col.suffix:
            continue
        number = int(head)
        sensor = f"outlet/{number}/{name}"
        value = as_int(raw)
        if value is None:
            found[number] = unknown(
                device,
                sensor,
                kind,
                unit,
                ts,
                f"{col.mib}.{index} answered {raw!r}, not an integer",
            )
            continue
        scaled = _scale(value, col.scale, digits.get(index))
        found[number] = reading(device, sensor, kind, unit, scaled, ts, low=0.0, high=high)
    # An outlet whose state we read but whose metering row is missing (a truncated
    # table, a firmware without that column for it) is an explicit unknown.
    for number in outlets - found.keys():
        found[number] = unknown(
            device,
            f"outlet/{number}/{name}",
            kind,
            unit,
            ts,
            f"{col.mib} has no row for outlet {number}",
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
