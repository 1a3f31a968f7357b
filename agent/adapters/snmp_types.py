"""Our own SNMP types: the target, the values we write and the values we read.

Nothing here imports an SNMP library, so drivers, pollers and config code can use these
types without paying for (or depending on) gufo-snmp or pysnmp. ``agent.adapters.snmp``
re-exports all of them; import from there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from agent.errors import ProtocolError

AuthProtocol: TypeAlias = Literal["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"]
PrivProtocol: TypeAlias = Literal["DES", "AES", "AES-192", "AES-256"]
AUTH_PROTOCOLS: tuple[AuthProtocol, ...] = (
    "MD5",
    "SHA",
    "SHA-224",
    "SHA-256",
    "SHA-384",
    "SHA-512",
)
PRIV_PROTOCOLS: tuple[PrivProtocol, ...] = ("DES", "AES", "AES-192", "AES-256")


class Missing(enum.Enum):
    """The agent has no value for this OID: noSuchObject, noSuchInstance or endOfMibView.

    A marker, not an error: optional objects (a PDU without temperature probe, an outlet
    name a firmware does not implement) are normal. Test with ``value is MISSING``.
    """

    MISSING = "missing"

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing.MISSING

# A decoded read value. gufo-snmp decodes INTEGER, Counter32/64, Gauge32/Unsigned32 and
# TimeTicks to int, OCTET STRING (and Opaque) to bytes, OBJECT IDENTIFIER to a dotted
# str without leading dot. IpAddress also arrives as a dotted str: the library does not
# keep the ASN.1 tag, so a caller that needs to tell them apart must know its MIB.
Value: TypeAlias = int | bytes | str | Missing


@dataclass(frozen=True, slots=True)
class V3User:
    """An SNMPv3 user (USM). Keys are pass phrases, as on the device's configuration
    page; they never appear in repr(), logs or exception messages."""

    name: str
    auth_key: str = field(repr=False)
    priv_key: str | None = field(default=None, repr=False)
    auth_protocol: AuthProtocol = "SHA"
    priv_protocol: PrivProtocol = "AES"

    def __post_init__(self) -> None:
        if self.auth_protocol not in AUTH_PROTOCOLS:
            raise ValueError(
                f"SNMPv3 user {self.name!r}: auth_protocol {self.auth_protocol!r} is not one "
                f"of {', '.join(AUTH_PROTOCOLS)}; use the protocol set on the device"
            )
        if self.priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(
                f"SNMPv3 user {self.name!r}: priv_protocol {self.priv_protocol!r} is not one "
                f"of {', '.join(PRIV_PROTOCOLS)}; use the protocol set on the device"
            )
        # RFC 3414 section 11.2: pass phrases shorter than 8 octets are refused by agents.
        for what, key in (("auth_key", self.auth_key), ("priv_key", self.priv_key)):
            if key is not None and len(key) < 8:
                raise ValueError(
                    f"SNMPv3 user {self.name!r}: {what} is shorter than 8 characters "
                    "(RFC 3414 refuses it); set the pass phrase configured on the device"
                )


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Where and how to talk SNMP to one device.

    ``timeout`` is per request (one GET, one GETBULK page, one SET); ``retries`` is how
    many times a read that timed out is sent again; ``backoff`` is the first pause
    between attempts (doubled each time, with jitter). ``max_in_flight`` bounds the
    requests outstanding to this device at once, so a busy poller cannot flood an
    embedded agent. ``write_community`` defaults to ``community``.
    """

    device: str
    host: str
    port: int = 161
    version: Literal["2c", "3"] = "2c"
    community: str = field(default="public", repr=False)
    write_community: str | None = field(default=None, repr=False)
    user: V3User | None = None
    timeout: float = 2.0
    retries: int = 2
    backoff: float = 0.2
    max_in_flight: int = 2
    max_repetitions: int = 25

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.version not in ("2c", "3"):
            problems.append(f"version {self.version!r} is not supported; use '2c' or '3'")
        if self.version == "3" and self.user is None:
            problems.append("version '3' needs a user (name, auth_key, priv_key)")
        if not 0 < self.port < 65536:
            problems.append(f"port {self.port} is not a UDP port; use 1..65535 (usually 161)")
        if self.timeout <= 0:
            problems.append(f"timeout {self.timeout} must be > 0 seconds")
        if self.retries < 0:
            problems.append(f"retries {self.retries} must be >= 0")
        if self.backoff < 0:
            problems.append(f"backoff {self.backoff} must be >= 0 seconds")
        if self.max_in_flight < 1:
            problems.append(f"max_in_flight {self.max_in_flight} must be >= 1")
        if not 1 <= self.max_repetitions <= 200:
            problems.append(f"max_repetitions {self.max_repetitions} must be in 1..200")
        if problems:
            raise ValueError(f"SNMP target {self.device!r}: " + "; ".join(problems))


# --- values we write (SET). Small frozen records so a caller states the ASN.1 type. ---

