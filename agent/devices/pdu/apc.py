"""APC rack PDUs (enterprise 318): PowerNet-MIB rPDU and rPDU2, and CPDU-MIB.

Three generations, three subtrees of ``products.hardware`` (318.1.1):
- rPDU (12): the first switched/metered rack PDUs. The state is read from
  rPDUOutletStatusOutletState (1 on, 2 off); the control column only takes commands.
- rPDU2 (26): AP84xx/86xx/88xx/89xx with "rpdu2g" firmware. Its tables are
  ``26.<group>.<table>.<entry=1>.<column>.<row>`` except the ident table, which sits
  directly under rPDU2 (rPDU2IdentTable = 26.2, rPDU2IdentModelNumber.1 =
  26.2.1.8.1), as PowerNet-MIB v4.5.8 says and the recorded AP7902B, AP8641 and
  AP8932 answer. The status column codes off(1)/on(2), the opposite of rPDU.
- cPDU (32, ``cPDU OBJECT IDENTIFIER ::= { hardware 32 }`` since PowerNet-MIB v4.3.9):
  the newer APC rack PDUs, described by APC's separate CPDU-MIB (revision 1.3,
  2021); tables are indexed by unit (1 for a standalone PDU) then outlet.

The recorded rpdu2g firmware (AP7902B sysObjectID 318.1.3.4.8, AP8641 and AP8932
318.1.3.4.6) publishes the rPDU tables *and* the rPDU2 tables: both families' sentinels
answer and the sysObjectID hint picks rPDU2. An emulator that serves only the rPDU
tables (virtualpdu) fails the rPDU2 sentinels whatever sysObjectID it claims.
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

MIB = "PowerNet-MIB"
CPDU = "CPDU-MIB"

APC_RPDU = PduFamily(
    key="apc_rpdu",
    vendor="APC",
    mib=MIB,
    sys_object_ids=(ent("318.1.3.4.5"),),  # masterSwitchrPDU
    # The first outlet's status row: every rPDU has it, and so does virtualpdu, which
    # serves no rPDUIdent group at all (and rPDULoadStatusLoad without an instance).
    sentinels=(Scalar(ent("318.1.1.12.3.5.1.1.4.1"), f"{MIB}::rPDUOutletStatusOutletState"),),
    on=Command(ent("318.1.1.12.3.3.1.1.4"), 1, f"{MIB}::rPDUOutletControlOutletCommand"),
    off=Command(ent("318.1.1.12.3.3.1.1.4"), 2, f"{MIB}::rPDUOutletControlOutletCommand"),
    reboot=Command(ent("318.1.1.12.3.3.1.1.4"), 3, f"{MIB}::rPDUOutletControlOutletCommand"),
    state=Column(ent("318.1.1.12.3.5.1.1.4"), f"{MIB}::rPDUOutletStatusOutletState"),
    state_on=frozenset({1}),  # outletStatusOn
    state_off=frozenset({2}),  # outletStatusOff
    # The config table's name column: the recorded devices and virtualpdu both serve it.
    outlet_name=Column(ent("318.1.1.12.3.4.1.1.2"), f"{MIB}::rPDUOutletConfigOutletName"),
    outlet_count=Scalar(ent("318.1.1.12.3.1.4.0"), f"{MIB}::rPDUOutletDevNumTotalOutlets"),
    model=Scalar(ent("318.1.1.12.1.5.0"), f"{MIB}::rPDUIdentModelNumber"),
    serial=Scalar(ent("318.1.1.12.1.6.0"), f"{MIB}::rPDUIdentSerialNumber"),
    firmware=Scalar(ent("318.1.1.12.1.3.0"), f"{MIB}::rPDUIdentFirmwareRev"),
    # rPDULoadStatusLoad.1: tenths of amps, row 1 = phase 1 (the whole unit on single phase).
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
    # masterSwitchrPDU2 (AP8641, AP8932) and masterSwitchrPDUB (AP7902B, rpdu2g firmware)
    sys_object_ids=(ent("318.1.3.4.6"), ent("318.1.3.4.8")),
    sentinels=(Scalar(ent("318.1.1.26.2.1.8.1"), f"{MIB}::rPDU2IdentModelNumber"),),
    on=Command(ent("318.1.1.26.9.2.4.1.5"), 1, f"{MIB}::rPDU2OutletSwitchedControlCommand"),
    off=Command(ent("318.1.1.26.9.2.4.1.5"), 2, f"{MIB}::rPDU2OutletSwitchedControlCommand"),
    reboot=Command(ent("318.1.1.26.9.2.4.1.5"), 3, f"{MIB}::rPDU2OutletSwitchedControlCommand"),
    state=Column(ent("318.1.1.26.9.2.3.1.5"), f"{MIB}::rPDU2OutletSwitchedStatusState"),
    state_on=frozenset({2}),  # on(2)
    state_off=frozenset({1}),  # off(1)
    outlet_name=Column(ent("318.1.1.26.9.2.3.1.3"), f"{MIB}::rPDU2OutletSwitchedStatusName"),
    outlet_list=Column(ent("318.1.1.26.9.4.3.1.3"), f"{MIB}::rPDU2OutletMeteredStatusName"),
    outlet_count=Scalar(ent("318.1.1.26.4.2.1.4.1"), f"{MIB}::rPDU2DevicePropertiesNumOutlets"),
    model=Scalar(ent("318.1.1.26.2.1.8.1"), f"{MIB}::rPDU2IdentModelNumber"),
    serial=Scalar(ent("318.1.1.26.2.1.9.1"), f"{MIB}::rPDU2IdentSerialNumber"),
    firmware=Scalar(ent("318.1.1.26.2.1.6.1"), f"{MIB}::rPDU2IdentFirmwareRev"),
    # rPDU2PhaseStatusCurrent.1: tenths of amps (PowerNet-MIB DESCRIPTION), phase 1.
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

_CPDU_UNIT = 1  # pduUnitStatusIndex / pduUnitConfigIndex of a standalone PDU

APC_CPDU = PduFamily(
    key="apc_cpdu",
    vendor="APC",
    mib=CPDU,
    sys_object_ids=(),  # no product OID published for it in PowerNet-MIB: sentinels only
    sentinels=(Scalar(ent("318.1.1.32.1.2.1.10.1"), f"{CPDU}::pduNamePlateModelNumber"),),
    on=Command(
        ent(f"318.1.1.32.5.5.1.4.{_CPDU_UNIT}"), 2, f"{CPDU}::pduOutletSwitchedControlCommand"
    ),  # immediateOn(2)
    off=Command(
        ent(f"318.1.1.32.5.5.1.4.{_CPDU_UNIT}"), 1, f"{CPDU}::pduOutletSwitchedControlCommand"
    ),  # immediateOff(1)
    reboot=Command(
        ent(f"318.1.1.32.5.5.1.4.{_CPDU_UNIT}"), 5, f"{CPDU}::pduOutletSwitchedControlCommand"
    ),  # immediateReboot(5)
    state=Column(ent(f"318.1.1.32.5.4.1.4.{_CPDU_UNIT}"), f"{CPDU}::pduOutletSwitchedStatusState"),
    state_on=frozenset({1}),  # on(1)
    state_off=frozenset({0}),  # off(0)
    outlet_name=Column(
        ent(f"318.1.1.32.5.4.1.3.{_CPDU_UNIT}"), f"{CPDU}::pduOutletSwitchedStatusName"
    ),
    outlet_list=Column(
        ent(f"318.1.1.32.5.9.1.3.{_CPDU_UNIT}"), f"{CPDU}::pduOutletMeteredStatusName"
    ),
    outlet_count=Scalar(
        ent(f"318.1.1.32.2.3.1.3.{_CPDU_UNIT}"), f"{CPDU}::pduUnitPropertiesOutletCount"
    ),
    model=Scalar(ent("318.1.1.32.1.2.1.10.1"), f"{CPDU}::pduNamePlateModelNumber"),
    serial=Scalar(ent("318.1.1.32.1.2.1.12.1"), f"{CPDU}::pduNamePlateSerialNumber"),
    firmware=Scalar(ent("318.1.1.32.1.2.1.14.1"), f"{CPDU}::pduNamePlateFirmwareVersion"),
    # pduInputPhaseStatusCurrent.<unit>.<phase 1>: hundredths of amps
    inlet_current=Measurement(
        ent(f"318.1.1.32.3.4.1.5.{_CPDU_UNIT}.1"), 0.01, "A", f"{CPDU}::pduInputPhaseStatusCurrent"
    ),
    # pduUnitStatusActivePower.<unit>: watts
    inlet_power=Measurement(
        ent(f"318.1.1.32.2.4.1.4.{_CPDU_UNIT}"), 1.0, "W", f"{CPDU}::pduUnitStatusActivePower"
    ),
    notes="No recording of a cPDU was available: OIDs are from CPDU-MIB revision 1.3 only.",
)
