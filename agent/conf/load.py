"""Load a rack config: TOML -> frozen `RackConfig`, or a `ConfigError` listing every problem.

Nothing here does I/O beyond reading the config and its secrets file: the whole config is
validated before the agent touches a device. Each section, and each item of an array of
tables, is decoded on its own so that one bad PDU does not hide a bad server; cross
references are then checked on everything that decoded.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import stat

# Python >= 3.11 is required, so the standard library's tomllib is always there; the
# tomli dependency in pyproject only serves older interpreters, should the floor move.
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import msgspec

from agent.conf.checks import cross_check
from agent.conf.guard import MAX_BYTES, check_document, check_text, decode_bytes
from agent.conf.schema import RackConfig
from agent.conf.units import make_dec_hook
from agent.errors import ConfigError

_PATH_IN_MSG = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<key>[^`]+)`")
_SEGMENT = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[\"?([^\]\"]+)\"?\]")

_SECTION_TYPES: dict[str, Any] = typing.get_type_hints(RackConfig)
_INTERNAL = {"source", "digest"}


def _unwrap(tp: Any) -> Any:
    """`X | None` -> X, so paths can walk through optional tables."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _type_at(root: Any, path: str) -> Any:
    """The declared type reached by following a msgspec error path from ``root``."""
    tp = _unwrap(root)
    for name, index, key in _SEGMENT.findall(path):
        if name:
            hints = typing.get_type_hints(tp) if isinstance(tp, type) else {}
            tp = _unwrap(hints.get(name, Any))
        elif index or key:
            args = typing.get_args(tp)
            tp = _unwrap(args[-1]) if args else Any
    return tp


def _describe(where: str, root: Any, error: msgspec.ValidationError) -> str:
    match = _PATH_IN_MSG.match(str(error))
    assert match is not None
    msg, sub = match.group("msg"), match.group("path") or ""
    unknown = _UNKNOWN.match(msg)
    if unknown:
        key = unknown.group("key")
        owner = _type_at(root, sub)
        known = sorted(f for f in getattr(owner, "__struct_fields__", ()) if f not in _INTERNAL)
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(known)}"
        return f"{where}{sub}.{key}: unknown key ({hint})"
    missing = _MISSING.match(msg)
    if missing:
        return f"{where}{sub}.{missing.group('key')}: required key is missing; add it"
    if msg.startswith("Invalid enum value"):
        allowed = typing.get_args(_type_at(root, sub))
        if allowed:
            msg += f" (allowed: {', '.join(repr(a) for a in allowed)})"
    return f"{where}{sub}: {msg}"


def _read_secrets(config_path: Path, name: str, problems: list[str]) -> tuple[dict[str, str], str]:
    if not name:
        return {}, ""
    path = (config_path.parent / name).resolve()
    label = f"{config_path.name}: secrets_file"
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(f"{label}: cannot read {path}: {exc.strerror}; create it with mode 0600")
        return {}, str(path)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        problems.append(
            f"{label}: {path} is readable by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}`"
        )
    try:
        doc = tomllib.loads(check_text(decode_bytes(raw, path.name), path.name))
        problems.extend(check_document(doc, path.name))
    except ConfigError as exc:
        problems.extend(exc.problems)
        return {}, str(path)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path.name}: not valid TOML: {exc}")
        return {}, str(path)
    secrets = {k: v for k, v in doc.items() if isinstance(v, str)}
    for key, value in doc.items():
        if not isinstance(value, str):
            problems.append(
                f"{path.name}: {key}: a secret must be a string, got {type(value).__name__}"
            )
    return secrets, str(path)


