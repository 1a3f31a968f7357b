"""Eaton ePDU G2/G3 "Marlin" (EATON-EPDU-MIB, enterprise 534, sysObjectID 534.6.6.7).

Every table is indexed first by strappingIndex, the unit's position in a daisy chain:
0 for a standalone or master unit. NUT's older eaton-mib.c and its Marlin driver both
address ``.0.N`` for the host unit, and that is what the DESIGN table records; some
third-party tools use 1 (a 1-based reading of the daisy-chain index), which on a
standalone unit answers noSuchInstance. We use 0.

Switching is three write-only commands, each taking a delay in seconds (0 = now).
Input tables are indexed strappingIndex.inputIndex.<phase row>: inputCurrent in mA,
inputVoltage in mV, inputWatts in W (NUT eaton-pdu-marlin-mib.c reads them the same way;
on three-phase Marlin units inputWatts row 4 is the sum of the phases). Groups
(groupTable) are the breakers and outlet sections; groupCurrent is in mA.
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

MIB = "EATON-EPDU-MIB"
UNIT = 0  # strappingIndex of the host unit

EATON_EPDU = PduFamily(
    key="eaton_epdu",
    vendor="Eaton",
    mib=MIB,
    sys_object_ids=(ent("534.6.6.7"),),
    # productName.<unit 0>: every Marlin unit names itself; an Eaton UPS (XUPS-MIB,
    # 534.1) has no EATON-EPDU-MIB subtree at all.
    sentinels=(Scalar(ent(f"534.6.6.7.1.2.1.2.{UNIT}"), f"{MIB}::productName"),),
    on=Command(ent(f"534.6.6.7.6.6.1.4.{UNIT}"), 0, f"{MIB}::outletControlOnCmd"),
    off=Command(ent(f"534.6.6.7.6.6.1.3.{UNIT}"), 0, f"{MIB}::outletControlOffCmd"),
    reboot=Command(ent(f"534.6.6.7.6.6.1.5.{UNIT}"), 0, f"{MIB}::outletControlRebootCmd"),
    state=Column(ent(f"534.6.6.7.6.6.1.2.{UNIT}"), f"{MIB}::outletControlStatus"),
    state_on=frozenset({1}),  # on(1); pendingOn(3) is still off
    state_off=frozenset({0}),  # off(0); pendingOff(2) is still on
    outlet_name=Column(ent(f"534.6.6.7.6.1.1.3.{UNIT}"), f"{MIB}::outletName"),
    outlet_count=Scalar(ent(f"534.6.6.7.1.2.1.22.{UNIT}"), f"{MIB}::outletCount"),
    model=Scalar(ent(f"534.6.6.7.1.2.1.2.{UNIT}"), f"{MIB}::productName"),
    serial=Scalar(ent(f"534.6.6.7.1.2.1.4.{UNIT}"), f"{MIB}::serialNumber"),
    firmware=Scalar(ent(f"534.6.6.7.1.2.1.5.{UNIT}"), f"{MIB}::firmwareVersion"),
    # inputCurrent.<unit>.<input 1>.<phase 1>: milliamps
    inlet_current=Measurement(
        ent(f"534.6.6.7.3.3.1.4.{UNIT}.1.1"), 0.001, "A", f"{MIB}::inputCurrent"
    ),
    # inputWatts.<unit>.<input 1>.<phase 1>: watts
    inlet_power=Measurement(ent(f"534.6.6.7.3.4.1.4.{UNIT}.1.1"), 1.0, "W", f"{MIB}::inputWatts"),
    # temperatureValue.<unit>.<probe 1>: tenths of a degree (temperatureScale celsius)
    temperature=Measurement(
        ent(f"534.6.6.7.7.1.1.4.{UNIT}.1"), 0.1, "degC", f"{MIB}::temperatureValue"
    ),
)
