"""Raritan PX2/PX3 (PDU2-MIB, enterprise 13742, sysObjectID 13742.6).

State column: outletSwitchingState (13742.6.4.1.2.1.3) coded with the shared
SensorStateEnumeration (on 7, off 8). Some tools read the onOff *sensor*
(measurementsOutletSensorState ...5.4.3.1.3.1.N.14) instead; NUT's driver and its
recorded walk ("outletSwitchingState.1.%i = INTEGER: on(7)") use the switching-state
column, which reflects the relay, so we do too. Tables are indexed by pduId (1 for a
standalone unit) then outlet. Measurements come with a per-sensor decimal-digit count
(inletSensorDecimalDigits), read rather than assumed.
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

MIB = "PDU2-MIB"
_OP = ent("13742.6.4.1.2.1.2.1")  # switchingOperation.<pduId=1>

RARITAN_PDU2 = PduFamily(
    key="raritan_pdu2",
    vendor="Raritan",
    mib=MIB,
    sys_object_ids=(ent("13742.6"),),
    on=Command(_OP, 1, f"{MIB}::switchingOperation"),  # on(1)
    off=Command(_OP, 0, f"{MIB}::switchingOperation"),  # off(0)
    reboot=Command(_OP, 2, f"{MIB}::switchingOperation"),  # cycle(2)
    state=Column(ent("13742.6.4.1.2.1.3.1"), f"{MIB}::outletSwitchingState"),
    state_on=frozenset({7}),
    state_off=frozenset({8}),
    outlet_name=Column(ent("13742.6.3.5.3.1.3.1"), f"{MIB}::outletName"),
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
    notes="Temperature comes from external sensors (externalSensorsTable), not modelled.",
)
