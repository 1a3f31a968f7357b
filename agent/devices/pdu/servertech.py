"""Server Technology Sentry PDUs (enterprise 1718).

- Sentry3-MIB (CW/CX "Switched CDU", sysObjectID 1718.3): every table is indexed by
  tower (1 master, 2.. linked towers), infeed, outlet: ``outletStatus.<tower>.<infeed>.
  <outlet>``. All towers are read. Outlets are numbered 1..N across towers in index
  order (tower A's infeeds and outlets first, then tower B's), so numbers are unique;
  each outlet is named by its outletID, which Sentry prints on the hardware
  ("AA1" = tower A, infeed A, outlet 1; "BA8" = tower B, infeed A, outlet 8).
  outletStatus codes: off(0) on(1) offWait(2) onWait(3) offError(4) onError(5)
  noComm(6) reading(7) offFuse(8) onFuse(9). towerModelNumber is column 7 and
  towerProductSN column 6 of towerEntry (Sentry3-MIB).
- Sentry4-MIB (PRO1/PRO2, sysObjectID 1718.4): indexed by unit.cord.outlet; all units
  are read and numbered the same way, named by st4OutletID. st4OutletControlState
  reads the relay: notSet(0) fixedOn(1) idleOff(2) idleOn(3) wakeOff(4) wakeOn(5)
  ocpOff(6) ocpOn(7) pendOn(8) pendOff(9) off(10) on(11) reboot(12) shutdown(13)
  lockedOff(14) lockedOn(15) eventOff(16) eventOn(17) eventReboot(18)
  eventShutdown(19). Pending, reboot and shutdown count as unknown. Input-cord power
  is st4InputCordActivePower (Watts, indexed unit.cord); currents are per line
  (st4LineCurrent) and branch (st4BranchCurrent), in hundredths of amps.
"""

from __future__ import annotations

from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar, ent

MIB3 = "Sentry3-MIB"
MIB4 = "Sentry4-MIB"

SENTRY3 = PduFamily(
    key="servertech_sentry3",
    vendor="Server Technology",
    mib=MIB3,
    sys_object_ids=(ent("1718.3"),),
    sentinels=(
        Scalar(ent("1718.3.1.1.0"), f"{MIB3}::systemVersion"),
        Scalar(ent("1718.3.2.1.1.7.1"), f"{MIB3}::towerModelNumber"),
    ),
    on=Command(ent("1718.3.2.3.1.11"), 1, f"{MIB3}::outletControlAction"),  # on(1)
    off=Command(ent("1718.3.2.3.1.11"), 2, f"{MIB3}::outletControlAction"),  # off(2)
    reboot=Command(ent("1718.3.2.3.1.11"), 3, f"{MIB3}::outletControlAction"),  # reboot(3)
    state=Column(ent("1718.3.2.3.1.5"), f"{MIB3}::outletStatus"),
    state_on=frozenset({1, 5, 9}),
    state_off=frozenset({0, 4, 8}),
    outlet_name=Column(ent("1718.3.2.3.1.2"), f"{MIB3}::outletID"),
    index_arcs=3,  # tower.infeed.outlet
    model=Scalar(ent("1718.3.2.1.1.7.1"), f"{MIB3}::towerModelNumber"),
    serial=Scalar(ent("1718.3.2.1.1.6.1"), f"{MIB3}::towerProductSN"),
    firmware=Scalar(ent("1718.3.1.1.0"), f"{MIB3}::systemVersion"),
    # systemTotalPower: watts, every tower and infeed together.
    inlet_power=Measurement(ent("1718.3.1.6.0"), 1.0, "W", f"{MIB3}::systemTotalPower"),
    notes=(
        "Outlet count is the number of outlet rows over all towers (no single scalar). "
        "Temperatures (tempHumidSensorTempValue) follow tempHumidSensorTempScale, "
        "celsius or fahrenheit, and are not read."
    ),
)

SENTRY4 = PduFamily(
    key="servertech_sentry4",
    vendor="Server Technology",
    mib=MIB4,
    sys_object_ids=(ent("1718.4"),),
    sentinels=(
        Scalar(ent("1718.4.1.1.1.3.0"), f"{MIB4}::st4SystemFirmwareVersion"),
        Scalar(ent("1718.4.1.2.2.1.5.1"), f"{MIB4}::st4UnitModel"),
    ),
    on=Command(ent("1718.4.1.8.5.1.2"), 1, f"{MIB4}::st4OutletControlAction"),  # on(1)
    off=Command(ent("1718.4.1.8.5.1.2"), 2, f"{MIB4}::st4OutletControlAction"),  # off(2)
    reboot=Command(ent("1718.4.1.8.5.1.2"), 3, f"{MIB4}::st4OutletControlAction"),
    state=Column(ent("1718.4.1.8.5.1.1"), f"{MIB4}::st4OutletControlState"),
    state_on=frozenset({1, 3, 5, 7, 11, 15, 17}),
    state_off=frozenset({2, 4, 6, 10, 14, 16}),
    outlet_name=Column(ent("1718.4.1.8.2.1.2"), f"{MIB4}::st4OutletID"),
    outlet_list=Column(ent("1718.4.1.8.2.1.2"), f"{MIB4}::st4OutletID"),
    index_arcs=3,  # unit.cord.outlet
    model=Scalar(ent("1718.4.1.2.2.1.5.1"), f"{MIB4}::st4UnitModel"),
    serial=Scalar(ent("1718.4.1.2.2.1.4.1"), f"{MIB4}::st4UnitProductSN"),
    firmware=Scalar(ent("1718.4.1.1.1.3.0"), f"{MIB4}::st4SystemFirmwareVersion"),
    # st4InputCordActivePower.<unit 1>.<cord 1>: watts
    inlet_power=Measurement(
        ent("1718.4.1.3.3.1.3.1.1"), 1.0, "W", f"{MIB4}::st4InputCordActivePower"
    ),
    notes="Outlet count is the number of outlet rows over all units (no single scalar).",
)
