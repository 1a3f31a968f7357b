"""The UPS driver for RFC 1628 UPS-MIB (1.3.6.1.2.1.33), as data.

Nearly every networked UPS (APC, Eaton, Riello, Socomec, CyberPower...) publishes the
standard UPS-MIB next to its vendor MIB; NUT's ``ietf-mib.c`` reads the same objects.
The driver *reports*: whether the UPS is on mains, its charge and runtime. Whether that
means shutting the rack down is for the health policy and the UPS policy, never here.

Every object is read in one GET. A value the UPS does not publish, or publishes with the
wrong type or outside its MIB range, becomes ``None`` with a note in ``problems``; it
never raises, because a UPS with one odd object still tells us whether we are on mains.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from agent.adapters.snmp import MISSING, SnmpClient, Value, as_text

UPS_MIB = "1.3.6.1.2.1.33.1"  # UPS-MIB::upsObjects
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"


@dataclass(frozen=True, slots=True)
class UpsObject:
    """One UPS-MIB object instance, its MIB name and its valid range (for sanity)."""

    oid: str
    mib: str
    low: int | None = None
    high: int | None = None


def _obj(suffix: str, name: str, low: int | None = None, high: int | None = None) -> UpsObject:
    return UpsObject(f"{UPS_MIB}.{suffix}", f"UPS-MIB::{name}", low, high)


# upsIdent group (.1.1)
MANUFACTURER = _obj("1.1.0", "upsIdentManufacturer")
MODEL = _obj("1.2.0", "upsIdentModel")
UPS_SOFTWARE = _obj("1.3.0", "upsIdentUPSSoftwareVersion")
AGENT_SOFTWARE = _obj("1.4.0", "upsIdentAgentSoftwareVersion")
NAME = _obj("1.5.0", "upsIdentName")
# upsBattery group (.1.2)
BATTERY_STATUS = _obj("2.1.0", "upsBatteryStatus", 1, 4)
SECONDS_ON_BATTERY = _obj("2.2.0", "upsSecondsOnBattery", 0, 2**31 - 1)
MINUTES_REMAINING = _obj("2.3.0", "upsEstimatedMinutesRemaining", 0, 2**31 - 1)
CHARGE_REMAINING = _obj("2.4.0", "upsEstimatedChargeRemaining", 0, 100)
BATTERY_VOLTAGE = _obj("2.5.0", "upsBatteryVoltage", 0, 2**31 - 1)  # 0.1 V DC
BATTERY_TEMPERATURE = _obj("2.7.0", "upsBatteryTemperature", -100, 200)  # degrees C
# upsInput group (.1.3): line 1 of upsInputTable
INPUT_LINE_BADS = _obj("3.1.0", "upsInputLineBads", 0, 2**32 - 1)
INPUT_FREQUENCY = _obj("3.3.1.2.1", "upsInputFrequency", 0, 2**31 - 1)  # 0.1 Hz
INPUT_VOLTAGE = _obj("3.3.1.3.1", "upsInputVoltage", 0, 2**31 - 1)  # RMS V
# upsOutput group (.1.4): line 1 of upsOutputTable
OUTPUT_SOURCE = _obj("4.1.0", "upsOutputSource", 1, 7)
OUTPUT_POWER = _obj("4.4.1.4.1", "upsOutputPower", 0, 2**31 - 1)  # W
OUTPUT_PERCENT_LOAD = _obj("4.4.1.5.1", "upsOutputPercentLoad", 0, 200)

IDENT_OBJECTS = (MANUFACTURER, MODEL, UPS_SOFTWARE, AGENT_SOFTWARE, NAME)
STATUS_OBJECTS = (
    BATTERY_STATUS,
    SECONDS_ON_BATTERY,
    MINUTES_REMAINING,
    CHARGE_REMAINING,
    BATTERY_VOLTAGE,
    BATTERY_TEMPERATURE,
    INPUT_LINE_BADS,
    INPUT_FREQUENCY,
    INPUT_VOLTAGE,
    OUTPUT_SOURCE,
    OUTPUT_POWER,
    OUTPUT_PERCENT_LOAD,
)


class BatteryStatus(enum.IntEnum):
    """upsBatteryStatus."""

    UNKNOWN = 1
    NORMAL = 2
    LOW = 3
    DEPLETED = 4


class OutputSource(enum.IntEnum):
    """upsOutputSource."""

    OTHER = 1
    NONE = 2
    NORMAL = 3
    BYPASS = 4
    BATTERY = 5
    BOOSTER = 6
    REDUCER = 7


# Sources that mean the mains feeds the load (possibly corrected by the UPS).
MAINS_SOURCES = frozenset(
    {OutputSource.NORMAL, OutputSource.BYPASS, OutputSource.BOOSTER, OutputSource.REDUCER}
)


@dataclass(frozen=True, slots=True)
class UpsIdentity:
    manufacturer: str | None
    model: str | None
    ups_firmware: str | None
    agent_firmware: str | None
    name: str | None
    sys_object_id: str | None
    sys_descr: str | None


@dataclass(frozen=True, slots=True)
class UpsStatus:
    """What the UPS says now; None where it does not say (see ``problems``)."""

    battery_status: BatteryStatus | None
    output_source: OutputSource | None
    seconds_on_battery: int | None
    minutes_remaining: int | None
    charge_pct: int | None
    battery_voltage_v: float | None
    battery_temperature_c: float | None
    input_line_bads: int | None
    input_voltage_v: float | None
    input_frequency_hz: float | None
    output_power_w: float | None
    output_load_pct: float | None
    problems: tuple[str, ...] = ()

    @property
    def on_battery(self) -> bool | None:
        """True on battery, False on mains, None when the UPS does not say."""
        if self.output_source is not None:
            if self.output_source == OutputSource.BATTERY:
                return True
            if self.output_source in MAINS_SOURCES:
                return False
        if self.seconds_on_battery is not None:
            return self.seconds_on_battery > 0
        return None

    @property
    def runtime_s(self) -> float | None:
        return None if self.minutes_remaining is None else self.minutes_remaining * 60.0


def _number(obj: UpsObject, value: Value, problems: list[str]) -> int | None:
    if value is MISSING:
        return None
    if isinstance(value, bytes):
        # Some cards publish numbers as DisplayStrings ("12"); take them when integral.
        text = value.decode("ascii", errors="replace").strip("\x00 \r\n")
        if text.lstrip("-").isdigit():
            value = int(text)
    if not isinstance(value, int):
        problems.append(f"{obj.mib} ({obj.oid}) answered {value!r}, not an integer")
        return None
    if (obj.low is not None and value < obj.low) or (obj.high is not None and value > obj.high):
        problems.append(
            f"{obj.mib} ({obj.oid}) = {value} is outside its MIB range {obj.low}..{obj.high}"
        )
        return None
    return value


def _scaled(value: int | None, scale: float) -> float | None:
    return None if value is None else value * scale


def decode_status(values: dict[str, Value]) -> UpsStatus:
    """UpsStatus from the values of :data:`STATUS_OBJECTS` (OID -> value)."""
    problems: list[str] = []

    def num(obj: UpsObject) -> int | None:
        return _number(obj, values.get(obj.oid, MISSING), problems)

    battery = num(BATTERY_STATUS)
    source = num(OUTPUT_SOURCE)
    return UpsStatus(
        battery_status=None if battery is None else BatteryStatus(battery),
        output_source=None if source is None else OutputSource(source),
        seconds_on_battery=num(SECONDS_ON_BATTERY),
        minutes_remaining=num(MINUTES_REMAINING),
        charge_pct=num(CHARGE_REMAINING),
        battery_voltage_v=_scaled(num(BATTERY_VOLTAGE), 0.1),
        battery_temperature_c=_scaled(num(BATTERY_TEMPERATURE), 1.0),
        input_line_bads=num(INPUT_LINE_BADS),
        input_voltage_v=_scaled(num(INPUT_VOLTAGE), 1.0),
        input_frequency_hz=_scaled(num(INPUT_FREQUENCY), 0.1),
        output_power_w=_scaled(num(OUTPUT_POWER), 1.0),
        output_load_pct=_scaled(num(OUTPUT_PERCENT_LOAD), 1.0),
        problems=tuple(problems),
    )


def decode_identity(values: dict[str, Value]) -> UpsIdentity:
    def text(oid: str) -> str | None:
        return as_text(values.get(oid, MISSING)) or None

    raw_oid = values.get(SYS_OBJECT_ID, MISSING)
    return UpsIdentity(
        manufacturer=text(MANUFACTURER.oid),
        model=text(MODEL.oid),
        ups_firmware=text(UPS_SOFTWARE.oid),
        agent_firmware=text(AGENT_SOFTWARE.oid),
        name=text(NAME.oid),
        sys_object_id=raw_oid if isinstance(raw_oid, str) else None,
        sys_descr=text(SYS_DESCR),
    )


class UpsDriver:
    """Reads one RFC 1628 UPS through an open :class:`SnmpClient`."""

    mib = "UPS-MIB (RFC 1628)"

    async def identify(self, client: SnmpClient) -> UpsIdentity:
        oids = [SYS_OBJECT_ID, SYS_DESCR, *(o.oid for o in IDENT_OBJECTS)]
        return decode_identity(await client.get(oids))

    async def read_status(self, client: SnmpClient) -> UpsStatus:
        return decode_status(await client.get([o.oid for o in STATUS_OBJECTS]))

    async def is_ups(self, client: SnmpClient) -> bool:
        """Whether the agent publishes UPS-MIB at all (for probing unknown devices)."""
        values = await client.get([MODEL.oid, BATTERY_STATUS.oid])
        return any(v is not MISSING for v in values.values())
