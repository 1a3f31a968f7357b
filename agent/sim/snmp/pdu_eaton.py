"""Eaton ePDU (G3 "Marlin" network card) under EATON-EPDU-MIB (534.6.6.7).

Tables are indexed by strappingIndex first (0 for the master unit of a daisy chain), then
the outlet / input / sensor index. Outlet commands are three write-only-in-spirit
columns (outletControlOffCmd, ...OnCmd, ...RebootCmd): write 0 to act now, N > 0 to act
in N seconds, -1 to cancel; they read back the seconds left, or -1 when idle.
outletControlStatus shows pendingOff(2) / pendingOn(3) between command and effect.
"""

from __future__ import annotations

import time

from agent.sim.snmp import values as v
from agent.sim.snmp.device import Clock
from agent.sim.snmp.mib import Commit, SetError, Var
from agent.sim.snmp.pdu import Action, PduModel, PduSpec
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.values import Tag, Value

EPDU = (1, 3, 6, 1, 4, 1, 534, 6, 6, 7)  # EATON-EPDU-MIB::eatonEpdu
SYS_OBJECT_ID = EPDU
DEFAULT_MODEL = "EMAB03"
DEFAULT_FIRMWARE = "04.00.0010"
STRAP = 0

UNIT = (*EPDU, 1, 2, 1)  # unitEntry
INPUT_VOLTAGE = (*EPDU, 3, 2, 1)  # inputVoltageEntry
INPUT_CURRENT = (*EPDU, 3, 3, 1)  # inputCurrentEntry
INPUT_POWER = (*EPDU, 3, 4, 1)  # inputPowerEntry
OUTLET = (*EPDU, 6, 1, 1)  # outletEntry
OUTLET_CURRENT = (*EPDU, 6, 4, 1)  # outletCurrentEntry
OUTLET_POWER = (*EPDU, 6, 5, 1)  # outletPowerEntry
OUTLET_CONTROL = (*EPDU, 6, 6, 1)  # outletControlEntry
TEMPERATURE = (*EPDU, 7, 1, 1)  # temperatureEntry
HUMIDITY = (*EPDU, 7, 2, 1)  # humidityEntry

# outletControlStatus
OFF, ON, PENDING_OFF, PENDING_ON = 0, 1, 2, 3
MAX_DELAY_S = 99999  # the commands' documented range is -1..99999


def build(spec: PduSpec, set_log: SetLog, clock: Clock = time.monotonic) -> PduModel:
    model_name = spec.model or DEFAULT_MODEL
    firmware = spec.firmware or DEFAULT_FIRMWARE
    pdu = PduModel(
        spec,
        sys_descr=f"Eaton ePDU {model_name} Network Management Card, firmware {firmware}",
        sys_object_id=SYS_OBJECT_ID,
        set_log=set_log,
        clock=clock,
    )
    m = pdu.mib
    for column, value in (
        (2, v.octets(f"Eaton ePDU {model_name}")),  # productName
        (3, v.octets(model_name)),  # partNumber
        (4, v.octets(spec.serial)),  # serialNumber
        (5, v.octets(firmware)),  # firmwareVersion
        (22, v.integer(spec.outlets)),  # outletCount
        (23, v.integer(1)),  # temperatureSensorCount
        (24, v.integer(1)),  # humiditySensorCount
    ):
        m.constant((*UNIT, column, STRAP), value)
    m.scalar((*UNIT, 6, STRAP), Tag.OCTET_STRING, lambda: v.octets(pdu.sys_name))  # unitName

    inlet = (STRAP, 1, 1)  # strappingIndex, inputIndex, measurement index
    m.scalar(  # inputVoltage, mV
        (*INPUT_VOLTAGE, 3, *inlet), Tag.GAUGE32, lambda: v.gauge(spec.voltage_v * 1000)
    )
    m.scalar(  # inputCurrent, mA
        (*INPUT_CURRENT, 4, *inlet), Tag.GAUGE32, lambda: v.gauge(pdu.inlet_current_a() * 1000)
    )
    m.scalar(  # inputVA
        (*INPUT_POWER, 3, *inlet), Tag.GAUGE32, lambda: v.gauge(pdu.inlet_power_w())
    )
    m.scalar(  # inputWatts
        (*INPUT_POWER, 4, *inlet), Tag.GAUGE32, lambda: v.gauge(pdu.inlet_power_w())
    )

    for n in range(1, spec.outlets + 1):
        _add_outlet(pdu, n)

    probe = (STRAP, 1)
    m.constant((*TEMPERATURE, 2, *probe), v.octets("Rack inlet"))  # temperatureName
    m.constant((*TEMPERATURE, 3, *probe), v.integer(1))  # temperatureProbeStatus connected(1)
    m.scalar(  # temperatureValue, tenths of degrees (Celsius: temperatureScale)
        (*TEMPERATURE, 4, *probe), Tag.INTEGER, lambda: v.integer(round(pdu.temperature_c() * 10))
    )
    m.constant((*HUMIDITY, 2, *probe), v.octets("Rack inlet"))  # humidityName
    m.constant((*HUMIDITY, 3, *probe), v.integer(1))  # humidityProbeStatus connected(1)
    m.scalar(  # humidityValue, tenths of percent
        (*HUMIDITY, 4, *probe), Tag.INTEGER, lambda: v.integer(round(pdu.humidity_pct() * 10))
    )
    return pdu


