"""What every health reader is, and the tolerant decoding helpers they share.

A reader turns what a driver or an adapter returns into :class:`Reading`s. Readers are
written for devices that answer oddly: a table may come back unsorted, truncated or
with holes, an integer column may hold an OCTET STRING, a text may be hex or not UTF-8.
None of that raises; each odd value becomes an explicit unknown reading that says what
was wrong. Only "the device did not answer" raises (DeviceUnreachable, from the
adapter), which is the poller's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from agent.adapters.snmp_types import MISSING, Missing, Value
from agent.health.sensors import Identity, Reading


class Reader(Protocol):
    """A device's health reader: one poll, and its identity for the self-test."""

    device: str

    async def read(self, ts: float) -> list[Reading]:
        """Every sensor of the device now, stamped ``ts`` (wall clock)."""
        ...

    async def identify(self) -> Identity: ...


def as_int(value: Value | None) -> int | None:
    """An integer value, or None (missing, an OCTET STRING, an OID...).

    Some agents publish numbers as DisplayStrings ("23", "23.5"); a decimal text is
    accepted as its integer part only when it is an integer, since the scale of a
    fractional text is anybody's guess.
    """
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        text = value.decode("ascii", errors="replace").strip("\x00 \r\n")
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def as_str(value: Value | None) -> str:
    """Display text of a value; undecodable bytes are shown hex-escaped, never raised."""
    if value is None or isinstance(value, Missing):
        return ""
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        return text.strip("\x00 \r\n")
    return str(value)


def column(rows: Iterable[tuple[str, Value]], prefix: str) -> dict[str, Value]:
    """The rows of one table column, keyed by their index (the OID after ``prefix.``).

    Order does not matter (an agent that answers unsorted, or a recording replayed out
    of order, gives the same result) and rows of other columns are ignored, so callers
    can walk a whole table once and split it here.
    """
    start = prefix + "."
    cut = len(start)
    return {oid[cut:]: value for oid, value in rows if oid.startswith(start)}


def index_key(index: str) -> tuple[int, ...]:
    """Sort key for a numeric dotted index; odd indexes sort last instead of raising."""
    try:
        return tuple(int(part) for part in index.split("."))
    except ValueError:
        return (2**31,)


def present(value: Value | None) -> bool:
    return value is not None and value is not MISSING
