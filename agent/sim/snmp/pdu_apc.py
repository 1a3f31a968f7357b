"""APC switched rack PDU, second generation (AP86xx/AP89xx), under PowerNet-MIB rPDU2.

Tables are indexed by a row index (1 for the single device / phase / sensor, the outlet
number for outlets); the Module column says which PDU of a daisy chain (always 1 here).
Units follow the MIB: rPDU2DeviceStatusPower and rPDU2PhaseStatusPower in hundredths of
kW, currents in tenths of A, rPDU2OutletMeteredStatusPower in W, temperatures in tenths.
"""

from __future__ import annotations

import time

from agent.sim.snmp import values as v
from agent.sim.snmp.device import Clock
from agent.sim.snmp.mib import Commit, SetError, Var
from agent.sim.snmp.pdu import PduModel, PduSpec
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.values import Tag, Value

RPDU2 = (1, 3, 6, 1, 4, 1, 318, 1, 1, 26)  # PowerNet-MIB::rPDU2
# The rPDU2 product OID, as a recorded AP8932 answers.
SYS_OBJECT_ID = (1, 3, 6, 1, 4, 1, 318, 1, 3, 4, 6)
DEFAULT_MODEL = "AP8941"
DEFAULT_FIRMWARE = "v6.9.6"

# rPDU2IdentTable is rPDU2 2 itself (no group arc): rPDU2IdentModelNumber.1 is
# 26.2.1.8.1, as PowerNet-MIB says and the recorded AP7902B/AP8641/AP8932 answer.
IDENT = (*RPDU2, 2, 1)  # rPDU2IdentEntry
DEVICE_PROPERTIES = (*RPDU2, 4, 2, 1)  # rPDU2DevicePropertiesEntry
DEVICE_STATUS = (*RPDU2, 4, 3, 1)  # rPDU2DeviceStatusEntry
PHASE_STATUS = (*RPDU2, 6, 3, 1)  # rPDU2PhaseStatusEntry
BANK_STATUS = (*RPDU2, 8, 3, 1)  # rPDU2BankStatusEntry
SWITCHED_CONFIG = (*RPDU2, 9, 2, 1, 1)  # rPDU2OutletSwitchedConfigEntry
SWITCHED_STATUS = (*RPDU2, 9, 2, 3, 1)  # rPDU2OutletSwitchedStatusEntry
SWITCHED_CONTROL = (*RPDU2, 9, 2, 4, 1)  # rPDU2OutletSwitchedControlEntry
METERED_STATUS = (*RPDU2, 9, 4, 3, 1)  # rPDU2OutletMeteredStatusEntry
TEMP_HUMIDITY = (*RPDU2, 10, 2, 2, 1)  # rPDU2SensorTempHumidityStatusEntry

# rPDU2OutletSwitchedControlCommand values.
IMMEDIATE_ON, IMMEDIATE_OFF, IMMEDIATE_REBOOT, OUTLET_UNKNOWN = 1, 2, 3, 4
DELAYED_ON, DELAYED_OFF, DELAYED_REBOOT, CANCEL_PENDING = 5, 6, 7, 8
# "delayed" commands wait the outlet's configured power-on/off delay; the simulator's
# outlets all have this one.
DELAYED_S = 3.0


