"""Tripp Lite UPSes (TRIPPLITE-PRODUCTS, enterprise 850): ``tlpUps`` 850.1.1.3.1.

PowerAlert agents manage several devices in one table (tlpDeviceTable, indexed by
tlpDeviceIndex); the UPS is device 1. Every tlpUps table is indexed by the device first,
so the instances end in ``.1``, and per-phase rows in ``.1.N``. The sentinel is the
battery status of device 1: a PowerAlert agent managing an ATS or a PDU (the recorded
PDUMH20ATNET) answers tlpUpsIdentNumUps = 0 and no tlpUps row. Older cards publish
TRIPPLITE-12X (850.100) instead, not read here (their UPS-MIB is the fallback). Tested
against the MIB text only: snmpsim-data's Tripp Lite recording is an ATS, not a UPS.
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
    ent,
)

MIB = "TRIPPLITE-PRODUCTS"
HW = ent("850.1.1")  # TRIPPLITE-PRODUCTS::tlpHardware
UPS = f"{HW}.3.1"  # tlpUps
DEVICE = "1"  # tlpDeviceIndex of the UPS


def _num(suffix: str, name: str, scale: float = 1.0, high: int | None = 2**32 - 1) -> Number:
    return Number(f"{UPS}.{suffix}.{DEVICE}", f"{MIB}::{name}", scale, 0, high)


BATTERY_STATUS = BatteryEnum(
    f"{UPS}.3.1.1.1.1.{DEVICE}",
    f"{MIB}::tlpUpsBatteryStatus",
    unknown=frozenset({1}),
    normal=frozenset({2}),  # batteryNormal
    low=frozenset({3}),  # batteryLow
    depleted=frozenset({4}),  # batteryDepleted
)

TRIPPLITE_UPS = UpsFamily(
    key="tripplite_ups",
    vendor="Tripp Lite",
    mib=MIB,
    sys_object_ids=(UPS, ent("850")),  # tlpUps; PowerAlert cards answer 850.1.1.1 too
    sentinels=(Number(BATTERY_STATUS.oid, BATTERY_STATUS.mib),),
    manufacturer=(Text(f"{HW}.1.2.1.4.{DEVICE}", f"{MIB}::tlpDeviceManufacturer"),),
    model=(Text(f"{HW}.1.2.1.5.{DEVICE}", f"{MIB}::tlpDeviceModel"),),
    serial=(Text(f"{HW}.2.1.1.5.{DEVICE}", f"{MIB}::tlpDeviceIdentSerialNum"),),
    firmware=(Text(f"{HW}.2.1.1.4.{DEVICE}", f"{MIB}::tlpDeviceIdentFirmwareVersion"),),
    battery_status=(BATTERY_STATUS,),
    on_battery=(
        SourceEnum(
            f"{UPS}.3.3.1.1.1.{DEVICE}",
            f"{MIB}::tlpUpsOutputSource",
            battery=frozenset({5}),  # battery
            mains=frozenset({3, 4, 6, 7, 9}),  # normal, bypass, boosting, reducing, economy
            neither=frozenset({0, 1, 2, 8}),  # unknown, other, none, second
        ),
    ),
    charge=(_num("3.1.1.1.4", "tlpUpsEstimatedChargeRemaining", high=100),),  # percent
    runtime=(
        _num("3.1.1.1.5", "tlpUpsBatteryRunTimeRemaining", 0.01),  # TimeTicks
        _num("3.1.1.1.3", "tlpUpsEstimatedMinutesRemaining", 60.0),  # minutes
    ),
    seconds_on_battery=(_num("3.1.1.1.2", "tlpUpsSecondsOnBattery"),),  # seconds
    battery_voltage=(_num("3.1.2.1.1", "tlpUpsBatteryDetailVoltage", 0.1),),  # 0.1 V DC
    input_lines=(
        LineTable(
            f"{UPS}.3.2.2.1",
            f"{MIB}::tlpUpsInputPhaseEntry",
            count=_num("1.2.1.4", "tlpUpsIdentNumPhases", high=3),
            device_index=DEVICE,
            frequency=LineColumn(2, f"{MIB}::tlpUpsInputPhaseFrequency", 0.1),  # 0.1 Hz
            voltage=LineColumn(3, f"{MIB}::tlpUpsInputPhaseVoltage", 0.1),  # 0.1 V
            current=LineColumn(6, f"{MIB}::tlpUpsInputPhaseCurrent", 0.01),  # 0.01 A
        ),
    ),
    output_lines=(
        LineTable(
            f"{UPS}.3.3.2.1",
            f"{MIB}::tlpUpsOutputLineEntry",
            count=_num("1.2.1.4", "tlpUpsIdentNumPhases", high=3),
            device_index=DEVICE,
            voltage=LineColumn(2, f"{MIB}::tlpUpsOutputLineVoltage", 0.1),  # 0.1 V
            current=LineColumn(3, f"{MIB}::tlpUpsOutputLineCurrent", 0.01),  # 0.01 A
            power=LineColumn(4, f"{MIB}::tlpUpsOutputLinePower"),  # W
            load=LineColumn(5, f"{MIB}::tlpUpsOutputLinePercentLoad", high=200),  # percent
            frequency=LineColumn(6, f"{MIB}::tlpUpsOutputLineFrequency", 0.1),  # 0.1 Hz
        ),
    ),
)
