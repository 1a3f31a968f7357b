"""The one PDU driver: reads and switches any family from its data.

Drivers report; they never decide. Whether an outlet may be switched, when, and how to
check the result is for ``agent.power.actions`` and the sequencer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from agent.adapters.snmp import (
    MISSING,
    Integer,
    SnmpClient,
    Value,
    as_text,
    expect_int,
    expect_oid,
)
from agent.devices.pdu.base import Column, Measurement, PduFamily
from agent.errors import NegativeReply, ProtocolError

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


class OutletState(enum.StrEnum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"  # pending, rebooting, or a value the family does not map


@dataclass(frozen=True, slots=True)
class OutletReading:
    number: int
    state: OutletState
    raw: int  # the value the PDU answered, for logs and unknown states
    name: str | None = None


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


class PduDriver:
    """Generic switched-PDU driver for one device, parameterised by a ``PduFamily``."""

    def __init__(self, family: PduFamily) -> None:
        self.family = family

    def __repr__(self) -> str:
        return f"PduDriver({self.family.key})"

    # --- identity ----------------------------------------------------------------------

    async def identify(self, client: SnmpClient) -> PduIdentity:
        """sysObjectID, model, serial, firmware and outlet count, in one GET (plus a
        walk of the state column when the family has no outlet-count object)."""
        fam = self.family
        scalars = {
            "model": fam.model,
            "serial": fam.serial,
            "firmware": fam.firmware,
            "count": fam.outlet_count,
        }
        oids = [SYS_OBJECT_ID] + [s.oid for s in scalars.values() if s is not None]
        values = await client.get(oids)
        device = client.target.device

        def text(key: str) -> str | None:
            scalar = scalars[key]
            return None if scalar is None else as_text(values[scalar.oid])

        sys_object_id = values[SYS_OBJECT_ID]
        oid_text = (
            "" if sys_object_id is MISSING else expect_oid(device, SYS_OBJECT_ID, sys_object_id)
        )
        count_scalar = fam.outlet_count
        count_value: Value = MISSING if count_scalar is None else values[count_scalar.oid]
        if count_scalar is not None and count_value is not MISSING:
            count = expect_int(device, count_scalar.oid, count_value)
        else:
            count = len(await self._walk_column(client, fam.state))
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
        """Every outlet's state (and name where the family has one), by outlet number."""
        states = await self._walk_column(client, self.family.state)
        names: dict[int, Value] = {}
        if self.family.outlet_name is not None:
            names = await self._walk_column(client, self.family.outlet_name)
        device = client.target.device
        return [
            self._reading(device, n, raw, names.get(n, MISSING))
            for n, raw in sorted(states.items())
        ]

    async def read_outlet(self, client: SnmpClient, outlet: int) -> OutletReading:
        """One outlet's state; NegativeReply when the PDU has no such outlet."""
        oid = self.family.state.oid(outlet)
        raw = await client.get_one(oid)
        device = client.target.device
        if raw is MISSING:
            raise NegativeReply(
                device,
                f"outlet {outlet} does not exist on this {self.family.vendor} PDU "
                f"({self.family.state.mib} {oid} has no instance); check the outlet number",
                status="noSuchInstance",
                oid=oid,
            )
        return self._reading(device, outlet, raw, MISSING)

    async def set_outlet(self, client: SnmpClient, outlet: int, on: bool) -> None:
        """Send the on or off command once. Does not check the result."""
        command = self.family.on if on else self.family.off
        await client.set([(command.oid(outlet), Integer(command.value))])

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
        await client.set([(command.oid(outlet), Integer(command.value))])

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
        values = await client.get(oids) if oids else {}
        device = client.target.device
        current, power, temperature = (
            _scaled(device, m, values) if m is not None else None for m in measures
        )
        return InletReading(current_a=current, power_w=power, temperature_c=temperature)

    # --- helpers -----------------------------------------------------------------------

    async def _walk_column(self, client: SnmpClient, column: Column) -> dict[int, Value]:
        rows = await client.walk(column.column)
        out: dict[int, Value] = {}
        prefix = len(column.column) + 1
        for oid, value in rows:
            index = oid[prefix:]
            if not index.isdigit():
                raise ProtocolError(
                    client.target.device,
                    f"{column.mib} row {oid} is not indexed by an outlet number under "
                    f"{column.column}; the PDU is not a {self.family.key} or the driver's "
                    "table index is wrong",
                )
            out[int(index)] = value
        return out

    def _reading(self, device: str, outlet: int, raw: Value, name: Value) -> OutletReading:
        code = expect_int(device, self.family.state.oid(outlet), raw)
        if code in self.family.state_on:
            state = OutletState.ON
        elif code in self.family.state_off:
            state = OutletState.OFF
        else:
            state = OutletState.UNKNOWN
        return OutletReading(number=outlet, state=state, raw=code, name=as_text(name))


def _scaled(device: str, measure: Measurement, values: dict[str, Value]) -> float | None:
    raw = values.get(measure.oid, MISSING)
    if raw is MISSING:
        return None
    number = expect_int(device, measure.oid, raw)
    scale = measure.scale
    if measure.digits_oid is not None:
        digits = values.get(measure.digits_oid, MISSING)
        if digits is not MISSING:
            scale = 10.0 ** -expect_int(device, measure.digits_oid, digits)
    return number * scale
