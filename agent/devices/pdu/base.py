"""What a PDU family is, as data: OIDs and values quoted from its MIB.

A family never contains code. ``agent.devices.pdu.driver.PduDriver`` reads and switches
any family from this data, the way NUT's ``*-mib.c`` tables and ironic's ``snmp.py``
classes describe vendors. OIDs are numeric, without leading dot; a *column* is a table
column prefix to which the outlet number is appended (``{column}.{n}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Command:
    """Write ``value`` (an INTEGER) to ``{column}.{n}`` to act on outlet ``n``."""

    column: str
    value: int
    mib: str  # the MIB object, e.g. "PowerNet-MIB::rPDU2OutletSwitchedControlCommand"

    def oid(self, outlet: int) -> str:
        return f"{self.column}.{outlet}"


@dataclass(frozen=True, slots=True)
class Column:
    """A per-outlet table column: read ``{column}.{n}``, or walk ``column``."""

    column: str
    mib: str

    def oid(self, outlet: int) -> str:
        return f"{self.column}.{outlet}"


@dataclass(frozen=True, slots=True)
class Scalar:
    """One object instance (with its instance suffix, often ``.0`` or ``.1``)."""

    oid: str
    mib: str


@dataclass(frozen=True, slots=True)
class Measurement:
    """A number to read and scale into SI units: ``raw * scale``.

    When ``digits_oid`` is set (Raritan publishes a per-sensor decimal-digit count),
    the scale is ``10 ** -digits`` read from that OID instead.
    """

    oid: str
    scale: float
    unit: str  # "A", "W" or "degC"
    mib: str
    digits_oid: str | None = None


@dataclass(frozen=True, slots=True)
class PduFamily:
    """One family of switched PDUs, entirely described by its MIB objects."""

    key: str  # the value of ``driver = "..."`` in rack.toml
    vendor: str
    mib: str  # the MIB module the OIDs come from
    sys_object_ids: tuple[str, ...]  # sysObjectID prefixes of this family's products: a hint
    on: Command
    off: Command
    reboot: Command | None
    state: Column
    state_on: frozenset[int]
    state_off: frozenset[int]
    outlet_name: Column | None = None
    outlet_count: Scalar | None = None
    model: Scalar | None = None
    serial: Scalar | None = None
    firmware: Scalar | None = None
    inlet_current: Measurement | None = None
    inlet_power: Measurement | None = None
    temperature: Measurement | None = None
    # Objects every device of the family answers (GET of these exact instances): what
    # answers decides the family, the sysObjectID only breaks ties (agent.devices.detect).
    sentinels: tuple[Scalar, ...] = ()
    notes: str = field(default="", compare=False)

    def all_oids(self) -> list[str]:
        """Every OID (or column prefix) the family names, for consistency checks."""
        oids = [self.on.column, self.off.column, self.state.column]
        if self.reboot is not None:
            oids.append(self.reboot.column)
        for column in (self.outlet_name,):
            if column is not None:
                oids.append(column.column)
        for scalar in (self.outlet_count, self.model, self.serial, self.firmware):
            if scalar is not None:
                oids.append(scalar.oid)
        for measure in (self.inlet_current, self.inlet_power, self.temperature):
            if measure is not None:
                oids.append(measure.oid)
                if measure.digits_oid is not None:
                    oids.append(measure.digits_oid)
        return oids


ENTERPRISES = "1.3.6.1.4.1"


def ent(suffix: str) -> str:
    """``1.3.6.1.4.1.<suffix>``: family modules quote OIDs relative to enterprises."""
    return f"{ENTERPRISES}.{suffix}"
