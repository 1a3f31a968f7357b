"""CyberPower, Vertiv Geist and Dell rack PDUs.

- CyberPower (CPS-MIB, ePDU products 3808.1.1.3): the ePDU outlet table mirrors APC's
  rPDU layout; the command column reads back 1 on / 2 off.
- Vertiv Geist (GEIST-V5-MIB, 21239.5): ctrlOutletTable indexed by outlet only; the
  control column takes on(2)/off(4) and the status column reads on(1)/off(2). There is
  no single reboot value we trust, so reboot is not offered for this family.
- Dell (DellrPDU-MIB, 674.10903.200.2.200): Dell's OEM rack PDU MIB; switched outlet
  status on(1)/off(2)/unknown(3), control outletOn(1)/outletOff(2)/outletReboot(3).
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

CPS = "CPS-MIB"
GEIST = "GEIST-V5-MIB"
DELL = "DellrPDU-MIB"

CYBERPOWER = PduFamily(
    key="cyberpower_epdu",
    vendor="CyberPower",
    mib=CPS,
    sys_object_ids=(ent("3808.1.1.3"),),
    on=Command(ent("3808.1.1.3.3.3.1.1.4"), 1, f"{CPS}::ePDUOutletControlOutletCommand"),
    off=Command(ent("3808.1.1.3.3.3.1.1.4"), 2, f"{CPS}::ePDUOutletControlOutletCommand"),
    reboot=Command(ent("3808.1.1.3.3.3.1.1.4"), 3, f"{CPS}::ePDUOutletControlOutletCommand"),
    state=Column(ent("3808.1.1.3.3.3.1.1.4"), f"{CPS}::ePDUOutletControlOutletCommand"),
    state_on=frozenset({1}),
    state_off=frozenset({2}),
    outlet_name=Column(ent("3808.1.1.3.3.3.1.1.2"), f"{CPS}::ePDUOutletControlOutletName"),
    model=Scalar(ent("3808.1.1.3.1.5.0"), f"{CPS}::ePDUIdentModelNumber"),
    serial=Scalar(ent("3808.1.1.3.1.6.0"), f"{CPS}::ePDUIdentSerialNumber"),
    firmware=Scalar(ent("3808.1.1.3.1.3.0"), f"{CPS}::ePDUIdentFirmwareRev"),
    # ePDULoadStatusLoad.1: tenths of amps
    inlet_current=Measurement(
        ent("3808.1.1.3.2.3.1.1.2.1"), 0.1, "A", f"{CPS}::ePDULoadStatusLoad"
    ),
)

VERTIV_GEIST = PduFamily(
    key="vertiv_geist",
    vendor="Vertiv Geist",
    mib=GEIST,
    sys_object_ids=(ent("21239.5"),),
    on=Command(ent("21239.5.2.3.5.1.6"), 2, f"{GEIST}::ctrlOutletAction"),  # on(2)
    off=Command(ent("21239.5.2.3.5.1.6"), 4, f"{GEIST}::ctrlOutletAction"),  # off(4)
    reboot=None,
    state=Column(ent("21239.5.2.3.5.1.4"), f"{GEIST}::ctrlOutletStatus"),
    state_on=frozenset({1}),
    state_off=frozenset({2}),
    outlet_name=Column(ent("21239.5.2.3.5.1.2"), f"{GEIST}::ctrlOutletName"),
    model=Scalar(ent("21239.5.1.1.2.0"), f"{GEIST}::productTitle"),
    firmware=Scalar(ent("21239.5.1.1.3.0"), f"{GEIST}::productVersion"),
)

DELL_RPDU = PduFamily(
    key="dell_rpdu",
    vendor="Dell",
    mib=DELL,
    sys_object_ids=(ent("674.10903.200.2.200"),),
    on=Command(ent("674.10903.200.2.200.130.1.4.1.4"), 1, f"{DELL}::rPDUOutletSwitchedControlCmd"),
    off=Command(ent("674.10903.200.2.200.130.1.4.1.4"), 2, f"{DELL}::rPDUOutletSwitchedControlCmd"),
    reboot=Command(
        ent("674.10903.200.2.200.130.1.4.1.4"), 3, f"{DELL}::rPDUOutletSwitchedControlCmd"
    ),
    state=Column(ent("674.10903.200.2.200.130.1.2.1.4"), f"{DELL}::rPDUOutletSwitchedStatusState"),
    state_on=frozenset({1}),
    state_off=frozenset({2}),
    outlet_name=Column(
        ent("674.10903.200.2.200.130.1.2.1.3"), f"{DELL}::rPDUOutletSwitchedStatusName"
    ),
    model=Scalar(ent("674.10903.200.2.200.100.2.1.7.1"), f"{DELL}::rPDUIdentModelNumberD"),
    serial=Scalar(ent("674.10903.200.2.200.100.2.1.8.1"), f"{DELL}::rPDUIdentSerialNumberD"),
    firmware=Scalar(ent("674.10903.200.2.200.100.2.1.5.1"), f"{DELL}::rPDUIdentFirmwareRevD"),
    inlet_power=Measurement(
        ent("674.10903.200.2.200.110.2.1.3.1"), 1.0, "W", f"{DELL}::rPDUDeviceStatusPower"
    ),
)
