"""RFC 1628 UPS-MIB (1.3.6.1.2.1.33): the standard every UPS family falls back to.

Nearly every networked UPS card (APC, Eaton, Riello, Socomec, Santak, Huawei...)
publishes it next to its vendor MIB; NUT's ``ietf-mib.c`` reads the same objects.
Lines come from upsInputTable / upsOutputTable, rows 1..upsInputNumLines /
upsOutputNumLines (real cards pad the tables with zero rows past the count).
"""

from __future__ import annotations

from agent.devices.ups.base import (
    BatteryEnum,
    LineColumn,
    LineTable,
    Number,
    SourceEnum,
    Text,
    UpsFamily,
)

MIB = "UPS-MIB"
UPS = "1.3.6.1.2.1.33.1"  # UPS-MIB::upsObjects
INT32_MAX = 2**31 - 1


def _text(suffix: str, name: str) -> Text:
    return Text(f"{UPS}.{suffix}", f"{MIB}::{name}")


def _num(
    suffix: str, name: str, scale: float = 1.0, low: int | None = 0, high: int | None = INT32_MAX
) -> Number:
    return Number(f"{UPS}.{suffix}", f"{MIB}::{name}", scale, low, high)


# upsIdent (.1.1)
MANUFACTURER = _text("1.1.0", "upsIdentManufacturer")
MODEL = _text("1.2.0", "upsIdentModel")
UPS_SOFTWARE = _text("1.3.0", "upsIdentUPSSoftwareVersion")
AGENT_SOFTWARE = _text("1.4.0", "upsIdentAgentSoftwareVersion")
NAME = _text("1.5.0", "upsIdentName")
# upsBattery (.1.2)
BATTERY_STATUS = BatteryEnum(
    f"{UPS}.2.1.0",
    f"{MIB}::upsBatteryStatus",
    unknown=frozenset({1}),
    normal=frozenset({2}),  # batteryNormal
    low=frozenset({3}),  # batteryLow
    depleted=frozenset({4}),  # batteryDepleted
)
SECONDS_ON_BATTERY = _num("2.2.0", "upsSecondsOnBattery")
MINUTES_REMAINING = _num("2.3.0", "upsEstimatedMinutesRemaining", 60.0)  # minutes
CHARGE_REMAINING = _num("2.4.0", "upsEstimatedChargeRemaining", high=100)
BATTERY_VOLTAGE = _num("2.5.0", "upsBatteryVoltage", 0.1)  # 0.1 V DC
# Integer32 degrees C. Negative values are what cards without a probe answer (-1 on the
# Huawei UPS5000), and a UPS battery below 0 degC is outside its operating range anyway.
BATTERY_TEMPERATURE = _num("2.7.0", "upsBatteryTemperature", low=0, high=200)
# upsInput (.1.3)
INPUT_LINE_BADS = _num("3.1.0", "upsInputLineBads", high=2**32 - 1)
INPUT_NUM_LINES = _num("3.2.0", "upsInputNumLines", high=64)
INPUT_TABLE = LineTable(
    f"{UPS}.3.3.1",
    f"{MIB}::upsInputEntry",
    count=INPUT_NUM_LINES,
    frequency=LineColumn(2, f"{MIB}::upsInputFrequency", 0.1),  # 0.1 Hz
    voltage=LineColumn(3, f"{MIB}::upsInputVoltage"),  # RMS V
    current=LineColumn(4, f"{MIB}::upsInputCurrent", 0.1),  # 0.1 RMS A
    power=LineColumn(5, f"{MIB}::upsInputTruePower"),  # W
)
# upsOutput (.1.4)
OUTPUT_SOURCE = SourceEnum(
    f"{UPS}.4.1.0",
    f"{MIB}::upsOutputSource",
    battery=frozenset({5}),  # battery
    mains=frozenset({3, 4, 6, 7}),  # normal, bypass, booster, reducer
    neither=frozenset({1, 2}),  # other, none (output off)
)
OUTPUT_NUM_LINES = _num("4.3.0", "upsOutputNumLines", high=64)
OUTPUT_TABLE = LineTable(
    f"{UPS}.4.4.1",
    f"{MIB}::upsOutputEntry",
    count=OUTPUT_NUM_LINES,
    voltage=LineColumn(2, f"{MIB}::upsOutputVoltage"),  # RMS V
    current=LineColumn(3, f"{MIB}::upsOutputCurrent", 0.1),  # 0.1 RMS A
    power=LineColumn(4, f"{MIB}::upsOutputPower"),  # W
    load=LineColumn(5, f"{MIB}::upsOutputPercentLoad", high=200),  # %
)

RFC1628 = UpsFamily(
    key="rfc1628",
    vendor="",  # upsIdentManufacturer says
    mib=MIB,
    sys_object_ids=("1.3.6.1.2.1.33",),  # NUT's ietf entry point; cards use their own
    # Every UPS-MIB agent publishes the battery status and the output source (the
    # mandatory upsBasicBatteryGroup and upsBasicOutputGroup). upsIdentModel is not a
    # sentinel: a Tripp Lite ATS (PDUMH20ATNET recording) answers only
    # upsIdentAgentSoftwareVersion and upsAlarmsPresent of this MIB.
    sentinels=(
        Number(BATTERY_STATUS.oid, BATTERY_STATUS.mib),
        Number(OUTPUT_SOURCE.oid, OUTPUT_SOURCE.mib),
    ),
    manufacturer=(MANUFACTURER,),
    model=(MODEL,),
    firmware=(UPS_SOFTWARE, AGENT_SOFTWARE),
    battery_status=(BATTERY_STATUS,),
    on_battery=(OUTPUT_SOURCE,),
    charge=(CHARGE_REMAINING,),
    runtime=(MINUTES_REMAINING,),
    seconds_on_battery=(SECONDS_ON_BATTERY,),
    battery_voltage=(BATTERY_VOLTAGE,),
    battery_temperature=(BATTERY_TEMPERATURE,),
    input_line_bads=(INPUT_LINE_BADS,),
    input_lines=(INPUT_TABLE,),
    output_lines=(OUTPUT_TABLE,),
)
