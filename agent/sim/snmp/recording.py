"""Static devices replayed from snmprec recordings, and the exporter that makes them.

snmprec is the text format of snmpsim: one `OID|TYPE|VALUE` line per object, TYPE being
the numeric ASN.1 tag (2 Integer, 4 OctetString, 4x the same hex-encoded, 5 Null,
6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64).
A recorded device is read-only: every SET answers notWritable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.sim.snmp import values as v
from agent.sim.snmp.device import Clock, SimDevice
from agent.sim.snmp.faults import SimCredentials
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.values import Oid, Tag, Value, format_oid, parse_oid

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


@dataclass(frozen=True)
class RecordingSpec:
    id: str
    path: Path
    credentials: SimCredentials = field(default_factory=SimCredentials)
    port: int = 0


def parse_snmprec(text: str, source: str = "<snmprec>") -> dict[Oid, Value]:
    """Parse a recording; every error names the file and line."""
    out: dict[Oid, Value] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{source}:{number}"
        parts = line.split("|", 2)
        if len(parts) != 3:
            raise ValueError(f"{where}: expected OID|TYPE|VALUE, got {line[:80]!r}")
        raw_oid, raw_type, raw_value = parts
        try:
            o = parse_oid(raw_oid)
            out[o] = _parse_value(raw_type, raw_value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return out


def _parse_value(raw_type: str, raw: str) -> Value:
    hex_encoded = raw_type.endswith("x")
    try:
        tag = Tag(int(raw_type.rstrip("x")))
    except ValueError:
        raise ValueError(
            f"type {raw_type!r} is not an snmprec ASN.1 tag ({[t.value for t in Tag]})"
        ) from None
    if hex_encoded:
        if tag not in (Tag.OCTET_STRING, Tag.OPAQUE):
            raise ValueError(f"type {raw_type!r}: only octet strings can be hex-encoded")
        try:
            return Value(tag, bytes.fromhex(raw))
        except ValueError:
            raise ValueError(f"{raw!r} is not hex") from None
    if tag in (Tag.OCTET_STRING, Tag.OPAQUE):
        return Value(tag, raw.encode())
    if tag is Tag.NULL:
        return Value(tag, b"")
    if tag is Tag.OBJECT_IDENTIFIER:
        return v.oid(raw)
    if tag is Tag.IP_ADDRESS:
        return v.ip_address(raw)
    try:
        return Value(tag, int(raw))
    except ValueError:
        raise ValueError(f"{raw!r} is not an integer for type {tag.name}") from None


def _format_value(value: Value) -> str:
    if value.tag is Tag.NULL:
        return "5|"
    if isinstance(value.data, tuple):
        return f"{value.tag.value}|{format_oid(value.data)}"
    if isinstance(value.data, int):
        return f"{value.tag.value}|{value.data}"
    if value.tag is Tag.IP_ADDRESS:
        return f"{value.tag.value}|{'.'.join(str(b) for b in value.data)}"
    try:
        text = value.data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    else:
        if text.isprintable() and "|" not in text:
            return f"{value.tag.value}|{text}"
    return f"{value.tag.value}x|{value.data.hex()}"


def record(device: SimDevice) -> str:
    """Export a device's present state as an snmprec recording (sorted by OID)."""
    device.settle()
    return "".join(f"{format_oid(o)}|{_format_value(val)}\n" for o, val in device.mib.walk())


class RecordedDevice(SimDevice):
    """A read-only device answering exactly what a recording holds."""

    kind = "recording"

    def __init__(self, spec: RecordingSpec, set_log: SetLog, clock: Clock = time.monotonic) -> None:
        try:
            text = spec.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise OSError(
                f"RecordingSpec {spec.id!r}: cannot read {spec.path}: {exc.strerror}"
            ) from exc
        table = parse_snmprec(text, str(spec.path))
        descr = table.get(SYS_DESCR)
        sys_oid = table.get(SYS_OBJECT_ID)
        super().__init__(
            spec.id,
            sys_descr=descr.octets.decode("utf-8", "replace")
            if descr and isinstance(descr.data, bytes)
            else "",
            sys_object_id=sys_oid.data if sys_oid and isinstance(sys_oid.data, tuple) else (0, 0),
            credentials=spec.credentials,
            set_log=set_log,
            clock=clock,
            system_group=False,
        )
        for o, value in table.items():
            self.mib.constant(o, value)
