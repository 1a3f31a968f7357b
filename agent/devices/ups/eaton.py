"""Eaton UPSes: XUPS-MIB (Powerware, 534.1) and MGE-UPS-MIB (Merlin Gerin, 705.1).

Eaton's network cards (Network-MS, Network-M2) publish both MIBs, and UPS-MIB on most
firmware. The two recorded Eaton UPSes in snmpsim-data (a 93E 80 kVA and a 9PX 2200i)
answer sysObjectID 705.1 (MG-SNMP-UPS-MIB's ``merlinGerin.1``) and both MIBs: XUPS names
them as Eaton does ("EATON 93E 80", where MGE splits "93E HV" / "80000"), so XUPS comes
first for 705.1 too and MGE fills what XUPS lacks (frequencies, per-phase load, the
serial number); a card with MGE alone is read as MGE.

Scales were read from the MIB texts and cross-checked on the 93E recording, where the
same quantity is published three times: mgoutputVoltage 2200 = xupsOutputVoltage 220 =
upsOutputVoltage 220 (so tenths of V), mgoutputCurrent 270 = xupsOutputCurrent 27 A =
upsOutputCurrent 270 tenths (tenths of A), upsmgBatteryVoltage 5210 =
xupsBatVoltage 521 V (tenths). mginputCurrent 21 = xupsInputCurrent 21 A =
upsInputCurrent 210 tenths: whole amperes, although NUT's ``mge-mib.c`` scales it by
0.1. The MGE input table answers rows ``N.0`` (and NUT's ``eaton-ups-pwnm2-mib.c``
reads XUPS rows at ``N.0`` too): the line is the index's first arc.

XUPS has no battery-status enumeration: low battery is a row of its alarm table whose
xupsAlarmDescr is the OID xupsLowBattery (NUT's ``eaton-ups-pwnm2-mib.c`` reads the same
alarms); with xupsAlarms readable and no such row, the battery is normal.
"""

from __future__ import annotations

from agent.devices.ups.base import (
    AlarmTable,
    BatteryEnum,
    LineColumn,
    LineTable,
    Number,
    SourceEnum,
    Text,
    UpsFamily,
    ent,
)

XUPS_MIB = "XUPS-MIB"
XUPS = ent("534.1")  # XUPS-MIB::xupsMIB
MGE_MIB = "MG-SNMP-UPS-MIB"
MGE = ent("705.1")  # MG-SNMP-UPS-MIB::upsmg
INT32_MAX = 2**31 - 1
YES, NO = 1, 2  # MG-SNMP-UPS-MIB's yes(1) / no(2) flags


def _xups(suffix: str, name: str, scale: float = 1.0, high: int | None = INT32_MAX) -> Number:
    return Number(f"{XUPS}.{suffix}", f"{XUPS_MIB}::{name}", scale, 0, high)


def _mge(suffix: str, name: str, scale: float = 1.0, high: int | None = INT32_MAX) -> Number:
    return Number(f"{MGE}.{suffix}", f"{MGE_MIB}::{name}", scale, 0, high)


XUPS_MODEL = Text(f"{XUPS}.1.2.0", f"{XUPS_MIB}::xupsIdentModel")

EATON_XUPS = UpsFamily(
    key="eaton_xups",
    vendor="Eaton",
    mib=XUPS_MIB,
    # NUT's POWERWARE_SYSOID, and MGE's for the Eaton cards that publish both MIBs
    sys_object_ids=(XUPS, MGE),
    sentinels=(XUPS_MODEL,),
    manufacturer=(Text(f"{XUPS}.1.1.0", f"{XUPS_MIB}::xupsIdentManufacturer"),),
    model=(XUPS_MODEL,),
    firmware=(Text(f"{XUPS}.1.3.0", f"{XUPS_MIB}::xupsIdentSoftwareVersion"),),
    battery_alarms=AlarmTable(
        count=_xups("7.1.0", "xupsAlarms", high=2**32 - 1),  # Gauge32
        descr_column=f"{XUPS}.7.2.1.2",
        mib=f"{XUPS_MIB}::xupsAlarmDescr",
        low=frozenset({f"{XUPS}.7.4"}),  # xupsLowBattery
        depleted=frozenset({f"{XUPS}.7.9"}),  # xupsBatteryDischarged
    ),
    on_battery=(
        SourceEnum(
            f"{XUPS}.4.5.0",
            f"{XUPS_MIB}::xupsOutputSource",
            battery=frozenset({5}),  # battery
            # normal, bypass, booster, reducer, parallelCapacity, parallelRedundant,
            # highEfficiencyMode, maintenanceBypass
            mains=frozenset({3, 4, 6, 7, 8, 9, 10, 11}),
            neither=frozenset({1, 2}),  # other, none
        ),
    ),
    charge=(_xups("2.4.0", "xupsBatCapacity", high=100),),  # percent
    runtime=(_xups("2.1.0", "xupsBatTimeRemaining"),),  # seconds
    battery_voltage=(_xups("2.2.0", "xupsBatVoltage"),),  # Volts DC
    input_line_bads=(_xups("3.2.0", "xupsInputLineBads", high=2**32 - 1),),
    input_frequency=(_xups("3.1.0", "xupsInputFrequency", 0.1),),  # 0.1 Hz
    output_power=(_xups("4.9.3.0", "xupsOutputTotalWatts"),),  # W
    output_load=(_xups("4.1.0", "xupsOutputLoad", high=200),),  # percent
    input_lines=(
        LineTable(
            f"{XUPS}.3.4.1",
            f"{XUPS_MIB}::xupsInputEntry",
            count=_xups("3.3.0", "xupsInputNumPhases", high=6),
            voltage=LineColumn(2, f"{XUPS_MIB}::xupsInputVoltage"),  # RMS V
            current=LineColumn(3, f"{XUPS_MIB}::xupsInputCurrent"),  # RMS A
            power=LineColumn(4, f"{XUPS_MIB}::xupsInputWatts"),  # W
        ),
    ),
    output_lines=(
        LineTable(
            f"{XUPS}.4.4.1",
            f"{XUPS_MIB}::xupsOutputEntry",
            count=_xups("4.3.0", "xupsOutputNumPhases", high=6),
            voltage=LineColumn(2, f"{XUPS_MIB}::xupsOutputVoltage"),  # RMS V
            current=LineColumn(3, f"{XUPS_MIB}::xupsOutputCurrent"),  # RMS A
            power=LineColumn(4, f"{XUPS_MIB}::xupsOutputWatts"),  # W
            load=LineColumn(8, f"{XUPS_MIB}::xupsOutputPercentLoad", high=200),  # percent
        ),
    ),
    also=("eaton_mge",),
)

