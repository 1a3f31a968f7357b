"""CyberPower UPSes (CPS-MIB, enterprise 3808): the ``ups`` subtree 3808.1.1.1.

The same MIB file carries the CyberPower ePDU (3808.1.1.3, agent.devices.pdu.others):
the sentinel upsBaseIdentModel lives under 3808.1.1.1 only, so a CyberPower UPS is
never taken for the ePDU. CPS-MIB publishes voltages, currents and frequencies in
tenths (object descriptions); NUT's ``cyberpower-mib.c`` reads the same objects. Tested
against CPS-MIB only: no recording of a CyberPower UPS in snmpsim-data.
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

MIB = "CPS-MIB"
UPS = ent("3808.1.1.1")  # CPS-MIB::ups


def _num(suffix: str, name: str, scale: float = 1.0, high: int | None = None) -> Number:
    return Number(f"{UPS}.{suffix}", f"{MIB}::{name}", scale, 0, high)


MODEL = Text(f"{UPS}.1.1.1.0", f"{MIB}::upsBaseIdentModel")

CYBERPOWER_UPS = UpsFamily(
    key="cyberpower_ups",
    vendor="CyberPower",
    mib=MIB,
    sys_object_ids=(UPS,),  # NUT's CYBERPOWER_SYSOID
    sentinels=(MODEL,),
    model=(MODEL,),
    serial=(Text(f"{UPS}.1.2.3.0", f"{MIB}::upsAdvanceIdentSerialNumber"),),
    firmware=(Text(f"{UPS}.1.2.1.0", f"{MIB}::upsAdvanceIdentFirmwareRevision"),),
    battery_status=(
        BatteryEnum(
            f"{UPS}.2.1.1.0",
            f"{MIB}::upsBaseBatteryStatus",
            unknown=frozenset({1, 4}),  # unknown, batteryNotPresent
            normal=frozenset({2}),  # batteryNormal
            low=frozenset({3}),  # batteryLow
        ),
    ),
    on_battery=(
        SourceEnum(
            f"{UPS}.4.1.1.0",
            f"{MIB}::upsBaseOutputStatus",
            battery=frozenset({3}),  # onBattery
            # onLine, onBoost, onECO, onBypass, onBuck, onOverload
            mains=frozenset({2, 4, 8, 9, 10, 11}),
            neither=frozenset({1, 5, 6, 7}),  # unknown, onSleep, off, rebooting
        ),
    ),
    charge=(_num("2.2.1.0", "upsAdvanceBatteryCapacity", high=100),),  # %
    runtime=(_num("2.2.4.0", "upsAdvanceBatteryRunTimeRemaining", 0.01),),  # TimeTicks
    battery_voltage=(_num("2.2.2.0", "upsAdvanceBatteryVoltage", 0.1),),  # 1/10 VDC
    battery_temperature=(_num("2.2.3.0", "upsAdvanceBatteryTemperature", high=200),),  # degC
    input_voltage=(_num("3.2.1.0", "upsAdvanceInputLineVoltage", 0.1),),  # 1/10 VAC
    input_frequency=(_num("3.2.4.0", "upsAdvanceInputFrequency", 0.1),),  # 1/10 Hz
    output_voltage=(_num("4.2.1.0", "upsAdvanceOutputVoltage", 0.1),),  # 1/10 VAC
    output_current=(_num("4.2.4.0", "upsAdvanceOutputCurrent", 0.1),),  # 1/10 A
    output_power=(_num("4.2.5.0", "upsAdvanceOutputPower"),),  # W
    output_load=(_num("4.2.3.0", "upsAdvanceOutputLoad", high=200),),  # %
    input_lines=(
        LineTable(
            f"{UPS}.9.1.2.1",
            f"{MIB}::upsPhaseInputEntry",
            count=_num("9.1.1.0", "upsPhaseInputTableSize", high=3),
            voltage=LineColumn(2, f"{MIB}::upsPhaseInputVoltage", 0.1),  # 1/10 VAC
            current=LineColumn(3, f"{MIB}::upsPhaseInputCurrent", 0.1),  # 1/10 A
            frequency=LineColumn(4, f"{MIB}::upsPhaseInputFrequency", 0.1),  # 1/10 Hz
        ),
    ),
    output_lines=(
        LineTable(
            f"{UPS}.9.2.2.1",
            f"{MIB}::upsPhaseOutputEntry",
            count=_num("9.2.1.0", "upsPhaseOutputTableSize", high=3),
            voltage=LineColumn(2, f"{MIB}::upsPhaseOutputVoltage", 0.1),  # 1/10 VAC
            current=LineColumn(3, f"{MIB}::upsPhaseOutputCurrent", 0.1),  # 1/10 A
            frequency=LineColumn(4, f"{MIB}::upsPhaseOutputFrequency", 0.1),  # 1/10 Hz
            power=LineColumn(6, f"{MIB}::upsPhaseOutputPower"),  # W
        ),
    ),
)
