"""Raritan PX2/PX3 switched PDU under PDU2-MIB (enterprise 13742, pdu2 = .6).

Indexes start with pduId (1 for a standalone PDU). Measurements are unsigned integers
scaled by the matching *DecimalDigits configuration object, which this simulator
publishes too, so a driver that ignores the scale reads wrong values.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agent.sim.snmp import values as v
from agent.sim.snmp.device import Clock
from agent.sim.snmp.mib import Commit, SetError, Var
from agent.sim.snmp.pdu import PduModel, PduSpec
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.values import Oid, Tag, Value

PDU2 = (1, 3, 6, 1, 4, 1, 13742, 6)  # PDU2-MIB::pdu2
SYS_OBJECT_ID = PDU2
DEFAULT_MODEL = "PX3-5190R"
DEFAULT_FIRMWARE = "4.2.0.5-50274"

NAMEPLATE = (*PDU2, 3, 2, 1, 1)  # nameplateEntry (pduManufacturer, pduModel, ...)
UNIT_CONFIG = (*PDU2, 3, 2, 2, 1)  # unitConfigurationEntry
BOARD = (*PDU2, 3, 2, 3, 1)  # controllerConfigurationEntry (boardFirmwareVersion)
INLET_SENSOR_CONFIG = (*PDU2, 3, 3, 4, 1)  # inletSensorConfigurationEntry
OUTLET_CONFIG = (*PDU2, 3, 5, 3, 1)  # outletConfigurationEntry
OUTLET_SENSOR_CONFIG = (*PDU2, 3, 5, 4, 1)  # outletSensorConfigurationEntry
EXTERNAL_SENSOR_CONFIG = (*PDU2, 3, 6, 3, 1)  # externalSensorConfigurationEntry
SWITCH_CONTROL = (*PDU2, 4, 1, 2, 1)  # outletSwitchControlEntry
INLET_MEASUREMENTS = (*PDU2, 5, 2, 3, 1)  # measurementsInletSensorEntry
OUTLET_MEASUREMENTS = (*PDU2, 5, 4, 3, 1)  # measurementsOutletSensorEntry
EXTERNAL_MEASUREMENTS = (*PDU2, 5, 5, 3, 1)  # measurementsExternalSensorEntry

# SensorTypeEnumeration
RMS_CURRENT, RMS_VOLTAGE, ACTIVE_POWER, POWER_FACTOR = 1, 4, 5, 7
TEMPERATURE, HUMIDITY, ON_OFF = 10, 11, 14
# SensorStateEnumeration
NORMAL, ABOVE_UPPER_WARNING, ABOVE_UPPER_CRITICAL, STATE_ON, STATE_OFF = 4, 5, 6, 7, 8
# switchingOperation values
OP_OFF, OP_ON, OP_CYCLE = 0, 1, 2
PDU_ID = 1
MAIN_CONTROLLER = 1  # BoardTypeEnumeration mainController(1)


def build(spec: PduSpec, set_log: SetLog, clock: Clock = time.monotonic) -> PduModel:
    model_name = spec.model or DEFAULT_MODEL
    firmware = spec.firmware or DEFAULT_FIRMWARE
    pdu = PduModel(
        spec,
        sys_descr=f"{model_name} - Firmware Version {firmware}",
        sys_object_id=SYS_OBJECT_ID,
        set_log=set_log,
        clock=clock,
    )
    m = pdu.mib
    m.constant((*PDU2, 3, 1, 0), v.integer(1))  # pduCount
    m.constant((*NAMEPLATE, 2, PDU_ID), v.octets("Raritan"))  # pduManufacturer
    m.constant((*NAMEPLATE, 3, PDU_ID), v.octets(model_name))  # pduModel
    m.constant((*NAMEPLATE, 4, PDU_ID), v.octets(spec.serial))  # pduSerialNumber
    m.constant((*NAMEPLATE, 5, PDU_ID), v.octets(f"{spec.voltage_v:.0f}V"))  # pduRatedVoltage
    m.constant((*UNIT_CONFIG, 2, PDU_ID), v.integer(1))  # inletCount
    m.constant((*UNIT_CONFIG, 4, PDU_ID), v.integer(spec.outlets))  # outletCount
    board = (PDU_ID, MAIN_CONTROLLER, 1)
    m.constant((*BOARD, 4, *board), v.octets("0x01"))  # boardVersion
    m.constant((*BOARD, 6, *board), v.octets(firmware))  # boardFirmwareVersion

    inlet = (PDU_ID, 1)
    inlet_sensors = {
        # type: (decimal digits, reading in the sensor's unit)
        RMS_CURRENT: (3, pdu.inlet_current_a),
        RMS_VOLTAGE: (0, lambda: spec.voltage_v),
        ACTIVE_POWER: (0, pdu.inlet_power_w),
        POWER_FACTOR: (2, lambda: 1.0),
    }
    for sensor, (digits, reading) in inlet_sensors.items():
        m.constant((*INLET_SENSOR_CONFIG, 7, *inlet, sensor), v.integer(digits))  # ...DecimalDigits
        _measurement(pdu, INLET_MEASUREMENTS, (*inlet, sensor), digits, reading)

    for n in range(1, spec.outlets + 1):
        _add_outlet(pdu, n)

    for sensor_id, (sensor_type, digits, reading) in {
        1: (TEMPERATURE, 1, pdu.temperature_c),
        2: (HUMIDITY, 0, pdu.humidity_pct),
    }.items():
        index = (PDU_ID, sensor_id)
        m.constant(
            (*EXTERNAL_SENSOR_CONFIG, 2, *index), v.integer(sensor_type)
        )  # externalSensorType
        m.constant((*EXTERNAL_SENSOR_CONFIG, 17, *index), v.integer(digits))  # ...DecimalDigits
        m.constant((*EXTERNAL_MEASUREMENTS, 2, *index), v.integer(1))  # ...IsAvailable true(1)

        def state(sensor_type: int = sensor_type) -> Value:
            if sensor_type != TEMPERATURE:
                return v.integer(NORMAL)
            t = pdu.temperature_c()
            if t >= spec.temperature_max_c:
                return v.integer(ABOVE_UPPER_CRITICAL)
            return v.integer(ABOVE_UPPER_WARNING if t >= spec.temperature_high_c else NORMAL)

        m.scalar((*EXTERNAL_MEASUREMENTS, 3, *index), Tag.INTEGER, state)
        # measurementsExternalSensorValue is Integer32 (temperatures can be negative).
        m.scalar((*EXTERNAL_MEASUREMENTS, 4, *index), Tag.INTEGER, _scaled(reading, digits))
    return pdu


def _scaled(reading: Callable[[], float], digits: int) -> Callable[[], Value]:
    return lambda: v.integer(round(reading() * 10**digits))


def _measurement(
    pdu: PduModel, table: Oid, index: Oid, digits: int, reading: Callable[[], float]
) -> None:
    m = pdu.mib
    m.constant((*table, 2, *index), v.integer(1))  # ...SensorIsAvailable true(1)
    m.constant((*table, 3, *index), v.integer(NORMAL))  # ...SensorState normal(4)
    m.scalar(  # ...SensorValue: Unsigned32, scaled by the decimal digits
        (*table, 4, *index), Tag.GAUGE32, lambda: v.gauge(reading() * 10**digits)
    )


def _add_outlet(pdu: PduModel, n: int) -> None:
    m = pdu.mib
    o = pdu.outlet(n)
    index = (PDU_ID, n)

    def write_name(value: Value) -> Commit:
        if len(value.octets) > 64:
            raise SetError("wrongLength", f"outletName.1.{n}: {len(value.octets)} > 64 octets")
        return lambda: setattr(o, "name", value.octets.decode("utf-8", "replace"))

    def switching_state() -> Value:  # outletSwitchingState: on(7) off(8)
        return v.integer(STATE_ON if pdu.is_on(n) else STATE_OFF)

    def operation() -> Value:  # switchingOperation reads back the last requested state
        target = pdu.pending_target(n)
        on = pdu.is_on(n) if target is None else target
        return v.integer(OP_ON if on else OP_OFF)

    def write_operation(value: Value) -> Commit:
        actions = {OP_OFF: "off", OP_ON: "on", OP_CYCLE: "reboot"}
        if value.number not in actions:
            raise SetError(
                "wrongValue",
                f"switchingOperation.1.{n}: {value.number} is not off(0), on(1) or cycle(2)",
            )
        action = actions[value.number]
        return lambda: pdu.command(n, action)  # type: ignore[arg-type]

    m.constant((*OUTLET_CONFIG, 2, *index), v.octets(str(n)))  # outletLabel
    m.add((*OUTLET_CONFIG, 3, *index), Var(Tag.OCTET_STRING, lambda: v.octets(o.name), write_name))
    m.add((*SWITCH_CONTROL, 2, *index), Var(Tag.INTEGER, operation, write_operation))
    m.scalar((*SWITCH_CONTROL, 3, *index), Tag.INTEGER, switching_state)
    m.scalar(  # outletSwitchingTimeStamp: Unsigned32 seconds of the last switch
        (*SWITCH_CONTROL, 4, *index),
        Tag.GAUGE32,
        lambda: v.gauge(max(0.0, o.since - pdu.clock() + pdu.uptime())),
    )
    m.column((*OUTLET_CONFIG, 3))
    m.column((*SWITCH_CONTROL, 2))
    for sensor, digits, reading in (
        (RMS_CURRENT, 3, lambda: pdu.outlet_current_a(n)),
        (ACTIVE_POWER, 0, lambda: pdu.outlet_power_w(n)),
    ):
        m.constant((*OUTLET_SENSOR_CONFIG, 7, *index, sensor), v.integer(digits))
        _measurement(pdu, OUTLET_MEASUREMENTS, (*index, sensor), digits, reading)
    on_off = (*index, ON_OFF)
    m.constant((*OUTLET_MEASUREMENTS, 2, *on_off), v.integer(1))
    m.scalar((*OUTLET_MEASUREMENTS, 3, *on_off), Tag.INTEGER, switching_state)
    m.constant((*OUTLET_MEASUREMENTS, 4, *on_off), v.gauge(0))
