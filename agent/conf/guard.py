"""Limits on the raw config input, checked before and right after TOML parsing.

A rack config is a few kilobytes of tables a person wrote. Anything far outside that
shape (a file of megabytes, arrays nested hundreds deep, a million-item array, a UTF-16
file, a NaN) is refused here with a `ConfigError` naming the place and the fix, so the
parser, the decoder and the cross-checks never meet input that could exhaust the stack
or the memory of the controller.
"""

from __future__ import annotations

import codecs
import math
from typing import Any

from agent.errors import ConfigError

MAX_BYTES = 1 << 20
"""A generous rack config is tens of kilobytes; a megabyte is a wrong file."""
MAX_DEPTH = 16
"""Nesting of arrays and tables; the deepest real config path (a step's args) is 5."""
MAX_ITEMS = 10_000
"""Items of one array or keys of one table; a rack has at most a few hundred ports."""

_FOREIGN_BOMS = (
    # UTF-32 first: its little-endian mark starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_bytes(raw: bytes, where: str) -> str:
    """The config's text: UTF-8, with or without a byte-order mark. Any other encoding is
    named with the command that converts it."""
    if len(raw) > MAX_BYTES:
        raise ConfigError(
            [
                f"{where}: {len(raw)} bytes is not a rack config (the limit is {MAX_BYTES}); "
                "check that the path names the rack's TOML file"
            ]
        )
    for bom, name in _FOREIGN_BOMS:
        if raw.startswith(bom):
            raise ConfigError(
                [
                    f"{where}: the file is {name} (it starts with the byte-order mark "
                    f"{bom.hex(' ')}); TOML is UTF-8: convert it with "
                    f"`iconv -f {name} -t UTF-8 {where} > rack.toml.utf8` and use that"
                ]
            )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(codecs.BOM_UTF8) else 0)
        line = raw.count(b"\n", 0, start) + 1
        column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
        raise ConfigError(
            [
                f"{where}: byte 0x{raw[start]:02x} at line {line}, column {column} is not "
                "UTF-8; save the file as UTF-8 (TOML allows no other encoding)"
            ]
        ) from exc


def check_text(text: str, where: str) -> str:
    """Refuse text too large or nested too deep for the TOML parser, before it runs.
    Returns the text without a leading byte-order mark."""
    text = text.removeprefix("\ufeff")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise ConfigError(
            [
                f"{where}: line {line}: U+{ord(text[exc.start]):04X} is a lone surrogate, "
                "not a character; the text was decoded wrongly: pass the file's UTF-8 text"
            ]
        ) from exc
    if size > MAX_BYTES:
        raise ConfigError(
            [f"{where}: {size} bytes is not a rack config (the limit is {MAX_BYTES})"]
        )
    depth, line = _bracket_depth(text)
    if depth > MAX_DEPTH:
        raise ConfigError([_too_deep(where, f"line {line}", depth)])
    return text


def _too_deep(where: str, place: str, depth: int) -> str:
    return (
        f"{where}: {place}: arrays and tables nest {depth} deep here (at most {MAX_DEPTH}); "
        "a rack config never needs that: look for a run of '[' or '{' or a long dotted key"
    )


def _bracket_depth(text: str) -> tuple[int, int]:
    """The first nesting depth of ``[`` and ``{`` past MAX_DEPTH (or the deepest seen) and
    its line, outside strings and comments."""
    deepest = depth = 0
    deepest_line = line = 1
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "\n":
            line += 1
        elif char == "#":
            stop = text.find("\n", i)
            i = end if stop < 0 else stop
            continue
        elif char in "\"'":
            delimiter = char * 3 if text.startswith(char * 3, i) else char
            i, line = _skip_string(text, i + len(delimiter), delimiter, line)
            continue
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
                if depth > MAX_DEPTH:
                    break
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest, deepest_line


def _skip_string(text: str, i: int, delimiter: str, line: int) -> tuple[int, int]:
    """The index after the string that opened with ``delimiter`` just before ``i``."""
    escapes = delimiter[0] == '"'
    multiline = len(delimiter) == 3
    end = len(text)
    while i < end:
        char = text[i]
        if escapes and char == "\\":
            line += text[i + 1 : i + 2] == "\n"
            i += 2
            continue
        if char == "\n":
            line += 1
            if not multiline:
                return i, line - 1  # unterminated: the TOML parser names it
        if text.startswith(delimiter, i):
            i += len(delimiter)
            if multiline:  # up to two quotes may close the content: """a""""
                while i < end and text[i] == delimiter[0] and text.startswith(delimiter, i - 2):
                    i += 1
            return i, line
        i += 1
    return i, line


def check_document(doc: dict[str, Any], where: str) -> list[str]:
    """Problems of the parsed document's shape: nesting (dotted keys and headers nest
    without brackets), array and table sizes, and numbers that are not finite."""
    problems: list[str] = []
    stack: list[tuple[str, Any, int]] = [("", doc, 0)]
    while stack and len(problems) < 20:
        path, node, depth = stack.pop()
        if depth > MAX_DEPTH:
            problems.append(_too_deep(where, path.lstrip(".")[:200], depth))
            continue
        if isinstance(node, dict):
            if len(node) > MAX_ITEMS:
                problems.append(
                    f"{where}: {path.lstrip('.') or 'the top level'}: {len(node)} keys in one "
                    f"table (at most {MAX_ITEMS}); a rack config is never that large"
                )
                continue
            stack.extend((f"{path}.{key}", value, depth + 1) for key, value in node.items())
        elif isinstance(node, list):
            if len(node) > MAX_ITEMS:
                problems.append(
                    f"{where}: {path.lstrip('.')}: an array of {len(node)} items (at most "
                    f"{MAX_ITEMS}); a rack config is never that large"
                )
                continue
            stack.extend((f"{path}[{i}]", value, depth + 1) for i, value in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            problems.append(
                f"{where}: {path.lstrip('.')}: {node} is not a usable number; give a finite one"
            )
    return problems
