"""What a PDU family is, as data: OIDs and values quoted from its MIB.

A family never contains code. ``agent.devices.pdu.driver.PduDriver`` reads and switches
any family from this data, the way NUT's ``*-mib.c`` tables and ironic's ``snmp.py``
classes describe vendors. OIDs are numeric, without leading dot; a *column* is a table
column prefix to which an outlet's index is appended (``{column}.{index}``).

Outlet numbering: the index of an outlet row under the state column (what follows the
column prefix) has ``index_arcs`` arcs. With one arc the outlet number is that arc.
With more (ServerTech Sentry3: tower.infeed.outlet) the outlets are numbered 1..N in
index order, tower A's first, so numbers stay unique across towers; the driver maps a
number back to its index before it writes.

A family without ``on``/``off`` (and possibly without ``state``) is a metered-only
PDU: the driver lists its outlets from ``outlet_list`` and refuses to switch, saying
so. Detection GETs ``sentinels`` (exact instances): all must answer for the family to
match; ``sys_object_ids`` only break ties.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Command:
    """Write ``value`` to ``{column}.{index}`` to act on one outlet.

    ``gauge``: the object's SYNTAX is Gauge32 (GEIST-MIB-V3::ctrlOutletStatus); an
    INTEGER there would answer wrongType.
    """

    column: str
    value: int
    mib: str  # the MIB object, e.g. "PowerNet-MIB::rPDU2OutletSwitchedControlCommand"
    gauge: bool = False

    def oid(self, index: int | str) -> str:
        return f"{self.column}.{index}"


@dataclass(frozen=True, slots=True)
class Column:
    """A per-outlet table column: read ``{column}.{index}``, or walk ``column``."""

    column: str
    mib: str

    def oid(self, index: int | str) -> str:
        return f"{self.column}.{index}"


@dataclass(frozen=True, slots=True)
class Scalar:
    """One object instance (with its instance suffix, often ``.0`` or ``.1``)."""

    oid: str
    mib: str


@dataclass(frozen=True, slots=True)
class Measurement:
    """A number to read and scale into SI units: ``raw * scale``.

    When ``digits_oid`` is set (Raritan publishes a per-sensor decimal-digit count),
    the scale is ``10 ** -digits`` read from that OID instead. A raw -1 is the MIBs'
    "not supported" and reads as no value.
    """

    oid: str
    scale: float
    unit: str  # "A", "W" or "degC"
    mib: str
    digits_oid: str | None = None


@dataclass(frozen=True, slots=True)
class PduFamily:
    """One family of rack PDUs, entirely described by its MIB objects."""

    key: str  # the value of ``driver = "..."`` in rack.toml
    vendor: str
    mib: str  # the MIB module the OIDs come from
    sys_object_ids: tuple[str, ...]  # sysObjectID prefixes of this family's products: a hint
    # Objects every device of the family answers (GET of these exact instances): what
    # answers decides the family, the sysObjectID only breaks ties (agent.devices.detect).
    sentinels: tuple[Scalar, ...] = ()
    state: Column | None = None  # the relay state per outlet; None: never switched
    state_on: frozenset[int] = frozenset()
    state_off: frozenset[int] = frozenset()
    on: Command | None = None  # None together with off: a metered-only family
    off: Command | None = None
    reboot: Command | None = None
    unlock: Command | None = None  # written (own SET) before every switching command
    outlet_name: Column | None = None
    # One row per outlet on models without switching (metered-only): used to list the
    # outlets when the state column has no rows.
    outlet_list: Column | None = None
    index_arcs: int = 1  # arcs of an outlet's index under ``state`` / ``outlet_list``
    outlet_count: Scalar | None = None
    model: Scalar | None = None
    serial: Scalar | None = None
    firmware: Scalar | None = None
    inlet_current: Measurement | None = None
    inlet_power: Measurement | None = None
    temperature: Measurement | None = None
    notes: str = field(default="", compare=False)

    @property
    def switched(self) -> bool:
        """Whether the family can switch outlets at all (some of its models may not)."""
        return self.on is not None and self.off is not None and self.state is not None

    def all_oids(self) -> list[str]:
        """Every OID (or column prefix) the family names, for consistency checks."""
        oids: list[str] = []
        for command in (self.on, self.off, self.reboot, self.unlock):
            if command is not None:
                oids.append(command.column)
        for column in (self.state, self.outlet_name, self.outlet_list):
            if column is not None:
                oids.append(column.column)
        for scalar in (
            self.outlet_count,
            self.model,
            self.serial,
            self.firmware,
            *self.sentinels,
        ):
            if scalar is not None:
                oids.append(scalar.oid)
        for measure in (self.inlet_current, self.inlet_power, self.temperature):
            if measure is not None:
                oids.append(measure.oid)
                if measure.digits_oid is not None:
                    oids.append(measure.digits_oid)
        return oids

    def all_mibs(self) -> list[str]:
        """Every ``MODULE::object`` the family names."""
        named: list[Command | Column | Scalar | Measurement | None] = [
            self.on,
            self.off,
            self.reboot,
            self.unlock,
            self.state,
            self.outlet_name,
            self.outlet_list,
            self.outlet_count,
            self.model,
            self.serial,
            self.firmware,
            self.inlet_current,
            self.inlet_power,
            self.temperature,
            *self.sentinels,
        ]
        return [item.mib for item in named if item is not None]


ENTERPRISES = "1.3.6.1.4.1"


def ent(suffix: str) -> str:
    """``1.3.6.1.4.1.<suffix>``: family modules quote OIDs relative to enterprises."""
    return f"{ENTERPRISES}.{suffix}"
