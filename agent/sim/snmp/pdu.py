"""The switched-PDU model shared by every vendor family.

Time is computed, not ticked: a command schedules effects at clock times; `settle()`
applies the effects that are due (and logs each as a power effect stamped with the time
it happened), and readings (outlet power ramping up after switch-on) are functions of
the clock. A fake clock therefore drives the whole model without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from agent.sim.snmp.device import Clock, SimDevice
from agent.sim.snmp.faults import SimCredentials
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.values import Oid

Action = Literal["on", "off", "reboot"]
PDU_SENSORS = ("temperature", "humidity")


@dataclass(frozen=True)
class PduSpec:
    """One simulated switched PDU. Empty model/firmware take the family's defaults."""

    id: str
    family: str
    outlets: int = 8
    loads_w: Mapping[int, float] = field(default_factory=dict)
    names: Mapping[int, str] = field(default_factory=dict)
    initial: Mapping[int, bool] = field(default_factory=dict)
    model: str = ""
    serial: str = "SIM00000001"
    firmware: str = ""
    credentials: SimCredentials = field(default_factory=SimCredentials)
    voltage_v: float = 230.0
    ramp_s: float = 1.0
    command_delay_s: float = 0.5
    reboot_s: float = 5.0
    temperature_c: float = 24.0
    humidity_pct: float = 40.0
    temperature_high_c: float = 35.0
    temperature_max_c: float = 45.0
    port: int = 0

    def __post_init__(self) -> None:
        where = f"PduSpec {self.id!r}"
        if not 1 <= self.outlets <= 64:
            raise ValueError(f"{where}: outlets={self.outlets}, a PDU has 1..64 outlets")
        for name, mapping in (
            ("loads_w", self.loads_w),
            ("names", self.names),
            ("initial", self.initial),
        ):
            bad = [n for n in mapping if not 1 <= n <= self.outlets]
            if bad:
                raise ValueError(
                    f"{where}: {name} names outlet(s) {bad}, "
                    f"but the PDU has outlets 1..{self.outlets}"
                )
        negative = {n: w for n, w in self.loads_w.items() if w < 0}
        if negative:
            raise ValueError(f"{where}: loads_w {negative} is negative; a load draws 0 W or more")
        for name in ("ramp_s", "command_delay_s", "reboot_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{where}: {name} is negative; use 0 for no delay")


@dataclass
class Outlet:
    number: int
    name: str
    load_w: float
    on: bool
    since: float
    # Scheduled effects, in time order: (when, on?). Empty when nothing is pending.
    pending: list[tuple[float, bool]] = field(default_factory=list)


class PduModel(SimDevice):
    """A switched PDU: outlets with pending commands and ramping loads, inlet totals,
    an environment probe. Family modules publish it under their vendor's MIB."""

    kind = "pdu"

    def __init__(
        self,
        spec: PduSpec,
        *,
        sys_descr: str,
        sys_object_id: Oid,
        set_log: SetLog,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(
            spec.id,
            sys_descr=sys_descr,
            sys_object_id=sys_object_id,
            credentials=spec.credentials,
            set_log=set_log,
            clock=clock,
        )
        self.spec = spec
        now = clock()
        self.outlets: dict[int, Outlet] = {
            n: Outlet(
                number=n,
                name=spec.names.get(n, f"Outlet {n}"),
                load_w=float(spec.loads_w.get(n, 0.0)),
                on=bool(spec.initial.get(n, False)),
                # Outlets on at start are already at full load.
                since=now - spec.ramp_s,
            )
            for n in range(1, spec.outlets + 1)
        }
        self.command_delay_s = spec.command_delay_s
        self.last_action: dict[int, Action] = {}
        self.stuck: set[int] = set()
        self.forced: dict[str, float] = {}

    # -- commands -------------------------------------------------------------------

    def outlet(self, number: int) -> Outlet:
        try:
            return self.outlets[number]
        except KeyError:
            raise KeyError(
                f"{self.id}: outlet {number} does not exist (outlets 1..{len(self.outlets)})"
            ) from None

    def command(self, number: int, action: Action, extra_delay_s: float = 0.0) -> None:
        """Accept a switching command; its effect comes after the device's delay.

        A new command replaces whatever was pending, as the vendors' firmware does.
        An outlet with the `stick` fault accepts the command and never acts on it.
        """
        self.settle()
        outlet = self.outlet(number)
        if number in self.stuck:
            return
        self.last_action[number] = action
        at = self.clock() + self.command_delay_s + extra_delay_s
        if action == "on":
            outlet.pending = [(at, True)]
        elif action == "off":
            outlet.pending = [(at, False)]
        else:
            outlet.pending = [(at, False), (at + self.spec.reboot_s, True)]

    def cancel(self, number: int) -> None:
        self.settle()
        self.outlet(number).pending = []

    def settle(self) -> None:
        now = self.clock()
        for outlet in self.outlets.values():
            while outlet.pending and outlet.pending[0][0] <= now:
                at, on = outlet.pending.pop(0)
                if on != outlet.on:
                    outlet.on = on
                    outlet.since = at
                    self.log_power(at, f"outlet.{outlet.number}", on)

    # -- readings -------------------------------------------------------------------

    def is_on(self, number: int) -> bool:
        return self.outlet(number).on

    def is_pending(self, number: int) -> bool:
        return bool(self.outlet(number).pending)

    def pending_target(self, number: int) -> bool | None:
        """The state the next pending effect will set, or None."""
        pending = self.outlet(number).pending
        return pending[0][1] if pending else None

    def pending_seconds(self, number: int) -> float:
        pending = self.outlet(number).pending
        return max(0.0, pending[0][0] - self.clock()) if pending else 0.0

    def outlet_power_w(self, number: int) -> float:
        outlet = self.outlet(number)
        if not outlet.on:
            return 0.0
        if self.spec.ramp_s <= 0:
            return outlet.load_w
        fraction = min(1.0, max(0.0, (self.clock() - outlet.since) / self.spec.ramp_s))
        return outlet.load_w * fraction

    def outlet_current_a(self, number: int) -> float:
        return self.outlet_power_w(number) / self.spec.voltage_v

    def inlet_power_w(self) -> float:
        return sum(self.outlet_power_w(n) for n in self.outlets)

    def inlet_current_a(self) -> float:
        return self.inlet_power_w() / self.spec.voltage_v

    def temperature_c(self) -> float:
        return self.forced.get("temperature", self.spec.temperature_c)

    def humidity_pct(self) -> float:
        return self.forced.get("humidity", self.spec.humidity_pct)

    # -- faults ---------------------------------------------------------------------

    def stick(self, number: int) -> None:
        """Fault: the outlet accepts commands (the SET succeeds) and never switches."""
        self.outlet(number)
        self.stuck.add(number)

    def unstick(self, number: int) -> None:
        self.stuck.discard(number)

    def force_sensor(self, sensor: str, value: float) -> None:
        """Fault: pin a sensor reading (e.g. a temperature above the alarm threshold)."""
        if sensor not in PDU_SENSORS:
            raise ValueError(f"{self.id}: no sensor {sensor!r}; a PDU has {PDU_SENSORS}")
        self.forced[sensor] = value

    def release_sensor(self, sensor: str) -> None:
        self.forced.pop(sensor, None)
