"""A UPS under RFC 1628 UPS-MIB (1.3.6.1.2.1.33).

The battery is an energy store: on battery it drains at the present load, on mains it
recharges. Energy is integrated over the time elapsed since the last reading whenever the
model settles (every request), so the runtime follows the clock (a fake one in tests),
not a timer task.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.sim.snmp import values as v
from agent.sim.snmp.device import Clock, SimDevice
from agent.sim.snmp.faults import SimCredentials
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.values import Tag

UPS_MIB = (1, 3, 6, 1, 2, 1, 33, 1)  # UPS-MIB::upsObjects
IDENT = (*UPS_MIB, 1)
BATTERY = (*UPS_MIB, 2)
INPUT = (*UPS_MIB, 3)
OUTPUT = (*UPS_MIB, 4)

# upsBatteryStatus
BATTERY_NORMAL, BATTERY_LOW, BATTERY_DEPLETED = 2, 3, 4
# upsOutputSource
SOURCE_NORMAL, SOURCE_BATTERY = 3, 5


@dataclass(frozen=True)
class UpsSpec:
    id: str
    manufacturer: str = "Eaton"
    model: str = "9PX 3000i RT2U"
    firmware: str = "INV: 01.14.0019"
    agent_firmware: str = "Network-M2 2.4.1"
    rated_w: float = 3000.0
    battery_wh: float = 1200.0
    load_w: float = 900.0
    feeds: tuple[str, ...] = ()  # PDU ids whose inlet power is this UPS's load
    input_voltage_v: float = 230.0
    low_battery_min: float = 5.0
    recharge_w: float = 300.0
    credentials: SimCredentials = field(default_factory=SimCredentials)
    sys_object_id: tuple[int, ...] = (1, 3, 6, 1, 4, 1, 534, 1)  # XUPS-MIB::xupsMIB (Eaton)
    port: int = 0

    def __post_init__(self) -> None:
        where = f"UpsSpec {self.id!r}"
        for name in ("rated_w", "battery_wh", "input_voltage_v"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{where}: {name} must be positive")
        if not 0 <= self.load_w <= self.rated_w * 1.5:
            raise ValueError(f"{where}: load_w {self.load_w} outside 0..1.5 x rated_w")


class UpsModel(SimDevice):
    kind = "ups"

    def __init__(
        self,
        spec: UpsSpec,
        set_log: SetLog,
        clock: Clock = time.monotonic,
        load_source: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(
            spec.id,
            sys_descr=f"{spec.manufacturer} {spec.model} {spec.agent_firmware}",
            sys_object_id=spec.sys_object_id,
            credentials=spec.credentials,
            set_log=set_log,
            clock=clock,
        )
        self.spec = spec
        self.load_source = load_source
        self.energy_wh = spec.battery_wh
        self.on_battery_since: float | None = None
        self._last = clock()
        self._add_objects()

    # -- state ----------------------------------------------------------------------

    def load_w(self) -> float:
        return self.load_source() if self.load_source is not None else self.spec.load_w

    def settle(self) -> None:
        now = self.clock()
        hours = max(0.0, now - self._last) / 3600
        self._last = now
        if self.on_battery_since is not None:
            self.energy_wh = max(0.0, self.energy_wh - self.load_w() * hours)
        else:
            self.energy_wh = min(
                self.spec.battery_wh, self.energy_wh + self.spec.recharge_w * hours
            )

    def charge_pct(self) -> float:
        return 100 * self.energy_wh / self.spec.battery_wh

    def minutes_remaining(self) -> float:
        return 60 * self.energy_wh / max(self.load_w(), 1.0)

    def seconds_on_battery(self) -> float:
        return 0.0 if self.on_battery_since is None else self.clock() - self.on_battery_since

    def battery_status(self) -> int:
        if self.energy_wh <= 0:
            return BATTERY_DEPLETED
        return (
            BATTERY_LOW if self.minutes_remaining() < self.spec.low_battery_min else BATTERY_NORMAL
        )

    # -- faults ---------------------------------------------------------------------

    def mains_lost(self) -> None:
        """Fault: the mains fails; the UPS carries the load on battery."""
        self.settle()
        if self.on_battery_since is None:
            self.on_battery_since = self.clock()
            self.log_power(self.on_battery_since, "ups.source", "battery")

    def mains_restored(self) -> None:
        self.settle()
        if self.on_battery_since is not None:
            self.on_battery_since = None
            self.log_power(self.clock(), "ups.source", "mains")

    # -- UPS-MIB ----------------------------------------------------------------------

    def _add_objects(self) -> None:
        m = self.mib
        s = self.spec
        m.constant((*IDENT, 1, 0), v.octets(s.manufacturer))  # upsIdentManufacturer
        m.constant((*IDENT, 2, 0), v.octets(s.model))  # upsIdentModel
        m.constant((*IDENT, 3, 0), v.octets(s.firmware))  # upsIdentUPSSoftwareVersion
        m.constant((*IDENT, 4, 0), v.octets(s.agent_firmware))  # upsIdentAgentSoftwareVersion
        m.scalar((*IDENT, 5, 0), Tag.OCTET_STRING, lambda: v.octets(self.sys_name))  # upsIdentName
        m.scalar((*BATTERY, 1, 0), Tag.INTEGER, lambda: v.integer(self.battery_status()))
        m.scalar(  # upsSecondsOnBattery (NonZeroTimeStamp-like seconds)
            (*BATTERY, 2, 0), Tag.INTEGER, lambda: v.integer(int(self.seconds_on_battery()))
        )
        m.scalar(  # upsEstimatedMinutesRemaining
            (*BATTERY, 3, 0), Tag.INTEGER, lambda: v.integer(int(self.minutes_remaining()))
        )
        m.scalar(  # upsEstimatedChargeRemaining, percent
            (*BATTERY, 4, 0), Tag.INTEGER, lambda: v.integer(round(self.charge_pct()))
        )
        m.constant((*BATTERY, 5, 0), v.integer(546))  # upsBatteryVoltage, 0.1 V DC
        m.constant((*BATTERY, 7, 0), v.integer(25))  # upsBatteryTemperature, degrees C

        def on_mains() -> bool:
            return self.on_battery_since is None

        m.constant((*INPUT, 1, 0), v.counter32(0))  # upsInputLineBads
        m.constant((*INPUT, 2, 0), v.integer(1))  # upsInputNumLines
        m.constant((*INPUT, 3, 1, 1, 1), v.integer(1))  # upsInputLineIndex
        m.scalar(  # upsInputFrequency, 0.1 Hz
            (*INPUT, 3, 1, 2, 1), Tag.INTEGER, lambda: v.integer(500 if on_mains() else 0)
        )
        m.scalar(  # upsInputVoltage, RMS V
            (*INPUT, 3, 1, 3, 1),
            Tag.INTEGER,
            lambda: v.integer(round(s.input_voltage_v) if on_mains() else 0),
        )
        m.scalar(  # upsOutputSource
            (*OUTPUT, 1, 0),
            Tag.INTEGER,
            lambda: v.integer(SOURCE_NORMAL if on_mains() else SOURCE_BATTERY),
        )
        m.constant((*OUTPUT, 2, 0), v.integer(500))  # upsOutputFrequency, 0.1 Hz
        m.constant((*OUTPUT, 3, 0), v.integer(1))  # upsOutputNumLines
        m.constant((*OUTPUT, 4, 1, 1, 1), v.integer(1))  # upsOutputLineIndex
        m.constant((*OUTPUT, 4, 1, 2, 1), v.integer(230))  # upsOutputVoltage
        m.scalar(  # upsOutputCurrent, 0.1 A
            (*OUTPUT, 4, 1, 3, 1), Tag.INTEGER, lambda: v.integer(round(self.load_w() / 230 * 10))
        )
        m.scalar(
            (*OUTPUT, 4, 1, 4, 1), Tag.INTEGER, lambda: v.integer(round(self.load_w()))
        )  # upsOutputPower
        m.scalar(  # upsOutputPercentLoad
            (*OUTPUT, 4, 1, 5, 1),
            Tag.INTEGER,
            lambda: v.integer(round(100 * self.load_w() / s.rated_w)),
        )
