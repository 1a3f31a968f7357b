"""Raritan PDUs (enterprise 13742): the old PX MIB (PDU-MIB, 13742.4) and PDU2-MIB (13742.6).

PX (first generation, PDU-MIB "pdu" = 13742.4): scalars and tables indexed by outlet
number only. outletOperationalState (13742.4.1.2.2.1.3) is read-write: it reads
error(-1)/off(0)/on(1)/cycling(2) and switches on a write of off(0), on(1) or
cycling(2). Currents are MilliAmps, voltages MilliVolts, powers Watts (the MIB's
textual conventions).

PX2/PX3 (PDU2-MIB, 13742.6): state column outletSwitchingState (13742.6.4.1.2.1.3)
coded with the shared SensorStateEnumeration (on 7, off 8). Some tools read the onOff
*sensor* (measurementsOutletSensorState ...5.4.3.1.3.1.N.14) instead; NUT's driver
and its recorded walk ("outletSwitchingState.1.%i = INTEGER: on(7)") use the
switching-state column, which reflects the relay, so we do too. Tables are indexed by
pduId (1 for a standalone unit) then outlet. Measurements come with a per-sensor
decimal-digit count (inletSensorDecimalDigits), read rather than assumed.
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

MIB = "PDU2-MIB"
PX = "PDU-MIB"
_OP = ent("13742.6.4.1.2.1.2.1")  # switchingOperation.<pduId=1>

RARITAN_PDU2 = PduFamily(
    key="raritan_pdu2",
    vendor="Raritan",
    mib=MIB,
    sys_object_ids=(ent("13742.6"),),
    sentinels=(Scalar(ent("13742.6.3.2.1.1.3.1"), f"{MIB}::pduModel"),),
    on=Command(_OP, 1, f"{MIB}::switchingOperation"),  # on(1)
    off=Command(_OP, 0, f"{MIB}::switchingOperation"),  # off(0)
    reboot=Command(_OP, 2, f"{MIB}::switchingOperation"),  # cycle(2)
    state=Column(ent("13742.6.4.1.2.1.3.1"), f"{MIB}::outletSwitchingState"),
    state_on=frozenset({7}),
    state_off=frozenset({8}),
    outlet_name=Column(ent("13742.6.3.5.3.1.3.1"), f"{MIB}::outletName"),
    outlet_list=Column(ent("13742.6.3.5.3.1.2.1"), f"{MIB}::outletLabel"),
    outlet_count=Scalar(ent("13742.6.3.2.2.1.4.1"), f"{MIB}::outletCount"),
    model=Scalar(ent("13742.6.3.2.1.1.3.1"), f"{MIB}::pduModel"),
    serial=Scalar(ent("13742.6.3.2.1.1.4.1"), f"{MIB}::pduSerialNumber"),
    # boardFirmwareVersion.<pduId>.mainController(1).1
    firmware=Scalar(ent("13742.6.3.2.3.1.6.1.1.1"), f"{MIB}::boardFirmwareVersion"),
    # measurementsInletSensorValue.<pduId>.<inletId>.rmsCurrent(1) / activePower(5)
    inlet_current=Measurement(
        ent("13742.6.5.2.3.1.4.1.1.1"),
        1.0,
        "A",
        f"{MIB}::measurementsInletSensorValue",
        digits_oid=ent("13742.6.3.3.4.1.7.1.1.1"),  # inletSensorDecimalDigits
    ),
    inlet_power=Measurement(
        ent("13742.6.5.2.3.1.4.1.1.5"),
        1.0,
        "W",
        f"{MIB}::measurementsInletSensorValue",
        digits_oid=ent("13742.6.3.3.4.1.7.1.1.5"),
    ),
    notes="Temperature comes from external sensors (externalSensorsTable).",
)

_PX_OUTLET = ent("13742.4.1.2.2.1")  # PDU-MIB outletEntry

RARITAN_PX = PduFamily(
    key="raritan_px",
    vendor="Raritan",
    mib=PX,
    sys_object_ids=(ent("13742.4"),),
    sentinels=(
        Scalar(ent("13742.4.1.1.1.0"), f"{PX}::firmwareVersion"),
        Scalar(ent("13742.4.1.2.1.0"), f"{PX}::outletCount"),
    ),
    on=Command(f"{_PX_OUTLET}.3", 1, f"{PX}::outletOperationalState"),  # on(1)
    off=Command(f"{_PX_OUTLET}.3", 0, f"{PX}::outletOperationalState"),  # off(0)
    reboot=Command(f"{_PX_OUTLET}.3", 2, f"{PX}::outletOperationalState"),  # cycling(2)
    state=Column(f"{_PX_OUTLET}.3", f"{PX}::outletOperationalState"),
    state_on=frozenset({1}),
    state_off=frozenset({0}),  # error(-1) and cycling(2) are unknown
    outlet_name=Column(f"{_PX_OUTLET}.2", f"{PX}::outletLabel"),
    outlet_count=Scalar(ent("13742.4.1.2.1.0"), f"{PX}::outletCount"),
    serial=Scalar(ent("13742.4.1.1.2.0"), f"{PX}::serialNumber"),
    firmware=Scalar(ent("13742.4.1.1.1.0"), f"{PX}::firmwareVersion"),
    inlet_current=Measurement(ent("13742.4.1.3.1.1.0"), 0.001, "A", f"{PX}::unitCurrent"),
    inlet_power=Measurement(ent("13742.4.1.3.1.3.0"), 1.0, "W", f"{PX}::unitActivePower"),
    notes="PDU-MIB has no model-name object; the model is in sysDescr.",
)