def build(spec: PduSpec, set_log: SetLog, clock: Clock = time.monotonic) -> PduModel:
    model_name = spec.model or DEFAULT_MODEL
    firmware = spec.firmware or DEFAULT_FIRMWARE
    pdu = PduModel(
        spec,
        sys_descr=(
            f"APC Web/SNMP Management Card (MB:v4.2.1 PF:{firmware} PN:apc_hw05_aos_696.bin "
            f"AF1:{firmware} AN1:apc_hw05_rpdu2g_696.bin MN:{model_name} HR:02 SN: {spec.serial} "
            "MD:01/15/2023) (Embedded PowerNet SNMP Agent SW v2.2 compatible)"
        ),
        sys_object_id=SYS_OBJECT_ID,
        set_log=set_log,
        clock=clock,
    )
    m = pdu.mib
    n = spec.outlets
    banks = _banks(n)
    for arc, size in (
        (1, 1),  # rPDU2IdentTableSize
        (3, 1),  # rPDU2DeviceTableSize
        (5, 1),  # rPDU2PhaseTableSize
        (7, len(banks)),  # rPDU2BankTableSize
    ):
        m.constant((*RPDU2, arc, 0), v.integer(size))
    m.constant((*RPDU2, 9, 1, 0), v.integer(n))  # rPDU2OutletSwitchedTableSize
    m.constant((*RPDU2, 9, 3, 0), v.integer(n))  # rPDU2OutletMeteredTableSize
    m.constant((*RPDU2, 10, 1, 0), v.integer(1))  # rPDU2SensorTempHumidityTableSize
    for column, value in (
        (1, v.integer(1)),  # rPDU2IdentIndex
        (2, v.integer(1)),  # rPDU2IdentModule
        (3, v.octets(spec.id)),  # rPDU2IdentName
        (4, v.octets("clean room rack")),  # rPDU2IdentLocation
        (5, v.octets("02")),  # rPDU2IdentHardwareRev
        (6, v.octets(firmware)),  # rPDU2IdentFirmwareRev
        (7, v.octets("01/15/2023")),  # rPDU2IdentDateOfManufacture
        (8, v.octets(model_name)),  # rPDU2IdentModelNumber
        (9, v.octets(spec.serial)),  # rPDU2IdentSerialNumber
    ):
        m.constant((*IDENT, column, 1), value)

    m.constant((*DEVICE_PROPERTIES, 1, 1), v.integer(1))  # rPDU2DevicePropertiesIndex
    m.constant((*DEVICE_PROPERTIES, 4, 1), v.integer(n))  # ...NumOutlets
    m.constant((*DEVICE_PROPERTIES, 5, 1), v.integer(n))  # ...NumSwitchedOutlets
    m.constant((*DEVICE_PROPERTIES, 6, 1), v.integer(n))  # ...NumMeteredOutlets
    m.constant((*DEVICE_PROPERTIES, 7, 1), v.integer(1))  # ...NumPhases
    m.constant((*DEVICE_PROPERTIES, 8, 1), v.integer(len(banks)))  # ...NumMeteredBanks

    m.constant((*DEVICE_STATUS, 1, 1), v.integer(1))  # rPDU2DeviceStatusIndex
    m.constant((*DEVICE_STATUS, 2, 1), v.integer(1))  # rPDU2DeviceStatusModule
    m.scalar((*DEVICE_STATUS, 3, 1), Tag.OCTET_STRING, lambda: v.octets(pdu.sys_name))
    # rPDU2DeviceStatusLoadState: lowLoad(1) normal(2) nearOverload(3) overload(4)
    m.scalar((*DEVICE_STATUS, 4, 1), Tag.INTEGER, lambda: v.integer(2))
    m.scalar(  # rPDU2DeviceStatusPower, hundredths of kW
        (*DEVICE_STATUS, 5, 1), Tag.INTEGER, lambda: v.integer(round(pdu.inlet_power_w() / 10))
    )

    m.constant((*PHASE_STATUS, 1, 1), v.integer(1))  # rPDU2PhaseStatusIndex
    m.constant((*PHASE_STATUS, 2, 1), v.integer(1))  # rPDU2PhaseStatusModule
    m.constant((*PHASE_STATUS, 3, 1), v.integer(1))  # rPDU2PhaseStatusNumber
    m.scalar((*PHASE_STATUS, 4, 1), Tag.INTEGER, lambda: v.integer(2))  # ...LoadState normal
    m.scalar(  # rPDU2PhaseStatusCurrent, tenths of A
        (*PHASE_STATUS, 5, 1), Tag.INTEGER, lambda: v.integer(round(pdu.inlet_current_a() * 10))
    )
    m.constant((*PHASE_STATUS, 6, 1), v.integer(round(spec.voltage_v)))  # ...Voltage
    m.scalar(  # rPDU2PhaseStatusPower, hundredths of kW
        (*PHASE_STATUS, 7, 1), Tag.INTEGER, lambda: v.integer(round(pdu.inlet_power_w() / 10))
    )

    for bank, outlets in enumerate(banks, 1):
        _add_bank(pdu, bank, outlets)
    for outlet in range(1, n + 1):
        _add_outlet(pdu, outlet)
    _add_sensor(pdu)
    return pdu


