"""A device's MIB: a sorted, writable table of OIDs whose values are computed live.

Each object is a `Var`: a reader called on every request (so values follow the model's
state and clock) and, when writable, a writer that validates a SET and returns the commit
to run. Validation and commit are split so that a SET PDU with several variables changes
nothing unless every one of them is acceptable (RFC 3416 section 4.2.5).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from agent.sim.snmp.values import Oid, Tag, Value, format_oid

Commit = Callable[[], None]
Writer = Callable[[Value], Commit]
Creator = Callable[[Oid, Value], Commit]

# The error-status names of RFC 3416 a SET can be refused with (pysnmp maps them onto
# the wire, engine.py does the mapping).
SET_STATUSES = frozenset(
    {
        "wrongType",
        "wrongLength",
        "wrongValue",
        "wrongEncoding",
        "notWritable",
        "noCreation",
        "noAccess",
        "inconsistentValue",
        "inconsistentName",
        "resourceUnavailable",
        "commitFailed",
        "genErr",
    }
)


class SetError(Exception):
    """A SET refused by the simulated device, with the error-status a real agent sends."""

    def __init__(self, status: str, detail: str) -> None:
        if status not in SET_STATUSES:
            raise ValueError(
                f"SetError: unknown error-status {status!r}; use one of {sorted(SET_STATUSES)}"
            )
        self.status = status
        super().__init__(f"{status}: {detail}")


@dataclass(frozen=True, slots=True)
class Var:
    """One object instance: its syntax, how to read it and (if writable) how to write it."""

    tag: Tag
    read: Callable[[], Value]
    write: Writer | None = None


def int_writer(
    allowed: Collection[int] | range, apply: Callable[[int], None], *, what: str
) -> Writer:
    """A writer for an INTEGER object that accepts the values in `allowed` only."""

    def write(value: Value) -> Commit:
        n = value.number
        if n not in allowed:
            raise SetError("wrongValue", f"{what}: {n} is not one of {_describe(allowed)}")
        return lambda: apply(n)

    return write


def _describe(allowed: Collection[int] | range) -> str:
    if isinstance(allowed, range):
        return f"{allowed.start}..{allowed.stop - 1}"
    return ", ".join(str(a) for a in sorted(allowed))


class Mib:
    """The OID table of one device."""

    def __init__(self) -> None:
        self._vars: dict[Oid, Var] = {}
        self._sorted: list[Oid] | None = None
        # Table columns whose missing instances answer noCreation (or are created) on SET
        # instead of notWritable: a real agent knows the object type, not the instance.
        self._columns: dict[Oid, Creator | None] = {}

    def add(self, oid: Oid, var: Var) -> None:
        self._vars[oid] = var
        self._sorted = None

    def scalar(
        self, oid: Oid, tag: Tag, read: Callable[[], Value], write: Writer | None = None
    ) -> None:
        self.add(oid, Var(tag, read, write))

    def constant(self, oid: Oid, value: Value) -> None:
        self.add(oid, Var(value.tag, lambda: value))

    def remove(self, oid: Oid) -> None:
        if self._vars.pop(oid, None) is not None:
            self._sorted = None

    def remove_index(self, columns: Collection[Oid], index: Oid) -> None:
        """Drop one row: the instance `index` of each column."""
        for column in columns:
            self.remove(column + index)

    def column(self, prefix: Oid, creator: Creator | None = None) -> None:
        """Declare a table column, optionally with a creator for new rows (RowStatus)."""
        self._columns[prefix] = creator

    def get(self, oid: Oid) -> Var | None:
        return self._vars.get(oid)

    def __contains__(self, oid: Oid) -> bool:
        return oid in self._vars

    def __len__(self) -> int:
        return len(self._vars)

    def next_oid(self, oid: Oid) -> Oid | None:
        """The first instance strictly after `oid` in lexicographic order, or None."""
        keys = self._keys()
        i = bisect.bisect_right(keys, oid)
        return keys[i] if i < len(keys) else None

    def oids(self) -> list[Oid]:
        return list(self._keys())

    def walk(self) -> Iterator[tuple[Oid, Value]]:
        for key in self._keys():
            yield key, self._vars[key].read()

    def prepare_set(self, oid: Oid, value: Value) -> Commit:
        """Validate one SET variable; return its commit or raise SetError."""
        var = self._vars.get(oid)
        if var is None:
            for prefix, creator in self._columns.items():
                if oid[: len(prefix)] == prefix and len(oid) > len(prefix):
                    if creator is None:
                        raise SetError(
                            "noCreation",
                            f"{format_oid(oid)}: no such row, rows of this table cannot be created",
                        )
                    return creator(oid[len(prefix) :], value)
            raise SetError("notWritable", f"{format_oid(oid)}: no such object on this device")
        if var.write is None:
            raise SetError("notWritable", f"{format_oid(oid)}: read-only object")
        if value.tag is not var.tag:
            raise SetError(
                "wrongType", f"{format_oid(oid)}: expects {var.tag.name}, got {value.tag.name}"
            )
        return var.write(value)

    def _keys(self) -> list[Oid]:
        if self._sorted is None:
            self._sorted = sorted(self._vars)
        return self._sorted