def _add_outlet(pdu: PduModel, n: int) -> None:
    m = pdu.mib
    o = pdu.outlet(n)
    index = (STRAP, n)

    def write_name(value: Value) -> Commit:
        if len(value.octets) > 31:
            raise SetError("wrongLength", f"outletName.0.{n}: {len(value.octets)} > 31 octets")
        return lambda: setattr(o, "name", value.octets.decode("utf-8", "replace"))

    def status() -> Value:
        target = pdu.pending_target(n)
        if target is None:
            return v.integer(ON if pdu.is_on(n) else OFF)
        return v.integer(PENDING_ON if target else PENDING_OFF)

    def command_column(action: Action, name: str) -> Var:
        def read() -> Value:
            pending = pdu.outlet(n).pending
            if not pending or pdu.last_action.get(n) != action:
                return v.integer(-1)
            return v.integer(round(pdu.pending_seconds(n)))

        def write(value: Value) -> Commit:
            delay = value.number
            if not -1 <= delay <= MAX_DELAY_S:
                raise SetError(
                    "wrongValue", f"{name}.0.{n}: {delay} is outside -1..{MAX_DELAY_S} (seconds)"
                )
            if delay == -1:
                return lambda: pdu.cancel(n)
            return lambda: pdu.command(n, action, float(delay))

        return Var(Tag.INTEGER, read, write)

    m.constant((*OUTLET, 2, *index), v.octets(f"A{n}"))  # outletID
    m.add((*OUTLET, 3, *index), Var(Tag.OCTET_STRING, lambda: v.octets(o.name), write_name))
    m.constant((*OUTLET, 6, *index), v.octets(f"A{n}"))  # outletDesignator
    m.scalar(  # outletCurrent, mA
        (*OUTLET_CURRENT, 3, *index), Tag.GAUGE32, lambda: v.gauge(pdu.outlet_current_a(n) * 1000)
    )
    m.scalar(  # outletWatts
        (*OUTLET_POWER, 3, *index), Tag.GAUGE32, lambda: v.gauge(pdu.outlet_power_w(n))
    )
    m.scalar((*OUTLET_CONTROL, 2, *index), Tag.INTEGER, status)  # outletControlStatus
    m.add((*OUTLET_CONTROL, 3, *index), command_column("off", "outletControlOffCmd"))
    m.add((*OUTLET_CONTROL, 4, *index), command_column("on", "outletControlOnCmd"))
    m.add((*OUTLET_CONTROL, 5, *index), command_column("reboot", "outletControlRebootCmd"))
    m.constant((*OUTLET_CONTROL, 9, *index), v.integer(1))  # outletControlSwitchable: yes(1)
    for column in (3, 4, 5):
        m.column((*OUTLET_CONTROL, column))
    m.column((*OUTLET, 3))
