"""Static devices replayed from snmprec recordings, and the exporter that makes them.

snmprec is the text format of snmpsim: one `OID|TYPE|VALUE` line per object, TYPE being
the numeric ASN.1 tag (2 Integer, 4 OctetString, 4x the same hex-encoded, 5 Null,
6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64).
A recorded device is read-only: every SET answers notWritable.

Recordings published with snmpsim (the snmpsim-data package) also use two of its
variation modules, `TYPE:writecache|value=V` and `TYPE:numeric|initial=N,min=..,...`; a
replay here serves their recorded or starting value as a constant (`initial`, else
`min`, else `offset`, else 0): a recording is a snapshot, not a model. A `.bz2` file is
decompressed on the fly.
"""

from __future__ import annotations

import bz2
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agent.sim.snmp import values as v
from agent.sim.snmp.device import Clock, SimDevice, _FaultedMib
from agent.sim.snmp.faults import Faults, SimCredentials
from agent.sim.snmp.mib import Var
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
    # Lines of a published recording known to be broken (e.g. a `4x` value that is not
    # hex): those objects are left out, as if the device did not have them. Any other
    # broken line still fails the load.
    broken_lines: frozenset[int] = frozenset()


def read_snmprec(path: Path) -> str:
    """The text of a recording, decompressing `.bz2` files. Published recordings hold
    raw non-UTF-8 octets in plain `4|` values (MAC addresses, vendor strings): they are
    kept as surrogate escapes and served as the very octets of the file."""
    if path.suffix == ".bz2":
        with bz2.open(path, "rt", encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    return path.read_text(encoding="utf-8", errors="surrogateescape")


# One recorded object before its value is parsed: TYPE, VALUE and the line number.
Row = tuple[str, str, int]


def index_snmprec(
    text: str, source: str = "<snmprec>", *, skip: frozenset[int] = frozenset()
) -> dict[Oid, Row]:
    """Every object of a recording with its raw TYPE and VALUE, values not yet parsed
    (parsing a value costs more than its OID: a large recording is served lazily).

    Lines numbered in `skip` are parsed now and left out if they do not parse; a listed
    line that parses is an error too, so the list cannot go stale."""
    out: dict[Oid, Row] = {}
    # Lines end at "\n" only: raw octets of a value (a MAC address holding 0x1c or 0x85)
    # are line breaks to str.splitlines() but not to snmprec.
    for number, raw_line in enumerate(text.split("\n"), 1):
        line = raw_line.removesuffix("\r")
        if not line or line[0] == "#" or not line.strip():
            continue
        try:
            o, raw_type, raw_value = _split_line(line)
            if number in skip:
                parse_value(raw_type, raw_value)
        except ValueError as exc:
            if number in skip:
                continue
            raise ValueError(f"{source}:{number}: {exc}") from None
        if number in skip:
            raise ValueError(
                f"{source}:{number}: listed as broken but parses; remove it from broken_lines"
            )
        out[o] = (raw_type, raw_value, number)
    return out


def _split_line(line: str) -> tuple[Oid, str, str]:
    parts = line.split("|", 2)
    if len(parts) != 3:
        raise ValueError(f"expected OID|TYPE|VALUE, got {line[:80]!r}")
    raw_oid, raw_type, raw_value = parts
    o = tuple(map(int, raw_oid.split("."))) if raw_oid[:1].isdigit() else ()
    if len(o) < 2 or min(o) < 0:
        o = parse_oid(raw_oid)
    return o, raw_type, raw_value


def parse_snmprec(
    text: str, source: str = "<snmprec>", *, skip: frozenset[int] = frozenset()
) -> dict[Oid, Value]:
    """Parse a recording; every error names the file and line (see index_snmprec for
    `skip`)."""
    out: dict[Oid, Value] = {}
    for o, (raw_type, raw_value, number) in index_snmprec(text, source, skip=skip).items():
        try:
            out[o] = parse_value(raw_type, raw_value)
        except ValueError as exc:
            raise ValueError(f"{source}:{number}: {exc}") from None
    return out


def parse_value(raw_type: str, raw: str) -> Value:
    """One snmprec TYPE and VALUE (plain or an snmpsim variation) as a Value."""
    if ":" in raw_type:
        raw_type, raw = _variation(raw_type, raw)
    return _parse_value(raw_type, raw)


def _variation(raw_type: str, raw: str) -> tuple[str, str]:
    """The constant an snmpsim variation line stands for, as a plain TYPE and VALUE."""
    base, module = raw_type.split(":", 1)
    params: dict[str, str] = {}
    for item in raw.split(","):
        key, sep, val = item.partition("=")
        if not sep:
            raise ValueError(f"variation {module!r}: parameter {item!r} is not key=value")
        params[key.strip()] = val
    if module == "writecache":
        if "value" not in params:
            raise ValueError("variation 'writecache' without value=...")
        return base, params["value"]
    if module == "numeric":
        for key in ("initial", "min", "offset"):
            if key in params:
                return base, str(int(float(params[key])))
        return base, "0"
    raise ValueError(
        f"snmpsim variation {module!r} is not supported (only writecache and numeric); "
        "replace the line with a plain value"
    )


def _parse_value(raw_type: str, raw: str) -> Value:
    hex_encoded = raw_type.endswith("x")
    try:
        tag = Tag(int(raw_type.rstrip("x")))
    except ValueError:
        raise ValueError(
            f"type {raw_type!r} is not an snmprec ASN.1 tag ({[t.value for t in Tag]})"
        ) from None
    if hex_encoded:
        if tag not in (Tag.OCTET_STRING, Tag.OPAQUE, Tag.IP_ADDRESS):
            raise ValueError(f"type {raw_type!r}: only octet strings can be hex-encoded")
        try:
            data = bytes.fromhex(raw)
        except ValueError:
            raise ValueError(f"{raw[:40]!r} is not hex") from None
        if tag is Tag.IP_ADDRESS and len(data) != 4:
            raise ValueError(f"IpAddress {raw!r}: {len(data)} octets, IPv4 has 4")
        return Value(tag, data)
    if tag in (Tag.OCTET_STRING, Tag.OPAQUE):
        return Value(tag, raw.encode("utf-8", "surrogateescape"))
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


class _RecordedMib(_FaultedMib):
    """A recording's objects, each value parsed on its first read: loading a recording of
    a million objects then costs little more than sorting their OIDs. A value that does
    not parse fails its request with an error naming the file and line."""

    def __init__(self, faults: Faults, rows: dict[Oid, Row], source: str) -> None:
        super().__init__(faults)
        self._rows = rows
        self._source = source
        self._parsed: dict[Oid, Var] = {}
        self._order = sorted(rows)

    def add(self, oid: Oid, var: Var) -> None:
        raise TypeError(f"{self._source}: a recorded device serves its recording only")

    def get(self, oid: Oid) -> Var | None:
        var = self._parsed.get(oid)
        if var is None:
            row = self._rows.get(oid)
            if row is None:
                return None
            raw_type, raw_value, number = row
            try:
                value = parse_value(raw_type, raw_value)
            except ValueError as exc:
                raise ValueError(f"{self._source}:{number}: {exc}") from None
            var = self._parsed[oid] = Var(value.tag, lambda: value)
        return var

    def __contains__(self, oid: Oid) -> bool:
        return oid in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def _keys(self) -> list[Oid]:
        return self._order

    def walk(self) -> Iterator[tuple[Oid, Value]]:
        for key in self._order:
            var = self.get(key)
            assert var is not None
            yield key, var.read()


def _first_value(rows: dict[Oid, Row], oid: Oid) -> Value | None:
    row = rows.get(oid)
    return None if row is None else parse_value(row[0], row[1])


class RecordedDevice(SimDevice):
    """A read-only device answering exactly what a recording holds."""

    kind = "recording"

    def __init__(self, spec: RecordingSpec, set_log: SetLog, clock: Clock = time.monotonic) -> None:
        try:
            text = read_snmprec(spec.path)
        except OSError as exc:
            raise OSError(
                f"RecordingSpec {spec.id!r}: cannot read {spec.path}: {exc.strerror}"
            ) from exc
        rows = index_snmprec(text, str(spec.path), skip=spec.broken_lines)
        descr = _first_value(rows, SYS_DESCR)
        sys_oid = _first_value(rows, SYS_OBJECT_ID)
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
        self.mib = _RecordedMib(self.faults, rows, str(spec.path))
