"""CyberPower, Vertiv/Geist, Dell, Schleifenbauer and Tripp Lite rack PDUs.

- CyberPower (CPS-MIB, ePDU products 3808.1.1.3; a CyberPower UPS is 3808.1.1.1 and has
  no ePDU subtree): the ePDU tables mirror APC's rPDU layout. The state is read from
  ePDUOutletStatusOutletState (1 on, 2 off); ePDUOutletControlOutletCommand takes
  immediateOn(1)/immediateOff(2)/immediateReboot(3).
- Vertiv (VERTIV-V5-MIB, the same tree as GEIST-IMD-MIB, 21239.5.2): the current
  Vertiv/Geist "v5" firmware. pduOutletSwitchState reads on(1)/off(2) (on2off,
  off2on, rebootOn, rebootOff, unavailable are unknown); pduOutletSwitchControl takes
  on(2)/off(4)/reboot(6). Tables are indexed by their own index only (INDEX clauses of
  VERTIV-V5-MIB). The Geist WatchDog sensors speak GEIST-V4-MIB at 21239.5.1 (the
  recorded WatchDog 15 does): they answer neither sentinel, so they are no PDU.
- Geist (GEIST-MIB-V3, 21239.2): ctrlOutletStatus is one read-write Gauge32: it reads
  0 off / 1 on and takes 1 = on, 3 = off immediate, 5 = reboot (its DESCRIPTION).
- Dell (DellrPDU-MIB, 674.10903.200.2.200): Dell's OEM rack PDUs. Switched models
  publish rPDUOutletSwitchedStatusState (on 1, off 2, unknown 3); metered models such
  as the DELL6606 (recorded, sysObjectID 674.10903.200.3.1) publish no switched table
  at all, only rPDUOutletMeteredStatusTable: their outlets are listed from it and are
  not switched. rPDUDeviceStatusPower is in hundredths of kW.
- Schleifenbauer (SCHLEIFENBAUER-DATABUS-MIB, 31034): tables indexed by the unit's
  position on the databus (sdbDevIdIndex, 1 for the first unit) then outlet.
  sdbDevOutSwCurrentState reads and writes off(0)/on(1), but a write "is only
  effective after setting sdbDevOutSwUnlock" (1, for 10 seconds): the driver writes
  the unlock first, in its own SET. DeciAmpere values are hundredths of amps.
- Tripp Lite (TRIPPLITE-PRODUCTS, 850): tlpPdu tables indexed by tlpDeviceIndex (1)
  then outlet; tlpPduOutletState reads unknown(0)/off(1)/on(2), tlpPduOutletCommand
  takes turnOff(1)/turnOn(2)/cycle(3). A Tripp Lite UPS answers no tlpPduIdent row.
  Automatic-transfer-switch PDUs (the recorded PDUMH20ATNET, sysObjectID 850.1.1.1)
  publish the same outlet columns under tlpAts (850.1.1.3.4) instead of tlpPdu
  (850.1.1.3.2): a second family, told apart by tlpAtsIdentNumOutlets.
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

CPS = "CPS-MIB"
VERTIV = "VERTIV-V5-MIB"
GEIST3 = "GEIST-MIB-V3"
DELL = "DellrPDU-MIB"
SDB = "SCHLEIFENBAUER-DATABUS-MIB"
TLP = "TRIPPLITE-PRODUCTS"

CYBERPOWER = PduFamily(
    key="cyberpower_epdu",
    vendor="CyberPower",
    mib=CPS,
    sys_object_ids=(ent("3808.1.1.3"),),
    # The ident model and the first row of the ePDU load table (metered and switched
    # models alike have it); a CyberPower UPS (3808.1.1.1) has neither.
    sentinels=(
        Scalar(ent("3808.1.1.3.1.5.0"), f"{CPS}::ePDUIdentModelNumber"),
        Scalar(ent("3808.1.1.3.2.3.1.1.2.1"), f"{CPS}::ePDULoadStatusLoad"),
    ),
    on=Command(ent("3808.1.1.3.3.3.1.1.4"), 1, f"{CPS}::ePDUOutletControlOutletCommand"),
    off=Command(ent("3808.1.1.3.3.3.1.1.4"), 2, f"{CPS}::ePDUOutletControlOutletCommand"),
    reboot=Command(ent("3808.1.1.3.3.3.1.1.4"), 3, f"{CPS}::ePDUOutletControlOutletCommand"),
    state=Column(ent("3808.1.1.3.3.5.1.1.4"), f"{CPS}::ePDUOutletStatusOutletState"),
    state_on=frozenset({1}),  # outletStatusOn
    state_off=frozenset({2}),  # outletStatusOff
    outlet_name=Column(ent("3808.1.1.3.3.5.1.1.2"), f"{CPS}::ePDUOutletStatusOutletName"),
    outlet_count=Scalar(ent("3808.1.1.3.3.1.4.0"), f"{CPS}::ePDUOutletDevNumTotalOutlets"),
    model=Scalar(ent("3808.1.1.3.1.5.0"), f"{CPS}::ePDUIdentModelNumber"),
    serial=Scalar(ent("3808.1.1.3.1.6.0"), f"{CPS}::ePDUIdentSerialNumber"),
    firmware=Scalar(ent("3808.1.1.3.1.3.0"), f"{CPS}::ePDUIdentFirmwareRev"),
    # ePDULoadStatusLoad.1: tenths of amps, row 1 = phase 1
    inlet_current=Measurement(
        ent("3808.1.1.3.2.3.1.1.2.1"), 0.1, "A", f"{CPS}::ePDULoadStatusLoad"
    ),
)

_V5 = "21239.5.2"

VERTIV_V5 = PduFamily(
    key="vertiv_geist",
    vendor="Vertiv Geist",
    mib=VERTIV,
    sys_object_ids=(ent("21239"),),
    sentinels=(
        Scalar(ent(f"{_V5}.1.1.0"), f"{VERTIV}::productTitle"),
        Scalar(ent(f"{_V5}.3.1.1.2.1"), f"{VERTIV}::pduMainSerial"),
    ),
    on=Command(ent(f"{_V5}.3.5.1.6"), 2, f"{VERTIV}::pduOutletSwitchControl"),  # on(2)
    off=Command(ent(f"{_V5}.3.5.1.6"), 4, f"{VERTIV}::pduOutletSwitchControl"),  # off(4)
    reboot=Command(ent(f"{_V5}.3.5.1.6"), 6, f"{VERTIV}::pduOutletSwitchControl"),  # reboot(6)
    state=Column(ent(f"{_V5}.3.5.1.4"), f"{VERTIV}::pduOutletSwitchState"),
    state_on=frozenset({1}),
    state_off=frozenset({2}),
    outlet_name=Column(ent(f"{_V5}.3.5.1.3"), f"{VERTIV}::pduOutletSwitchLabel"),
    outlet_list=Column(ent(f"{_V5}.3.6.1.3"), f"{VERTIV}::pduOutletMeterLabel"),
    model=Scalar(ent(f"{_V5}.1.8.0"), f"{VERTIV}::productModelNumber"),
    serial=Scalar(ent(f"{_V5}.1.10.0"), f"{VERTIV}::productSerialNumber"),
    firmware=Scalar(ent(f"{_V5}.1.2.0"), f"{VERTIV}::productVersion"),
    # pduTotalRealPower.<pdu 1>: watts
    inlet_power=Measurement(ent(f"{_V5}.3.1.1.9.1"), 1.0, "W", f"{VERTIV}::pduTotalRealPower"),
    notes="Only the first PDU of a chain (pduMainIndex 1) is totalled in inlet/power.",
)

GEIST_V3 = PduFamily(
    key="geist_v3",
    vendor="Geist",
    mib=GEIST3,
    sys_object_ids=(ent("21239.2"),),
    sentinels=(
        Scalar(ent("21239.2.1.1.0"), f"{GEIST3}::productTitle"),
        Scalar(ent("21239.2.16.1.2.1"), f"{GEIST3}::ctrlOutletName"),
    ),
    on=Command(ent("21239.2.16.1.3"), 1, f"{GEIST3}::ctrlOutletStatus", gauge=True),
    off=Command(ent("21239.2.16.1.3"), 3, f"{GEIST3}::ctrlOutletStatus", gauge=True),
    reboot=Command(ent("21239.2.16.1.3"), 5, f"{GEIST3}::ctrlOutletStatus", gauge=True),
    state=Column(ent("21239.2.16.1.3"), f"{GEIST3}::ctrlOutletStatus"),
    state_on=frozenset({1}),
    state_off=frozenset({0}),
    outlet_name=Column(ent("21239.2.16.1.2"), f"{GEIST3}::ctrlOutletName"),
    outlet_count=Scalar(ent("21239.2.1.8.1.16.0"), f"{GEIST3}::ctrlOutletCount"),
    model=Scalar(ent("21239.2.1.1.0"), f"{GEIST3}::productTitle"),
    firmware=Scalar(ent("21239.2.1.2.0"), f"{GEIST3}::productVersion"),
)

_DELL = "674.10903.200.2.200"

DELL_RPDU = PduFamily(
    key="dell_rpdu",
    vendor="Dell",
    mib=DELL,
    sys_object_ids=(ent("674.10903.200"),),
    sentinels=(Scalar(ent(f"{_DELL}.100.2.1.7.1"), f"{DELL}::rPDUIdentModelNumberD"),),
    on=Command(ent(f"{_DELL}.130.1.4.1.4"), 1, f"{DELL}::rPDUOutletSwitchedControlCmd"),
    off=Command(ent(f"{_DELL}.130.1.4.1.4"), 2, f"{DELL}::rPDUOutletSwitchedControlCmd"),
    reboot=Command(ent(f"{_DELL}.130.1.4.1.4"), 3, f"{DELL}::rPDUOutletSwitchedControlCmd"),
    state=Column(ent(f"{_DELL}.130.1.2.1.4"), f"{DELL}::rPDUOutletSwitchedStatusState"),
    state_on=frozenset({1}),
    state_off=frozenset({2}),
    outlet_name=Column(ent(f"{_DELL}.130.1.2.1.3"), f"{DELL}::rPDUOutletSwitchedStatusName"),
    outlet_list=Column(ent(f"{_DELL}.130.2.2.1.3"), f"{DELL}::rPDUOutletMeteredStatusName"),
    outlet_count=Scalar(ent(f"{_DELL}.110.4.1.3.1"), f"{DELL}::rPDUDevicePropertiesNumOutlets"),
    model=Scalar(ent(f"{_DELL}.100.2.1.7.1"), f"{DELL}::rPDUIdentModelNumberD"),
    serial=Scalar(ent(f"{_DELL}.100.2.1.8.1"), f"{DELL}::rPDUIdentSerialNumberD"),
    firmware=Scalar(ent(f"{_DELL}.100.2.1.5.1"), f"{DELL}::rPDUIdentFirmwareRevD"),
    # rPDUPhaseStatusCurrent.1: tenths of amps, phase 1
    inlet_current=Measurement(
        ent(f"{_DELL}.120.2.1.4.1"), 0.1, "A", f"{DELL}::rPDUPhaseStatusCurrent"
    ),
    # rPDUDeviceStatusPower.1: "in 1/100 of KWatts"
    inlet_power=Measurement(
        ent(f"{_DELL}.110.2.1.3.1"), 10.0, "W", f"{DELL}::rPDUDeviceStatusPower"
    ),
)

_SDB = "31034.12.1.1.2"  # sdbDevice
_UNIT = 1  # sdbDevIdIndex of the first unit on the databus

SCHLEIFENBAUER = PduFamily(
    key="schleifenbauer",
    vendor="Schleifenbauer",
    mib=SDB,
    sys_object_ids=(ent("31034"),),
    sentinels=(Scalar(ent(f"{_SDB}.1.1.1.5.{_UNIT}"), f"{SDB}::sdbDevIdProductId"),),
    on=Command(ent(f"{_SDB}.7.3.1.2.{_UNIT}"), 1, f"{SDB}::sdbDevOutSwCurrentState"),
    off=Command(ent(f"{_SDB}.7.3.1.2.{_UNIT}"), 0, f"{SDB}::sdbDevOutSwCurrentState"),
    reboot=Command(ent(f"{_SDB}.7.3.1.6.{_UNIT}"), 1, f"{SDB}::sdbDevOutSwReboot"),
    unlock=Command(ent(f"{_SDB}.7.3.1.4.{_UNIT}"), 1, f"{SDB}::sdbDevOutSwUnlock"),
    state=Column(ent(f"{_SDB}.7.3.1.2.{_UNIT}"), f"{SDB}::sdbDevOutSwCurrentState"),
    state_on=frozenset({1}),
    state_off=frozenset({0}),
    outlet_name=Column(ent(f"{_SDB}.7.1.1.2.{_UNIT}"), f"{SDB}::sdbDevOutName"),
    outlet_list=Column(ent(f"{_SDB}.7.1.1.2.{_UNIT}"), f"{SDB}::sdbDevOutName"),
    outlet_count=Scalar(ent(f"{_SDB}.2.1.1.2.{_UNIT}"), f"{SDB}::sdbDevCfOutletsTotal"),
    model=Scalar(ent(f"{_SDB}.1.1.1.5.{_UNIT}"), f"{SDB}::sdbDevIdProductId"),
    serial=Scalar(ent(f"{_SDB}.1.1.1.6.{_UNIT}"), f"{SDB}::sdbDevIdSerialNumber"),
    firmware=Scalar(ent(f"{_SDB}.1.1.1.2.{_UNIT}"), f"{SDB}::sdbDevIdFirmwareVersion"),
    # sdbDevInActualCurrent.<unit>.<inlet 1>: DeciAmpere, DISPLAY-HINT "d-2"
    inlet_current=Measurement(
        ent(f"{_SDB}.6.1.1.5.{_UNIT}.1"), 0.01, "A", f"{SDB}::sdbDevInActualCurrent"
    ),
    inlet_power=Measurement(
        ent(f"{_SDB}.6.1.1.10.{_UNIT}.1"), 1.0, "W", f"{SDB}::sdbDevInPowerWatt"
    ),
    notes="Only the first unit on the databus (sdbDevIdIndex 1) is read.",
)

_TLP = "850.1.1.3.2"  # tlpPdu
_DEV = 1  # tlpDeviceIndex

TRIPP_LITE = PduFamily(
    key="tripplite_pdu",
    vendor="Tripp Lite",
    mib=TLP,
    sys_object_ids=(ent("850"),),
    sentinels=(Scalar(ent(f"{_TLP}.1.2.1.4.{_DEV}"), f"{TLP}::tlpPduIdentNumOutlets"),),
    on=Command(ent(f"{_TLP}.3.3.1.1.6.{_DEV}"), 2, f"{TLP}::tlpPduOutletCommand"),  # turnOn
    off=Command(ent(f"{_TLP}.3.3.1.1.6.{_DEV}"), 1, f"{TLP}::tlpPduOutletCommand"),  # turnOff
    reboot=Command(ent(f"{_TLP}.3.3.1.1.6.{_DEV}"), 3, f"{TLP}::tlpPduOutletCommand"),  # cycle
    state=Column(ent(f"{_TLP}.3.3.1.1.4.{_DEV}"), f"{TLP}::tlpPduOutletState"),
    state_on=frozenset({2}),
    state_off=frozenset({1}),
    outlet_name=Column(ent(f"{_TLP}.3.3.1.1.2.{_DEV}"), f"{TLP}::tlpPduOutletName"),
    outlet_count=Scalar(ent(f"{_TLP}.1.2.1.4.{_DEV}"), f"{TLP}::tlpPduIdentNumOutlets"),
    model=Scalar(ent(f"850.1.1.1.2.1.5.{_DEV}"), f"{TLP}::tlpDeviceModel"),
    serial=Scalar(ent(f"850.1.1.2.1.1.5.{_DEV}"), f"{TLP}::tlpDeviceIdentSerialNum"),
    firmware=Scalar(ent(f"850.1.1.2.1.1.4.{_DEV}"), f"{TLP}::tlpDeviceIdentFirmwareVersion"),
    # tlpPduInputPhaseCurrent.<device>.<phase 1>: UNITS "0.01 Amps"
    inlet_current=Measurement(
        ent(f"{_TLP}.3.1.2.1.7.{_DEV}.1"), 0.01, "A", f"{TLP}::tlpPduInputPhaseCurrent"
    ),
)

_ATS = "850.1.1.3.4"  # tlpAts

TRIPP_LITE_ATS = PduFamily(
    key="tripplite_ats",
    vendor="Tripp Lite",
    mib=TLP,
    sys_object_ids=(ent("850"),),
    sentinels=(Scalar(ent(f"{_ATS}.1.2.1.4.{_DEV}"), f"{TLP}::tlpAtsIdentNumOutlets"),),
    on=Command(ent(f"{_ATS}.3.3.1.1.6.{_DEV}"), 2, f"{TLP}::tlpAtsOutletCommand"),  # turnOn
    off=Command(ent(f"{_ATS}.3.3.1.1.6.{_DEV}"), 1, f"{TLP}::tlpAtsOutletCommand"),  # turnOff
    reboot=Command(ent(f"{_ATS}.3.3.1.1.6.{_DEV}"), 3, f"{TLP}::tlpAtsOutletCommand"),  # cycle
    state=Column(ent(f"{_ATS}.3.3.1.1.4.{_DEV}"), f"{TLP}::tlpAtsOutletState"),
    state_on=frozenset({2}),
    state_off=frozenset({1}),
    outlet_name=Column(ent(f"{_ATS}.3.3.1.1.2.{_DEV}"), f"{TLP}::tlpAtsOutletName"),
    outlet_count=Scalar(ent(f"{_ATS}.1.2.1.4.{_DEV}"), f"{TLP}::tlpAtsIdentNumOutlets"),
    model=Scalar(ent(f"850.1.1.1.2.1.5.{_DEV}"), f"{TLP}::tlpDeviceModel"),
    serial=Scalar(ent(f"850.1.1.2.1.1.5.{_DEV}"), f"{TLP}::tlpDeviceIdentSerialNum"),
    firmware=Scalar(ent(f"850.1.1.2.1.1.4.{_DEV}"), f"{TLP}::tlpDeviceIdentFirmwareVersion"),
    # tlpAtsOutputCurrent.<device>.<output 1>: UNITS "0.01 Amps", the whole load
    inlet_current=Measurement(
        ent(f"{_ATS}.3.2.1.1.5.{_DEV}.1"), 0.01, "A", f"{TLP}::tlpAtsOutputCurrent"
    ),
)