MGE_FAMILY_NAME = Text(f"{MGE}.1.1.0", f"{MGE_MIB}::upsmgIdentFamilyName")


def _flag(suffix: str, name: str) -> BatteryEnum:
    return BatteryEnum(
        f"{MGE}.{suffix}", f"{MGE_MIB}::{name}", low=frozenset({YES}), normal=frozenset({NO})
    )


EATON_MGE = UpsFamily(
    key="eaton_mge",
    vendor="Eaton",
    mib=MGE_MIB,
    sys_object_ids=(MGE,),  # NUT's MGE_SYSOID; Eaton 93E and 9PX cards answer it
    sentinels=(MGE_FAMILY_NAME,),
    model=(MGE_FAMILY_NAME, Text(f"{MGE}.1.2.0", f"{MGE_MIB}::upsmgIdentModelName")),
    serial=(Text(f"{MGE}.1.7.0", f"{MGE_MIB}::upsmgIdentSerialNumber"),),
    firmware=(Text(f"{MGE}.1.4.0", f"{MGE_MIB}::upsmgIdentFirmwareVersion"),),
    battery_status=(
        _flag("5.14.0", "upsmgBatteryLowBattery"),
        _flag("5.16.0", "upsmgBatteryLowCondition"),
    ),
    on_battery=(
        SourceEnum(
            f"{MGE}.7.3.0",
            f"{MGE_MIB}::upsmgOutputOnBattery",
            battery=frozenset({YES}),
            mains=frozenset({NO}),
        ),
    ),
    charge=(_mge("5.2.0", "upsmgBatteryLevel", high=100),),  # percent
    runtime=(_mge("5.1.0", "upsmgBatteryRemainingTime"),),  # seconds
    battery_voltage=(_mge("5.5.0", "upsmgBatteryVoltage", 0.1),),  # tenths of V
    input_lines=(
        LineTable(
            f"{MGE}.6.2.1",
            f"{MGE_MIB}::upsmgInputPhaseEntry",
            count=_mge("6.1.0", "upsmgInputPhaseNum", high=50),
            voltage=LineColumn(2, f"{MGE_MIB}::mginputVoltage", 0.1),  # tenths of V
            frequency=LineColumn(3, f"{MGE_MIB}::mginputFrequency", 0.1),  # tenths of Hz
            current=LineColumn(6, f"{MGE_MIB}::mginputCurrent"),  # A (see above)
        ),
    ),
    output_lines=(
        LineTable(
            f"{MGE}.7.2.1",
            f"{MGE_MIB}::upsmgOutputPhaseEntry",
            count=_mge("7.1.0", "upsmgOutputPhaseNum", high=50),
            voltage=LineColumn(2, f"{MGE_MIB}::mgoutputVoltage", 0.1),  # tenths of V
            frequency=LineColumn(3, f"{MGE_MIB}::mgoutputFrequency", 0.1),  # tenths of Hz
            load=LineColumn(4, f"{MGE_MIB}::mgoutputLoadPerPhase", high=200),  # percent
            current=LineColumn(5, f"{MGE_MIB}::mgoutputCurrent", 0.1),  # tenths of A
        ),
    ),
    also=("eaton_xups",),
)
