"""Typed SNMP values, independent of any SNMP library.

Device models speak these, not pysnmp objects: the models stay plain Python (testable
without sockets) and the snmprec exporter maps them one to one, since a value's tag is
the numeric ASN.1 tag snmprec files use.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

Oid = tuple[int, ...]


class Tag(enum.IntEnum):
    """ASN.1 tags of the SMIv2 base types, numbered as in snmprec files."""

    INTEGER = 2
    OCTET_STRING = 4
    NULL = 5
    OBJECT_IDENTIFIER = 6
    IP_ADDRESS = 64
    COUNTER32 = 65
    GAUGE32 = 66
    TIMETICKS = 67
    OPAQUE = 68
    COUNTER64 = 70


_INT_RANGES: dict[Tag, tuple[int, int]] = {
    Tag.INTEGER: (-(2**31), 2**31 - 1),
    Tag.COUNTER32: (0, 2**32 - 1),
    Tag.GAUGE32: (0, 2**32 - 1),
    Tag.TIMETICKS: (0, 2**32 - 1),
    Tag.COUNTER64: (0, 2**64 - 1),
}


@dataclass(frozen=True, slots=True)
class Value:
    """One SNMP value: its tag and its payload (int, bytes or an OID tuple)."""

    tag: Tag
    data: int | bytes | Oid

    def __post_init__(self) -> None:
        if self.tag in _INT_RANGES:
            low, high = _INT_RANGES[self.tag]
            if not isinstance(self.data, int) or not low <= self.data <= high:
                raise ValueError(
                    f"snmp value: {self.data!r} is not a valid {self.tag.name} "
                    f"(an integer in {low}..{high}); clamp or fix the model"
                )
        elif self.tag in (Tag.OCTET_STRING, Tag.OPAQUE, Tag.IP_ADDRESS):
            if not isinstance(self.data, bytes):
                raise ValueError(f"snmp value: {self.tag.name} needs bytes, got {self.data!r}")
        elif self.tag is Tag.OBJECT_IDENTIFIER and not isinstance(self.data, tuple):
            raise ValueError(f"snmp value: OBJECT IDENTIFIER needs a tuple, got {self.data!r}")

    @property
    def number(self) -> int:
        """The payload of an integer-like value."""
        if not isinstance(self.data, int):
            raise TypeError(f"snmp value: {self.tag.name} {self.data!r} is not an integer")
        return self.data

    @property
    def octets(self) -> bytes:
        """The payload of an OCTET STRING (or IpAddress, Opaque)."""
        if not isinstance(self.data, bytes):
            raise TypeError(f"snmp value: {self.tag.name} {self.data!r} is not an octet string")
        return self.data


def integer(n: int) -> Value:
    return Value(Tag.INTEGER, int(n))


def gauge(n: float) -> Value:
    """Gauge32, clamped at the type's bounds as an agent's counters saturate."""
    return Value(Tag.GAUGE32, max(0, min(2**32 - 1, round(n))))


def counter32(n: int) -> Value:
    return Value(Tag.COUNTER32, n % 2**32)


def timeticks(seconds: float) -> Value:
    """TimeTicks (hundredths of a second), wrapping as sysUpTime does after 497 days."""
    return Value(Tag.TIMETICKS, int(seconds * 100) % 2**32)


def octets(s: str | bytes) -> Value:
    return Value(Tag.OCTET_STRING, s.encode() if isinstance(s, str) else s)


def oid(dotted: str | Oid) -> Value:
    return Value(Tag.OBJECT_IDENTIFIER, parse_oid(dotted) if isinstance(dotted, str) else dotted)


def ip_address(dotted: str) -> Value:
    parts = [int(p) for p in dotted.split(".")]
    if len(parts) != 4 or not all(0 <= p <= 255 for p in parts):
        raise ValueError(f"snmp value: {dotted!r} is not an IPv4 address (a.b.c.d)")
    return Value(Tag.IP_ADDRESS, bytes(parts))


def parse_oid(dotted: str) -> Oid:
    """'1.3.6.1' or '.1.3.6.1' to a tuple; refuses anything else with the offending text."""
    text = dotted.strip().lstrip(".")
    try:
        parts = tuple(int(p) for p in text.split("."))
    except ValueError:
        raise ValueError(f"oid {dotted!r}: not a dotted list of integers like 1.3.6.1") from None
    if len(parts) < 2 or any(p < 0 for p in parts):
        raise ValueError(f"oid {dotted!r}: needs at least two non-negative arcs")
    return parts


def format_oid(o: Oid) -> str:
    return ".".join(str(p) for p in o)
