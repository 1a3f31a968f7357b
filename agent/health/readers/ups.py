"""Health of a UPS of any family: battery, runtime, source, and each input / output line.

Readings (values in SI units): "battery/charge" (%), "battery/runtime" (s),
"battery/voltage" (V), "battery/temperature" (degC), "battery/seconds_on_battery" (s),
"source/on_battery" (0/1), "battery/low" (0/1), "input/voltage", "input/frequency",
"input/line_bads", "output/power", "output/load" (the unit's, or line 1 / the sum of
the lines / the most loaded line), and per line N "input/N/voltage", "input/N/current",
"input/N/frequency", "input/N/power", "output/N/voltage", "output/N/current",
"output/N/frequency", "output/N/power" (W), "output/N/load" (%).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.adapters.snmp import SnmpClient, Value
from agent.devices.ups import (
    RFC1628,
    BatteryStatus,
    UpsDriver,
    UpsFamily,
    UpsIdentity,
    UpsStatus,
    chain_of,
    decode_status,
    walked_columns,
)
from agent.health.sensors import (
    AMPERE,
    BOOLEAN,
    CELSIUS,
    COUNT,
    PERCENT,
    SECOND,
    VOLT,
    WATT,
    Identity,
    Reading,
    reading,
)

FAMILY = RFC1628.key
HERTZ = "Hz"

# quantity -> (unit, kind, low, high): plausible ranges, beyond which a value is a
# broken agent (a Huawei UPS5000 publishes upsInputVoltage in tenths: 2369 "V").
_LINE = {
    "voltage": (VOLT, "ups_{side}_voltage", 0.0, 500.0),
    "current": (AMPERE, "ups_{side}_current", 0.0, 5000.0),
    "frequency": (HERTZ, "ups_{side}_frequency", 0.0, 100.0),
    "power": (WATT, "power_w", 0.0, 2_000_000.0),
    "load": (PERCENT, "ups_load", 0.0, 200.0),
}


@dataclass(frozen=True, slots=True)
class UpsSummary:
    """The probe's ``ups`` section."""

    battery_status: str  # "unknown" | "normal" | "low" | "depleted"
    on_battery: bool | None

    def to_dict(self) -> dict[str, object]:
        return {"battery_status": self.battery_status, "on_battery": self.on_battery}


def summary(status: UpsStatus) -> UpsSummary:
    battery = status.battery_status or BatteryStatus.UNKNOWN
    return UpsSummary(battery.name.lower(), status.on_battery)


def status_readings(device: str, status: UpsStatus, ts: float) -> list[Reading]:
    """The normalised readings of one UpsStatus (pure: recordings are fed here too)."""
    detail = "; ".join(status.problems)
    on_battery = status.on_battery
    battery = status.battery_status
    low = (
        None
        if battery is None or battery == BatteryStatus.UNKNOWN
        else float(battery in (BatteryStatus.LOW, BatteryStatus.DEPLETED))
    )

    def why(what: str) -> str:
        return f"{what}; {detail}" if detail else what

    out = [
        reading(
            device,
            "source/on_battery",
            "ups_on_battery",
            BOOLEAN,
            None if on_battery is None else float(on_battery),
            ts,
            detail=why("the UPS does not say what feeds the load"),
        ),
        reading(
            device,
            "battery/low",
            "ups_battery_low",
            BOOLEAN,
            low,
            ts,
            detail=why("the battery status is unknown"),
        ),
    ]
    scalars: tuple[tuple[str, str, str, float | None, float, float | None], ...] = (
        ("battery/charge", "ups_charge", PERCENT, status.charge_pct, 0, 100),
        ("battery/runtime", "ups_runtime", SECOND, status.runtime_s, 0, None),
        (
            "battery/seconds_on_battery",
            "ups_seconds_on_battery",
            SECOND,
            status.seconds_on_battery,
            0,
            None,
        ),
        ("battery/voltage", "ups_battery_voltage", VOLT, status.battery_voltage_v, 0, 1000),
        ("battery/temperature", "temperature", CELSIUS, status.battery_temperature_c, -40, 120),
        ("input/voltage", "ups_input_voltage", VOLT, status.input_voltage_v, 0, 500),
        ("input/frequency", "ups_input_frequency", HERTZ, status.input_frequency_hz, 0, 100),
        ("input/line_bads", "ups_input_line_bads", COUNT, status.input_line_bads, 0, None),
        ("output/power", "power_w", WATT, status.output_power_w, 0, 2_000_000),
        ("output/load", "ups_load", PERCENT, status.output_load_pct, 0, 200),
    )
    for sensor, kind, unit, value, lo, hi in scalars:
        out.append(
            reading(device, sensor, kind, unit, value, ts, low=lo, high=hi, detail=why("no value"))
        )
    for side, lines, quantities in (
        ("input", status.inputs, status.input_quantities),
        ("output", status.outputs, status.output_quantities),
    ):
        for line in lines:
            for quantity in quantities or tuple(_LINE):
                unit, kind, lo, hi = _LINE[quantity]
                value = line.get(quantity)
                if value is None and not quantities:
                    continue  # a line built from the unit's scalars: only what it has
                out.append(
                    reading(
                        device,
                        f"{side}/{line.line}/{quantity}",
                        kind.format(side=side),
                        unit,
                        value,
                        ts,
                        low=lo,
                        high=hi,
                        detail=why(f"line {line.line} gives no {quantity}"),
                    )
                )
    return out


def decode(
    device: str,
    values: Mapping[str, Value],
    ts: float,
    family: UpsFamily = RFC1628,
) -> list[Reading]:
    """Readings from one flat OID -> value map (a recording): the line tables are
    taken from the same map, in any order."""
    chain = chain_of(family)
    rows = list(values.items())
    walked = dict.fromkeys(walked_columns(chain), rows)
    return status_readings(device, decode_status(chain, values, walked), ts)


def identity(device: str, ident: UpsIdentity) -> Identity:
    return Identity(
        device=device,
        family=ident.family,
        vendor=ident.manufacturer or "",
        model=ident.model or "",
        serial=ident.serial or "",
        firmware=ident.firmware or "",
        sys_object_id=ident.sys_object_id or "",
        sys_descr=ident.sys_descr or "",
    )


async def read_ups(
    client: SnmpClient, family: UpsFamily | None, ts: float
) -> tuple[Identity, list[Reading], UpsSummary]:
    """Identity, readings and the probe's ups section of the UPS behind ``client``
    (``family`` None: detected by its sentinels, RFC 1628 when none answers)."""
    driver = UpsDriver(family)
    device = client.target.device
    ident = identity(device, await driver.identify(client))
    status = await driver.read_status(client)
    return ident, status_readings(device, status, ts), summary(status)


class UpsReader:
    """The health watch's reader of one UPS (family detected on first use by default)."""

    def __init__(
        self,
        device: str,
        client: SnmpClient,
        driver: UpsDriver | None = None,
        family: UpsFamily | None = None,
    ) -> None:
        self.device = device
        self.client = client
        self.driver = driver or UpsDriver(family)
        self.last: UpsStatus | None = None

    async def read(self, ts: float) -> list[Reading]:
        self.last = await self.driver.read_status(self.client)
        return status_readings(self.device, self.last, ts)

    async def summary(self) -> UpsSummary:
        return summary(self.last or await self.driver.read_status(self.client))

    async def identify(self) -> Identity:
        return identity(self.device, await self.driver.identify(self.client))