_INT32 = (-(2**31), 2**31 - 1)
_UINT32 = (0, 2**32 - 1)


def _check_range(kind: str, value: int, bounds: tuple[int, int]) -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"SNMP {kind} {value} is out of range {bounds[0]}..{bounds[1]}")


@dataclass(frozen=True, slots=True)
class Integer:
    """INTEGER / Integer32 (enumerations such as an outlet command)."""

    value: int

    def __post_init__(self) -> None:
        _check_range("Integer", self.value, _INT32)


@dataclass(frozen=True, slots=True)
class Gauge:
    """Gauge32 / Unsigned32."""

    value: int

    def __post_init__(self) -> None:
        _check_range("Gauge", self.value, _UINT32)


@dataclass(frozen=True, slots=True)
class TimeTicks:
    """TimeTicks (hundredths of a second)."""

    value: int

    def __post_init__(self) -> None:
        _check_range("TimeTicks", self.value, _UINT32)


@dataclass(frozen=True, slots=True)
class OctetString:
    """OCTET STRING (DisplayString, PortList bitmaps...)."""

    value: bytes


@dataclass(frozen=True, slots=True)
class Oid:
    """OBJECT IDENTIFIER, dotted, without a leading dot."""

    value: str

    def __post_init__(self) -> None:
        check_oid(self.value)


@dataclass(frozen=True, slots=True)
class IpAddress:
    """IpAddress (IPv4, dotted quad)."""

    value: str

    def __post_init__(self) -> None:
        parts = self.value.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise ValueError(f"SNMP IpAddress {self.value!r} is not a dotted IPv4 quad")


SetValue: TypeAlias = Integer | Gauge | TimeTicks | OctetString | Oid | IpAddress


def check_oid(oid: str) -> str:
    """Return ``oid`` if it is a numeric dotted OID without leading dot, else raise."""
    parts = oid.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError(
            f"OID {oid!r} is not numeric dotted form; write it like '1.3.6.1.2.1.1.2.0' "
            "(no leading dot, no MIB names)"
        )
    return oid


# --- helpers for drivers: check a read value's type and name the place when it is wrong ---


def expect_int(device: str, oid: str, value: Value) -> int:
    """The value as int, or ProtocolError naming the device and OID."""
    if isinstance(value, int):
        return value
    raise ProtocolError(
        device, f"OID {oid} answered {value!r}, expected an integer; check the driver's MIB"
    )


def expect_bytes(device: str, oid: str, value: Value) -> bytes:
    """The value as bytes, or ProtocolError naming the device and OID."""
    if isinstance(value, bytes):
        return value
    raise ProtocolError(
        device, f"OID {oid} answered {value!r}, expected an OCTET STRING; check the driver's MIB"
    )


def expect_oid(device: str, oid: str, value: Value) -> str:
    """The value as a dotted OID, or ProtocolError naming the device and OID."""
    if isinstance(value, str):
        return value
    raise ProtocolError(device, f"OID {oid} answered {value!r}, expected an OBJECT IDENTIFIER")


def as_text(value: Value) -> str | None:
    """A DisplayString as text (undecodable octets replaced), None when missing.

    Integers are rendered in decimal: some firmwares publish a serial or a version
    as a number.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip("\x00 \r\n")
    if isinstance(value, Missing):
        return None
    return str(value)


# What an SNMP message adds around its varbind list, at most: for SNMPv3 the global
# header and USM parameters with the longest keys (SNMP_MAX_MSG_V3_HDRS of net-snmp plus
# engine id, user name, a SHA-512 MAC and a salt) and the scoped PDU's context; for v2c a
# community of up to 240 octets. A PDU whose varbinds take ``max_message - MESSAGE_RESERVE``
# octets fits in a message (and its response) of ``max_message``.
MESSAGE_RESERVE = 300


def _ber_length(n: int) -> int:
    """Octets of a BER tag and length for ``n`` octets of content."""
    return 2 if n < 0x80 else 2 + (n.bit_length() + 7) // 8


def _ber_unsigned(n: int) -> int:
    return n.bit_length() // 8 + 1  # a leading zero octet when the top bit is set


def varbind_octets(oid: str, value: SetValue) -> int:
    """The BER-encoded size of one varbind of a SET (and of its response)."""
    arcs = [int(a) for a in oid.split(".")]
    content = 1 + sum(max(1, (a.bit_length() + 6) // 7) for a in arcs[2:])
    size = _ber_length(content) + content
    match value:
        case Integer(v):
            n = max(1, (v.bit_length() + 8) // 8)  # signed, two's complement
        case Gauge(v) | TimeTicks(v):
            n = _ber_unsigned(v)
        case OctetString(v):
            n = len(v)
        case Oid(v):
            parts = [int(a) for a in v.split(".")]
            n = 1 + sum(max(1, (a.bit_length() + 6) // 7) for a in parts[2:])
        case IpAddress():
            n = 4
    size += _ber_length(n) + n
    return _ber_length(size) + size
