"""The one PDU driver: reads and switches any family from its data.

Drivers report; they never decide. Whether an outlet may be switched, when, and how to
check the result is for ``agent.power.actions`` and the sequencer.

Outlet numbers: see ``agent.devices.pdu.base`` (one-arc indexes are the number; longer
indexes, e.g. Sentry3's tower.infeed.outlet, are numbered 1..N in index order). A
metered-only PDU (no switched table, or a family without commands) lists its outlets
from the family's ``outlet_list`` column with state unknown and ``switched`` False;
switching one is refused with a message that says so.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from agent.adapters.snmp import (
    MISSING,
    Gauge,
    Integer,
    SnmpClient,
    Value,
    as_text,
    expect_int,
    expect_oid,
)
from agent.devices.pdu.base import Column, Command, Measurement, PduFamily
from agent.errors import NegativeReply, ProtocolError

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


class OutletState(enum.StrEnum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"  # pending, rebooting, not switched, or a value the family does not map


@dataclass(frozen=True, slots=True)
class OutletReading:
    number: int
    state: OutletState
    raw: int | None  # the value the PDU answered, for logs and unknown states
    name: str | None = None
    switched: bool = True  # False: the PDU meters this outlet but cannot switch it
    index: str = ""  # the outlet's row index in the family's tables


@dataclass(frozen=True, slots=True)
class PduIdentity:
    family: str
    vendor: str
    sys_object_id: str
    model: str | None
    serial: str | None
    firmware: str | None
    outlet_count: int


@dataclass(frozen=True, slots=True)
class InletReading:
    current_a: float | None
    power_w: float | None
    temperature_c: float | None


def number_outlets(indexes: Iterable[str], arcs: int) -> dict[int, str]:
    """Outlet number -> row index. Indexes not made of ``arcs`` numeric arcs are left
    out (rows of another shape are not outlets of this family). One arc: the number is
    the index; more: 1..N in index order (tower A's outlets before tower B's)."""
    shaped: list[tuple[tuple[int, ...], str]] = []
    for index in indexes:
        parts = index.split(".")
        if len(parts) == arcs and all(p.isdigit() for p in parts):
            shaped.append((tuple(int(p) for p in parts), index))
    shaped.sort()
    if arcs == 1:
        return {key[0]: index for key, index in shaped}
    return {n: index for n, (_, index) in enumerate(shaped, 1)}


class PduDriver:
    """Generic rack-PDU driver for one device, parameterised by a ``PduFamily``."""

    def __init__(self, family: PduFamily) -> None:
        self.family = family
        # Multi-arc families: outlet number -> index, per device, learnt from a walk.
        self._indexes: dict[str, dict[int, str]] = {}
        # Per device: whether it publishes switched rows (a metered model does not).
        self._switched: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"PduDriver({self.family.key})"

    # --- identity ----------------------------------------------------------------------

    async def identify(self, client: SnmpClient) -> PduIdentity:
        """sysObjectID, model, serial, firmware and outlet count, in one GET (plus a
        walk of the outlet table when the family or the device has no count object)."""
        fam = self.family
        scalars = {
            "model": fam.model,
            "serial": fam.serial,
            "firmware": fam.firmware,
            "count": fam.outlet_count,
        }
        oids = list(dict.fromkeys([SYS_OBJECT_ID] + [s.oid for s in scalars.values() if s]))
        values = await client.get(oids)
        device = client.target.device

        def text(key: str) -> str | None:
            scalar = scalars[key]
            if scalar is None:
                return None
            value = values[scalar.oid]
            return str(value) if isinstance(value, int) else as_text(value)

        sys_object_id = values[SYS_OBJECT_ID]
        oid_text = (
            "" if sys_object_id is MISSING else expect_oid(device, SYS_OBJECT_ID, sys_object_id)
        )
        count_scalar = fam.outlet_count
        count_value: Value = MISSING if count_scalar is None else values[count_scalar.oid]
        if count_scalar is not None and count_value is not MISSING:
            count = expect_int(device, count_scalar.oid, count_value)
        else:
            count = len(await self.read_outlets(client))
        return PduIdentity(
            family=fam.key,
            vendor=fam.vendor,
            sys_object_id=oid_text,
            model=text("model"),
            serial=text("serial"),
            firmware=text("firmware"),
            outlet_count=count,
        )

    # --- outlets -----------------------------------------------------------------------

    async def read_outlets(self, client: SnmpClient) -> list[OutletReading]:
        """Every outlet's state (and name where the family has one), by outlet number.

        A PDU that publishes no switched outlets (a metered model) is listed from the
        family's ``outlet_list`` column, every outlet unknown and not switched."""
        fam = self.family
        device = client.target.device
        states = await self._walk(client, fam.state) if fam.state is not None else {}
        column: Column | None = fam.state
        names: dict[str, Value] = {}
        if states:
            rows, switched = states, fam.switched
            if fam.outlet_name is not None:
                names = await self._walk(client, fam.outlet_name)
        elif fam.outlet_list is not None:
            column = fam.outlet_list
            rows = names = await self._walk(client, fam.outlet_list)
            switched = False
        else:
            rows, switched = {}, False
        numbers = self._number(client, column, rows)
        self._indexes[device] = numbers
        self._switched[device] = switched
        out: list[OutletReading] = []
        for number, index in sorted(numbers.items()):
            name = _name(names.get(index, MISSING))
            if states:
                reading = self._reading(device, number, index, states[index], name)
                out.append(reading if switched else _unswitched(reading))
            else:
                out.append(OutletReading(number, OutletState.UNKNOWN, None, name, False, index))
        return out

    async def read_outlet(self, client: SnmpClient, outlet: int) -> OutletReading:
        """One outlet's state; NegativeReply when the PDU has no such outlet."""
        column = self._state_column(client)
        index = await self.outlet_index(client, outlet)
        oid = column.oid(index)
        raw = await client.get_one(oid)
        device = client.target.device
        if raw is MISSING:
            raise NegativeReply(
                device,
                f"outlet {outlet} does not exist on this {self.family.vendor} PDU "
                f"({column.mib} {oid} has no instance); check the outlet number",
                status="noSuchInstance",
                oid=oid,
            )
        return self._reading(device, outlet, index, raw, None)

    async def set_outlet(self, client: SnmpClient, outlet: int, on: bool) -> None:
        """Send the on or off command once. Does not check the result."""
        command = self._command(client, self.family.on if on else self.family.off)
        index = await self.outlet_index(client, outlet)
        await self._check_switched(client, outlet, index)
        await self._send(client, command, index)

    async def reboot_outlet(self, client: SnmpClient, outlet: int) -> None:
        """Send the PDU's own reboot (off, delay, on) command once."""
        command = self.family.reboot
        if command is None:
            raise NegativeReply(
                client.target.device,
                f"{self.family.vendor} ({self.family.key}) has no reboot command we trust; "
                "switch the outlet off, then on",
                status="unsupported",
            )
        command = self._command(client, command)
        index = await self.outlet_index(client, outlet)
        await self._check_switched(client, outlet, index)
        await self._send(client, command, index)

    async def outlet_index(self, client: SnmpClient, outlet: int) -> str:
        """The row index of outlet ``outlet``: the number itself for one-arc families,
        looked up (one walk, then cached) for tower.infeed.outlet style indexes."""
        if self.family.index_arcs == 1:
            return str(outlet)
        device = client.target.device
        known = self._indexes.get(device, {})
        if outlet not in known:
            await self.read_outlets(client)
            known = self._indexes.get(device, {})
        if outlet not in known:
            raise NegativeReply(
                device,
                f"outlet {outlet} does not exist on this {self.family.vendor} PDU (it lists "
                f"outlets 1..{len(known)} over all its towers); check the outlet number",
                status="noSuchInstance",
            )
        return known[outlet]

    # --- inlet -------------------------------------------------------------------------

    async def read_inlet(self, client: SnmpClient) -> InletReading:
        """Inlet current (A), power (W) and temperature (degC); None where the family
        has no such object or the PDU does not answer it (no probe fitted)."""
        measures = (self.family.inlet_current, self.family.inlet_power, self.family.temperature)
        oids: list[str] = []
        for measure in measures:
            if measure is not None:
                oids.append(measure.oid)
                if measure.digits_oid is not None:
                    oids.append(measure.digits_oid)
        values = await client.get(list(dict.fromkeys(oids))) if oids else {}
        device = client.target.device
        current, power, temperature = (
            _scaled(device, m, values) if m is not None else None for m in measures
        )
        return InletReading(current_a=current, power_w=power, temperature_c=temperature)

    # --- helpers -----------------------------------------------------------------------

    def _state_column(self, client: SnmpClient) -> Column:
        if self.family.state is None:
            raise NegativeReply(
                client.target.device,
                f"{self.family.vendor} ({self.family.key}) PDUs are not switched: the "
                "family has no outlet state; read its metering instead",
                status="unsupported",
            )
        return self.family.state

    def _command(self, client: SnmpClient, command: Command | None) -> Command:
        if command is None or not self.family.switched:
            raise NegativeReply(
                client.target.device,
                f"outlets of this {self.family.vendor} PDU ({self.family.key}) are not "
                "switched: the family has no switching command; use a switched PDU for "
                "this load",
                status="unsupported",
            )
        return command

    async def _check_switched(self, client: SnmpClient, outlet: int, index: str) -> None:
        """Refuse before writing to a model of a switched family that has no switched
        outlets (a metered Dell, APC or Vertiv): its SET would only say notWritable."""
        device = client.target.device
        switched = self._switched.get(device)
        state, listing = self.family.state, self.family.outlet_list
        if (
            switched is None
            and listing is not None
            and state is not None
            and await client.get_one(state.oid(index)) is MISSING
        ):
            switched = await client.get_one(listing.oid(index)) is MISSING
            self._switched[device] = switched
        if switched is False:
            raise NegativeReply(
                device,
                f"outlet {outlet} of this {self.family.vendor} PDU is not switched: the "
                f"PDU publishes no {state.mib if state else 'outlet state'} row, only "
                "metering (a metered model); use a switched PDU for this load",
                status="unsupported",
            )

    async def _send(self, client: SnmpClient, command: Command, index: str) -> None:
        unlock = self.family.unlock
        if unlock is not None:
            await client.set([(unlock.oid(index), _set_value(unlock))])
        await client.set([(command.oid(index), _set_value(command))])

    async def _walk(self, client: SnmpClient, column: Column) -> dict[str, Value]:
        rows = await client.walk(column.column)
        prefix = len(column.column) + 1
        return {oid[prefix:]: value for oid, value in rows}

    def _number(
        self, client: SnmpClient, column: Column | None, rows: dict[str, Value]
    ) -> dict[int, str]:
        numbers = number_outlets(rows, self.family.index_arcs)
        if rows and not numbers and column is not None:
            sample = next(iter(rows))
            raise ProtocolError(
                client.target.device,
                f"{column.mib} row {column.column}.{sample} is not indexed by "
                f"{self.family.index_arcs} number(s) under {column.column}; the PDU is "
                f"not a {self.family.key} or the driver's table index is wrong",
            )
        return numbers

    def _reading(
        self, device: str, outlet: int, index: str, raw: Value, name: str | None
    ) -> OutletReading:
        column = self.family.state
        assert column is not None
        code = expect_int(device, column.oid(index), raw)
        if code in self.family.state_on:
            state = OutletState.ON
        elif code in self.family.state_off:
            state = OutletState.OFF
        else:
            state = OutletState.UNKNOWN
        return OutletReading(outlet, state, code, name, True, index)


def _unswitched(reading: OutletReading) -> OutletReading:
    return OutletReading(
        reading.number, reading.state, reading.raw, reading.name, False, reading.index
    )


def _name(value: Value) -> str | None:
    return str(value) if isinstance(value, int) else as_text(value)


def _set_value(command: Command) -> Integer | Gauge:
    return Gauge(command.value) if command.gauge else Integer(command.value)


def _scaled(device: str, measure: Measurement, values: dict[str, Value]) -> float | None:
    raw = values.get(measure.oid, MISSING)
    if raw is MISSING:
        return None
    number = expect_int(device, measure.oid, raw)
    if number == -1:
        return None  # the MIBs' "not supported" (-1)
    scale = measure.scale
    if measure.digits_oid is not None:
        digits = values.get(measure.digits_oid, MISSING)
        if digits is not MISSING:
            scale = 10.0 ** -expect_int(device, measure.digits_oid, digits)
    return number * scale