def _banks(outlets: int) -> list[range]:
    """Outlets 1..n split into two banks, as the recorded AP8641 and AP8932 have (12 + 12
    outlets behind two breakers); a one-outlet PDU has one bank."""
    if outlets < 2:
        return [range(1, outlets + 1)]
    half = (outlets + 1) // 2
    return [range(1, half + 1), range(half + 1, outlets + 1)]


def _add_bank(pdu: PduModel, bank: int, outlets: range) -> None:
    m = pdu.mib
    m.constant((*BANK_STATUS, 1, bank), v.integer(bank))  # rPDU2BankStatusIndex
    m.constant((*BANK_STATUS, 2, bank), v.integer(1))  # rPDU2BankStatusModule
    m.constant((*BANK_STATUS, 3, bank), v.integer(bank))  # rPDU2BankStatusNumber
    m.scalar((*BANK_STATUS, 4, bank), Tag.INTEGER, lambda: v.integer(2))  # ...LoadState normal
    m.scalar(  # rPDU2BankStatusCurrent, tenths of A
        (*BANK_STATUS, 5, bank),
        Tag.INTEGER,
        lambda: v.integer(round(sum(pdu.outlet_current_a(o) for o in outlets) * 10)),
    )


def _add_outlet(pdu: PduModel, n: int) -> None:
    m = pdu.mib
    o = pdu.outlet(n)

    def name() -> Value:
        return v.octets(o.name)

    def write_name(value: Value) -> Commit:
        text = value.octets
        if len(text) > 32:  # DisplayString (SIZE(0..32)) in PowerNet-MIB
            raise SetError(
                "wrongLength", f"rPDU2OutletSwitchedConfigName.{n}: {len(text)} > 32 octets"
            )
        return lambda: setattr(o, "name", text.decode("ascii", "replace"))

    def state() -> Value:  # rPDU2OutletSwitchedStatusState: off(1) on(2)
        return v.integer(2 if pdu.is_on(n) else 1)

    def pending() -> Value:  # ...CommandPending: commandPending(1) noCommandPending(2)
        return v.integer(1 if pdu.is_pending(n) else 2)

    def command() -> Value:  # reads back as the present state
        return v.integer(IMMEDIATE_ON if pdu.is_on(n) else IMMEDIATE_OFF)

    def write_command(value: Value) -> Commit:
        c = value.number
        actions = {
            IMMEDIATE_ON: ("on", 0.0),
            IMMEDIATE_OFF: ("off", 0.0),
            IMMEDIATE_REBOOT: ("reboot", 0.0),
            DELAYED_ON: ("on", DELAYED_S),
            DELAYED_OFF: ("off", DELAYED_S),
            DELAYED_REBOOT: ("reboot", DELAYED_S),
        }
        if c == CANCEL_PENDING:
            return lambda: pdu.cancel(n)
        if c not in actions:
            raise SetError(
                "wrongValue",
                f"rPDU2OutletSwitchedControlCommand.{n}: {c} is not a command (1-3, 5-8)",
            )
        action, delay = actions[c]
        return lambda: pdu.command(n, action, delay)  # type: ignore[arg-type]

    for table in (SWITCHED_CONFIG, SWITCHED_STATUS, SWITCHED_CONTROL, METERED_STATUS):
        m.constant((*table, 1, n), v.integer(n))  # ...Index
        m.constant((*table, 2, n), v.integer(1))  # ...Module
    m.add((*SWITCHED_CONFIG, 3, n), Var(Tag.OCTET_STRING, name, write_name))
    m.constant((*SWITCHED_CONFIG, 4, n), v.integer(n))  # rPDU2OutletSwitchedConfigNumber
    m.scalar((*SWITCHED_STATUS, 3, n), Tag.OCTET_STRING, name)
    m.constant((*SWITCHED_STATUS, 4, n), v.integer(n))
    m.scalar((*SWITCHED_STATUS, 5, n), Tag.INTEGER, state)
    m.scalar((*SWITCHED_STATUS, 6, n), Tag.INTEGER, pending)
    m.scalar((*SWITCHED_CONTROL, 3, n), Tag.OCTET_STRING, name)
    m.constant((*SWITCHED_CONTROL, 4, n), v.integer(n))
    m.add((*SWITCHED_CONTROL, 5, n), Var(Tag.INTEGER, command, write_command))
    m.scalar((*METERED_STATUS, 3, n), Tag.OCTET_STRING, name)
    m.constant((*METERED_STATUS, 4, n), v.integer(n))
    m.scalar(  # rPDU2OutletMeteredStatusCurrent, tenths of A
        (*METERED_STATUS, 6, n), Tag.INTEGER, lambda: v.integer(round(pdu.outlet_current_a(n) * 10))
    )
    m.scalar(  # rPDU2OutletMeteredStatusPower, W
        (*METERED_STATUS, 7, n), Tag.INTEGER, lambda: v.integer(round(pdu.outlet_power_w(n)))
    )
    # Writable columns: a SET on an outlet the PDU lacks is noCreation, not notWritable.
    m.column((*SWITCHED_CONFIG, 3))
    m.column((*SWITCHED_CONTROL, 5))