def parse_config(text: str, *, path: Path | str = "rack.toml") -> RackConfig:
    """Validate a config given as text. ``path`` names it in errors and anchors
    ``secrets_file``. Raises ConfigError with every problem found."""
    path = Path(path)
    where = path.name
    text = check_text(text, where)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{where}: not valid TOML: {exc}"]) from exc
    except RecursionError as exc:  # check_text bounds nesting; this is the last fence
        raise ConfigError(
            [f"{where}: nested too deeply for the TOML parser; a rack config never needs that"]
        ) from exc
    problems = check_document(doc, where)
    if problems:
        raise ConfigError(problems)

    secrets_name = doc.get("secrets_file", "")
    if not isinstance(secrets_name, str):
        problems.append(f"{where}: secrets_file: expected a file name string")
        secrets_name = ""
    secrets, secrets_source = _read_secrets(path, secrets_name, problems)
    dec_hook = make_dec_hook(secrets, secrets_source)

    decoded: dict[str, Any] = {}
    broken: set[str] = set()
    for key, value in doc.items():
        if key not in _SECTION_TYPES or key in _INTERNAL:
            known = [k for k in _SECTION_TYPES if k not in _INTERNAL]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"known: {', '.join(known)}"
            problems.append(f"{where}: {key}: unknown top-level key ({hint})")
            continue
        decoded[key] = _decode_section(
            where,
            key,
            value,
            _SECTION_TYPES[key],
            dec_hook=dec_hook,
            problems=problems,
            broken=broken,
        )
    for required in ("rack", "vlans"):
        if required not in doc:
            problems.append(
                f"{where}: [{required}]: required table is missing; see config/rack.example.toml"
            )

    if all(decoded.get(k) is not None for k in ("rack", "vlans")):
        present = {k: v for k, v in decoded.items() if v is not None}
        config = RackConfig(
            **present,
            source=str(path),
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
        problems.extend(f"{where}: {p}" for p in _without_echoes(cross_check(config), broken))
        if not problems:
            return config
    raise ConfigError(problems)


def _decode_section(
    where: str,
    key: str,
    value: Any,
    tp: Any,
    *,
    dec_hook: Any,
    problems: list[str],
    broken: set[str],
) -> Any:
    """Decode one section; arrays of tables and maps item by item, so every bad item is
    reported. Adds the names of items that failed to ``broken``. Returns None if nothing
    usable decoded."""
    origin = typing.get_origin(tp)
    if origin is list and isinstance(value, list):
        (item_tp,) = typing.get_args(tp)
        items = []
        for index, item in enumerate(value):
            try:
                items.append(msgspec.convert(item, item_tp, dec_hook=dec_hook, strict=True))
            except msgspec.ValidationError as exc:
                problems.append(_describe(f"{where}: {key}[{index}]", item_tp, exc))
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    broken.add(item["id"])
        return items
    if origin is dict and isinstance(value, dict):
        _, item_tp = typing.get_args(tp)
        entries = {}
        for name, item in value.items():
            try:
                entries[name] = msgspec.convert(item, item_tp, dec_hook=dec_hook, strict=True)
            except msgspec.ValidationError as exc:
                problems.append(_describe(f"{where}: {key}.{name}", item_tp, exc))
                broken.add(name)
        return entries
    try:
        return msgspec.convert(value, tp, dec_hook=dec_hook, strict=True)
    except msgspec.ValidationError as exc:
        problems.append(_describe(f"{where}: {key}", tp, exc))
        return None


_DANGLING = ("is not defined", "no PDU has id", "no device has id", "is not a device id")


def _without_echoes(problems: list[str], broken: set[str]) -> list[str]:
    """Drop "unknown reference" problems about items that exist but failed to decode:
    their own error is already reported, and "not defined" would send the operator to
    the wrong place."""
    return [
        p
        for p in problems
        if not any(f"{name!r}" in p and any(d in p for d in _DANGLING) for name in broken)
    ]


def load_config(path: Path | str) -> RackConfig:
    """Read and validate a rack config file (see `parse_config`)."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(
            [f"{path}: no such file; give the path of a rack config (see config/rack.example.toml)"]
        ) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    return parse_config(decode_bytes(raw, str(path)), path=path)


def config_to_builtins(config: RackConfig) -> Any:
    """The config as plain data for `check-config --json` (secrets masked)."""
    from agent.conf.units import enc_hook  # noqa: PLC0415 - only the CLI needs it

    return msgspec.to_builtins(config, enc_hook=enc_hook)
