"""APC UPSes (PowerNet-MIB, enterprise 318): the ``ups`` subtree 318.1.1.1.

upsBasic*/upsAdv* objects carry whole units, upsHighPrec* (newer cards) tenths; the
high-precision object is tried first, as NUT's ``apc-mib.c`` does. Three-phase models
(Symmetra PX, Galaxy) add upsPhase tables indexed {table, phase}: the line is the last
index arc of the rows of the first input / output (NUT reads them with three arcs,
``.1.1.N``; the last arc is the phase in both readings). ``-1`` means "not supported"
in the upsPhase columns and reads as unknown. Tested against PowerNet-MIB only: no
recording of an APC UPS in snmpsim-data.
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

MIB = "PowerNet-MIB"
UPS = ent("318.1.1.1")  # PowerNet-MIB::ups


def _num(suffix: str, name: str, scale: float = 1.0, high: int | None = None) -> Number:
    return Number(f"{UPS}.{suffix}", f"{MIB}::{name}", scale, 0, high)


MODEL = Text(f"{UPS}.1.1.1.0", f"{MIB}::upsBasicIdentModel")

APC_UPS = UpsFamily(
    key="apc_ups",
    vendor="APC",
    mib=MIB,
    # backUPS 318.1.3.1, smartUPS .2, matrixUPS .3, symmetraUPS .5, smartUPS3Phase .17,
    # smartUPS2 .27, galaxy .28, smartUPSUltra .39 (PowerNet-MIB product OIDs).
    sys_object_ids=tuple(ent(f"318.1.3.{n}") for n in (1, 2, 3, 5, 17, 27, 28, 39)),
    sentinels=(MODEL,),
    model=(MODEL,),
    serial=(Text(f"{UPS}.1.2.3.0", f"{MIB}::upsAdvIdentSerialNumber"),),
    firmware=(Text(f"{UPS}.1.2.1.0", f"{MIB}::upsAdvIdentFirmwareRevision"),),
    battery_status=(
        BatteryEnum(
            f"{UPS}.2.1.1.0",
            f"{MIB}::upsBasicBatteryStatus",
            unknown=frozenset({1, 4, 5}),  # unknown, batteryInFaultCondition, noBatteryPresent
            normal=frozenset({2}),  # batteryNormal
            low=frozenset({3}),  # batteryLow
        ),
    ),
    on_battery=(
        SourceEnum(
            f"{UPS}.4.1.1.0",
            f"{MIB}::upsBasicOutputStatus",
            # the enumerations onBattery, onBatteryTest, batteryDischargeSpotmode
            battery=frozenset({3, 15, 24}),
            # onLine, onSmartBoost, softwareBypass, switchedBypass, hardwareFailureBypass,
            # onSmartTrim, ecoMode, hotStandby, emergencyStaticBypass,
            # staticBypassStandby, powerSavingMode, eConversion, activeLoad
            mains=frozenset({2, 4, 6, 9, 10, 12, 13, 14, 16, 17, 18, 20, 23}),
            # unknown, timedSleeping, off, rebooting, sleepingUntilPowerReturn, spotMode,
            # chargerSpotmode, inverterSpotmode, inverterStandby, chargerOnly,
            # distributedEnergyReserve, selfTest
            neither=frozenset({1, 5, 7, 8, 11, 19, 21, 22, 25, 26, 27, 28}),
        ),
    ),
    charge=(
        _num("2.3.1.0", "upsHighPrecBatteryCapacity", 0.1, 1000),  # tenths of %
        _num("2.2.1.0", "upsAdvBatteryCapacity", high=100),  # %
    ),
    runtime=(_num("2.2.3.0", "upsAdvBatteryRunTimeRemaining", 0.01),),  # TimeTicks
    seconds_on_battery=(_num("2.1.2.0", "upsBasicBatteryTimeOnBattery", 0.01),),  # TimeTicks
    battery_voltage=(
        _num("2.3.4.0", "upsHighPrecBatteryActualVoltage", 0.1),  # tenths of V
        _num("2.2.8.0", "upsAdvBatteryActualVoltage"),  # V, -1 if not supported
    ),
    battery_temperature=(
        # "If not present, return maximum temperature value (255)": 2550 / 255 is unknown.
        _num("2.3.2.0", "upsHighPrecBatteryTemperature", 0.1, 2549),  # tenths of degC
        _num("2.2.2.0", "upsAdvBatteryTemperature", high=254),  # degC
    ),
    input_voltage=(
        _num("3.3.1.0", "upsHighPrecInputLineVoltage", 0.1),  # tenths of VAC
        _num("3.2.1.0", "upsAdvInputLineVoltage"),  # VAC
    ),
    input_frequency=(
        _num("3.3.4.0", "upsHighPrecInputFrequency", 0.1),  # tenths of Hz
        _num("3.2.4.0", "upsAdvInputFrequency"),  # Hz
    ),
    output_voltage=(
        _num("4.3.1.0", "upsHighPrecOutputVoltage", 0.1),  # tenths of VAC
        _num("4.2.1.0", "upsAdvOutputVoltage"),  # VAC
    ),
    output_current=(
        _num("4.3.4.0", "upsHighPrecOutputCurrent", 0.1),  # tenths of A
        _num("4.2.4.0", "upsAdvOutputCurrent"),  # A
    ),
    output_power=(_num("4.2.8.0", "upsAdvOutputActivePower"),),  # W, all phases
    output_load=(
        _num("4.3.3.0", "upsHighPrecOutputLoad", 0.1, 2000),  # tenths of %
        _num("4.2.3.0", "upsAdvOutputLoad", high=200),  # %
    ),
    input_lines=(
        LineTable(
            f"{UPS}.9.2.3.1",
            f"{MIB}::upsPhaseInputPhaseEntry",
            count=_num("9.2.2.1.2.1", "upsPhaseNumInputPhases", high=3),  # of input 1
            device_index="1",  # upsPhaseInputPhaseTableIndex 1: the main input
            line_arc="last",
            voltage=LineColumn(3, f"{MIB}::upsPhaseInputVoltage"),  # VAC
            current=LineColumn(6, f"{MIB}::upsPhaseInputCurrent", 0.1),  # 0.1 A
            power=LineColumn(9, f"{MIB}::upsPhaseInputPower"),  # W
        ),
    ),
    output_lines=(
        LineTable(
            f"{UPS}.9.3.3.1",
            f"{MIB}::upsPhaseOutputPhaseEntry",
            count=_num("9.3.2.1.2.1", "upsPhaseNumOutputPhases", high=3),  # of output 1
            device_index="1",
            line_arc="last",
            voltage=LineColumn(3, f"{MIB}::upsPhaseOutputVoltage"),  # VAC
            current=LineColumn(4, f"{MIB}::upsPhaseOutputCurrent", 0.1),  # 0.1 A
            power=LineColumn(13, f"{MIB}::upsPhaseOutputPower"),  # W
            load=LineColumn(10, f"{MIB}::upsPhaseOutputPercentLoad", high=200),  # % of VA
        ),
    ),
)
