"""The base of every simulated device: identity, clock, MIB, faults and the SNMPv2-MIB
system group every agent answers."""

from __future__ import annotations

import time
from collections.abc import Callable

from agent.sim.snmp import values as v
from agent.sim.snmp.faults import Faults, SimCredentials
from agent.sim.snmp.mib import Commit, Mib, SetError
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.values import Oid, Tag, Value, format_oid

Clock = Callable[[], float]

SYSTEM = (1, 3, 6, 1, 2, 1, 1)  # SNMPv2-MIB::system


def render(value: Value) -> str | int:
    """A value as the SET log and error messages show it."""
    if isinstance(value.data, int):
        return value.data
    if isinstance(value.data, tuple):
        return format_oid(value.data)
    try:
        text = value.data.decode("ascii")
    except UnicodeDecodeError:
        return "0x" + value.data.hex()
    return text if text.isprintable() else "0x" + value.data.hex()


class _FaultedMib(Mib):
    """The device's MIB with its SET refusals applied: the one hook of the SET path,
    kept here so the engine's instrumentation stays protocol-only."""

    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self._faults = faults

    def prepare_set(self, oid: Oid, value: Value) -> Commit:
        self._faults.check_set(oid)
        return super().prepare_set(oid, value)


class SimDevice:
    """Common state of a simulated SNMP agent."""

    kind = "device"

    def __init__(
        self,
        device_id: str,
        *,
        sys_descr: str,
        sys_object_id: Oid,
        credentials: SimCredentials,
        set_log: SetLog,
        clock: Clock = time.monotonic,
        sys_name: str | None = None,
        seed: int = 0,
        system_group: bool = True,
    ) -> None:
        self.id = device_id
        self.clock = clock
        self.set_log = set_log
        self.credentials = credentials
        self.faults = Faults(seed=seed)
        self.mib: Mib = _FaultedMib(self.faults)
        self.sys_descr = sys_descr
        self.sys_object_id = sys_object_id
        self.sys_name = sys_name or device_id
        self.sys_contact = "clean-room drill team"
        self.sys_location = "mobile clean room"
        self._boot = clock()
        self.set_pdus = 0  # SET requests received (one per PDU, refused ones included)
        if system_group:
            self._add_system_group()

    def settle(self) -> None:
        """Bring time-driven state (pending commands, ramps, battery) up to now. The
        engine calls it before every request; the rack also calls it periodically so
        that power effects reach the SET log even when nobody is reading."""

    def force_sensor(self, sensor: str, value: float) -> None:
        """Fault: pin a sensor reading. Devices with sensors override this."""
        raise ValueError(f"{self.id}: a {self.kind} has no sensor {sensor!r} to force")

    def release_sensor(self, sensor: str) -> None:
        raise ValueError(f"{self.id}: a {self.kind} has no sensor {sensor!r} to release")

    def uptime(self) -> float:
        return self.clock() - self._boot

    def log_set(self, oid: Oid, value: Value) -> None:
        self.set_log.record(self.clock(), self.id, "set", format_oid(oid), render(value))

    def log_power(self, t: float, what: str, value: str | int | bool | float) -> None:
        self.set_log.record(t, self.id, "power", what, value)

    def _add_system_group(self) -> None:
        m = self.mib
        m.scalar((*SYSTEM, 1, 0), Tag.OCTET_STRING, lambda: v.octets(self.sys_descr))
        m.scalar((*SYSTEM, 2, 0), Tag.OBJECT_IDENTIFIER, lambda: v.oid(self.sys_object_id))
        m.scalar((*SYSTEM, 3, 0), Tag.TIMETICKS, lambda: v.timeticks(self.uptime()))
        for column, attr in ((4, "sys_contact"), (5, "sys_name"), (6, "sys_location")):
            m.scalar(
                (*SYSTEM, column, 0),
                Tag.OCTET_STRING,
                self._attribute_reader(attr),
                self._display_string_writer(attr),
            )
        m.constant((*SYSTEM, 7, 0), v.integer(72))  # sysServices: application + end-to-end

    def _attribute_reader(self, attr: str) -> Callable[[], Value]:
        return lambda: v.octets(str(getattr(self, attr)))

    def _display_string_writer(self, attr: str) -> Callable[[Value], Commit]:
        def write(value: Value) -> Commit:
            raw = value.octets
            if len(raw) > 255:
                raise SetError("wrongLength", f"{attr}: {len(raw)} octets, DisplayString holds 255")
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                raise SetError("wrongValue", f"{attr}: DisplayString must be ASCII") from None
            return lambda: setattr(self, attr, text)

        return write
