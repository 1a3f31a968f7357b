"""Health of a UPS (RFC 1628 UPS-MIB): status, charge, runtime, source, load."""

from __future__ import annotations

from agent.adapters.snmp import SnmpClient, Value
from agent.devices.ups import BatteryStatus, UpsDriver, UpsStatus, decode_status
from agent.health.sensors import (
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

FAMILY = "rfc1628"


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
    return [
        reading(
            device,
            "source/on_battery",
            "ups_on_battery",
            BOOLEAN,
            None if on_battery is None else float(on_battery),
            ts,
            detail="" if on_battery is not None else "upsOutputSource is not usable " + detail,
        ),
        reading(
            device,
            "battery/low",
            "ups_battery_low",
            BOOLEAN,
            low,
            ts,
            detail="" if low is not None else "upsBatteryStatus is unknown",
        ),
        reading(
            device,
            "battery/charge",
            "ups_charge",
            PERCENT,
            _f(status.charge_pct),
            ts,
            low=0,
            high=100,
            detail=detail,
        ),
        reading(
            device,
            "battery/runtime",
            "ups_runtime",
            SECOND,
            status.runtime_s,
            ts,
            low=0,
            detail=detail,
        ),
        reading(
            device,
            "battery/seconds_on_battery",
            "ups_seconds_on_battery",
            SECOND,
            _f(status.seconds_on_battery),
            ts,
            low=0,
            detail=detail,
        ),
        reading(
            device,
            "battery/voltage",
            "ups_battery_voltage",
            VOLT,
            status.battery_voltage_v,
            ts,
            low=0,
            high=1000,
            detail=detail,
        ),
        reading(
            device,
            "battery/temperature",
            "temperature",
            CELSIUS,
            status.battery_temperature_c,
            ts,
            low=-40,
            high=120,
            detail=detail,
        ),
        reading(
            device,
            "input/voltage",
            "ups_input_voltage",
            VOLT,
            status.input_voltage_v,
            ts,
            low=0,
            high=500,
            detail=detail,
        ),
        reading(
            device,
            "input/line_bads",
            "ups_input_line_bads",
            COUNT,
            _f(status.input_line_bads),
            ts,
            low=0,
            detail=detail,
        ),
        reading(
            device,
            "output/power",
            "power_w",
            WATT,
            status.output_power_w,
            ts,
            low=0,
            high=500_000,
            detail=detail,
        ),
        reading(
            device,
            "output/load",
            "ups_load",
            PERCENT,
            status.output_load_pct,
            ts,
            low=0,
            high=200,
            detail=detail,
        ),
    ]


def _f(value: int | None) -> float | None:
    return None if value is None else float(value)


def decode(device: str, values: dict[str, Value], ts: float) -> list[Reading]:
    return status_readings(device, decode_status(values), ts)


class UpsReader:
    def __init__(self, device: str, client: SnmpClient, driver: UpsDriver | None = None) -> None:
        self.device = device
        self.client = client
        self.driver = driver or UpsDriver()

    async def read(self, ts: float) -> list[Reading]:
        return status_readings(self.device, await self.driver.read_status(self.client), ts)

    async def identify(self) -> Identity:
        ident = await self.driver.identify(self.client)
        return Identity(
            device=self.device,
            family=FAMILY,
            vendor=ident.manufacturer or "",
            model=ident.model or "",
            # The UPS's own firmware is what a baseline pins; the network card's is
            # kept in sys_descr for the report.
            firmware=ident.ups_firmware or ident.agent_firmware or "",
            sys_object_id=ident.sys_object_id or "",
            sys_descr=ident.sys_descr or "",
        )
