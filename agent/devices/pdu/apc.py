"""APC switched rack PDUs (PowerNet-MIB, enterprise 318).

Two generations share the MIB file but not the tables:
- rPDU (AP79xx, sysObjectID masterSwitchrPDU 318.1.3.4.5): ``rPDU`` subtree 318.1.1.12;
  the control column reads back the state (1 on, 2 off).
- rPDU2 (AP84xx/AP86xx/AP88xx/AP89xx, sysObjectID 318.1.3.4.6, seen in a recorded
  AP8932 walk): ``rPDU2`` subtree 318.1.1.26; a separate status column uses the
  opposite coding (1 off, 2 on).
rPDU2 objects sit under a group, then a table, then its entry: rPDU2IdentModelNumber.1
is 318.1.1.26.2.1.1.8.1 (group 26.2, table .1, entry .1, column 8), like the
rPDU2Device/rPDU2Phase/rPDU2Outlet tables. Some published profiles drop the entry arc;
the simulator written from the MIB caught that here.
NUT's apc-pdu-mib.c labels 318.1.3.4.4/.5/.6 differently; the AP8932 recording
(rpdu2g firmware, sysObjectID .6) is what we follow.
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

MIB = "PowerNet-MIB"

APC_RPDU = PduFamily(
    key="apc_rpdu",
    vendor="APC",
    mib=MIB,
    sys_object_ids=(ent("318.1.3.4.5"),),
    on=Command(ent("318.1.1.12.3.3.1.1.4"), 1, f"{MIB}::rPDUOutletControlOutletCommand"),
    off=Command(ent("318.1.1.12.3.3.1.1.4"), 2, f"{MIB}::rPDUOutletControlOutletCommand"),
    reboot=Command(ent("318.1.1.12.3.3.1.1.4"), 3, f"{MIB}::rPDUOutletControlOutletCommand"),
    state=Column(ent("318.1.1.12.3.3.1.1.4"), f"{MIB}::rPDUOutletControlOutletCommand"),
    state_on=frozenset({1}),  # immediateOn
    state_off=frozenset({2}),  # immediateOff
    outlet_name=Column(ent("318.1.1.12.3.3.1.1.2"), f"{MIB}::rPDUOutletControlOutletName"),
    outlet_count=Scalar(ent("318.1.1.12.3.1.4.0"), f"{MIB}::rPDUOutletDevNumCntrlOutlets"),
    model=Scalar(ent("318.1.1.12.1.5.0"), f"{MIB}::rPDUIdentModelNumber"),
    serial=Scalar(ent("318.1.1.12.1.6.0"), f"{MIB}::rPDUIdentSerialNumber"),
    firmware=Scalar(ent("318.1.1.12.1.3.0"), f"{MIB}::rPDUIdentFirmwareRev"),
    # rPDULoadStatusLoad.1: tenths of amps, phase 1 (the whole unit on single phase).
    inlet_current=Measurement(
        ent("318.1.1.12.2.3.1.1.2.1"), 0.1, "A", f"{MIB}::rPDULoadStatusLoad"
    ),
    inlet_power=Measurement(
        ent("318.1.1.12.1.16.0"), 1.0, "W", f"{MIB}::rPDUIdentDevicePowerWatts"
    ),
    notes="Temperature needs an external probe (not part of the rPDU tables).",
)

APC_RPDU2 = PduFamily(
    key="apc_rpdu2",
    vendor="APC",
    mib=MIB,
    sys_object_ids=(ent("318.1.3.4.6"),),
    on=Command(ent("318.1.1.26.9.2.4.1.5"), 1, f"{MIB}::rPDU2OutletSwitchedControlCommand"),
    off=Command(ent("318.1.1.26.9.2.4.1.5"), 2, f"{MIB}::rPDU2OutletSwitchedControlCommand"),
    reboot=Command(ent("318.1.1.26.9.2.4.1.5"), 3, f"{MIB}::rPDU2OutletSwitchedControlCommand"),
    state=Column(ent("318.1.1.26.9.2.3.1.5"), f"{MIB}::rPDU2OutletSwitchedStatusState"),
    state_on=frozenset({2}),  # on(2)
    state_off=frozenset({1}),  # off(1)
    outlet_name=Column(ent("318.1.1.26.9.2.3.1.3"), f"{MIB}::rPDU2OutletSwitchedStatusName"),
    outlet_count=Scalar(
        ent("318.1.1.26.4.2.1.5.1"), f"{MIB}::rPDU2DevicePropertiesNumSwitchedOutlets"
    ),
    model=Scalar(ent("318.1.1.26.2.1.1.8.1"), f"{MIB}::rPDU2IdentModelNumber"),
    serial=Scalar(ent("318.1.1.26.2.1.1.9.1"), f"{MIB}::rPDU2IdentSerialNumber"),
    firmware=Scalar(ent("318.1.1.26.2.1.1.6.1"), f"{MIB}::rPDU2IdentFirmwareRevision"),
    # rPDU2PhaseStatusCurrent.1: tenths of amps (PowerNet-MIB DESCRIPTION).
    inlet_current=Measurement(
        ent("318.1.1.26.6.3.1.5.1"), 0.1, "A", f"{MIB}::rPDU2PhaseStatusCurrent"
    ),
    # rPDU2DeviceStatusPower.1: hundredths of kW.
    inlet_power=Measurement(
        ent("318.1.1.26.4.3.1.5.1"), 10.0, "W", f"{MIB}::rPDU2DeviceStatusPower"
    ),
    # rPDU2SensorTempHumidityStatusTempC.1: tenths of degrees C, optional probe.
    temperature=Measurement(
        ent("318.1.1.26.10.2.2.1.8.1"), 0.1, "degC", f"{MIB}::rPDU2SensorTempHumidityStatusTempC"
    ),
)