def _add_sensor(pdu: PduModel) -> None:
    m = pdu.mib
    spec = pdu.spec

    def temp_status() -> Value:
        # belowMin(2) belowLow(3) normal(4) aboveHigh(5) aboveMax(6)
        t = pdu.temperature_c()
        return v.integer(
            6 if t >= spec.temperature_max_c else 5 if t >= spec.temperature_high_c else 4
        )

    for column, value in (
        (1, v.integer(1)),  # rPDU2SensorTempHumidityStatusIndex
        (2, v.integer(1)),  # ...Module
        (3, v.octets("Rack inlet")),  # ...Name
        (4, v.integer(1)),  # ...Number
        (5, v.integer(3)),  # ...Type: temperatureHumidity(3)
        (6, v.integer(2)),  # ...CommStatus: ok(2)
    ):
        m.constant((*TEMP_HUMIDITY, column, 1), value)
    m.scalar(  # rPDU2SensorTempHumidityStatusTempF, tenths of degrees F
        (*TEMP_HUMIDITY, 7, 1),
        Tag.INTEGER,
        lambda: v.integer(round((pdu.temperature_c() * 9 / 5 + 32) * 10)),
    )
    m.scalar(  # rPDU2SensorTempHumidityStatusTempC, tenths of degrees C
        (*TEMP_HUMIDITY, 8, 1), Tag.INTEGER, lambda: v.integer(round(pdu.temperature_c() * 10))
    )
    m.scalar((*TEMP_HUMIDITY, 9, 1), Tag.INTEGER, temp_status)  # ...TempStatus
    m.scalar(  # rPDU2SensorTempHumidityStatusRelativeHumidity, percent
        (*TEMP_HUMIDITY, 10, 1), Tag.INTEGER, lambda: v.integer(round(pdu.humidity_pct()))
    )
    m.scalar((*TEMP_HUMIDITY, 11, 1), Tag.INTEGER, lambda: v.integer(4))  # ...HumidityStatus normal
