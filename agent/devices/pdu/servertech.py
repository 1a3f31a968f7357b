"""Server Technology Sentry PDUs (enterprise 1718).

- Sentry3-MIB (CW/CX "Switched CDU", sysObjectID 1718.3): tables indexed by
  tower.infeed.outlet; for the master tower's first infeed that is ``.1.1.N``.
  outletStatus codes: off(0) on(1) offWait(2) onWait(3) offError(4) onError(5)
  noComm(6) reading(7) offFuse(8) onFuse(9).
- Sentry4-MIB (PRO1/PRO2, sysObjectID 1718.4): indexed by unit.branch(.outlet) =
  ``.1.1.N`` for the first unit; st4OutletState reads the relay's OutletControlState:
  fixedOn(1) idleOff(2) idleOn(3) wakeOff(4) wakeOn(5) ocpOff(6) ocpOn(7) pendOn(8)
  pendOff(9) off(10) on(11) reboot(12) shutdown(13) lockedOff(14) lockedOn(15)
  eventOff(16) eventOn(17). Pending, reboot and shutdown count as unknown.
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
    on=Command(ent("1718.3.2.3.1.11.1.1"), 1, f"{MIB3}::outletControlAction"),  # on(1)
    off=Command(ent("1718.3.2.3.1.11.1.1"), 2, f"{MIB3}::outletControlAction"),  # off(2)
    reboot=Command(ent("1718.3.2.3.1.11.1.1"), 3, f"{MIB3}::outletControlAction"),
    state=Column(ent("1718.3.2.3.1.5.1.1"), f"{MIB3}::outletStatus"),
    state_on=frozenset({1, 5, 9}),
    state_off=frozenset({0, 4, 8}),
    outlet_name=Column(ent("1718.3.2.3.1.3.1.1"), f"{MIB3}::outletName"),
    outlet_count=Scalar(ent("1718.3.2.2.1.9.1.1"), f"{MIB3}::infeedOutletCount"),
    model=Scalar(ent("1718.3.2.1.1.5.1"), f"{MIB3}::towerModelNumber"),
    serial=Scalar(ent("1718.3.2.1.1.4.1"), f"{MIB3}::towerProductSN"),
    firmware=Scalar(ent("1718.3.1.1.0"), f"{MIB3}::systemVersion"),
    # infeedLoadValue.1.1: hundredths of amps
    inlet_current=Measurement(ent("1718.3.2.2.1.7.1.1"), 0.01, "A", f"{MIB3}::infeedLoadValue"),
    inlet_power=Measurement(ent("1718.3.2.2.1.12.1.1"), 1.0, "W", f"{MIB3}::infeedPower"),
    # tempHumidSensorTempValue.1.1: tenths of a degree
    temperature=Measurement(
        ent("1718.3.2.5.1.6.1.1"), 0.1, "degC", f"{MIB3}::tempHumidSensorTempValue"
    ),
)

SENTRY4 = PduFamily(
    key="servertech_sentry4",
    vendor="Server Technology",
    mib=MIB4,
    sys_object_ids=(ent("1718.4"),),
    on=Command(ent("1718.4.1.8.5.1.2.1.1"), 1, f"{MIB4}::st4OutletControlAction"),  # on(1)
    off=Command(ent("1718.4.1.8.5.1.2.1.1"), 2, f"{MIB4}::st4OutletControlAction"),
    reboot=Command(ent("1718.4.1.8.5.1.2.1.1"), 3, f"{MIB4}::st4OutletControlAction"),
    state=Column(ent("1718.4.1.8.5.1.1.1.1"), f"{MIB4}::st4OutletControlState"),
    state_on=frozenset({1, 3, 5, 7, 11, 15, 17}),
    state_off=frozenset({2, 4, 6, 10, 14, 16}),
    outlet_name=Column(ent("1718.4.1.8.2.1.3.1.1"), f"{MIB4}::st4OutletName"),
    model=Scalar(ent("1718.4.1.2.2.1.11.1"), f"{MIB4}::st4UnitModel"),
    serial=Scalar(ent("1718.4.1.2.2.1.4.1"), f"{MIB4}::st4UnitProductSN"),
    firmware=Scalar(ent("1718.4.1.1.1.3.0"), f"{MIB4}::st4SystemFirmwareVersion"),
    notes=(
        "Outlet count comes from the state column (no single scalar for it). Unit "
        "identity OIDs are from the Sentry4-MIB text; verify against a recording."
    ),
)
