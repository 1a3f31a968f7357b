"""The annotated example rack config (config/rack.example.toml) stays true to the schema.

- it loads, and `cleanroom check-config` accepts it;
- it is complete: every key of every config record (agent/conf/schema.py, and every step
  kind's args record in agent/conf/steps.py) appears in it at least once, in a table of
  that record, so adding a config key without documenting it fails here, naming the key;
- every key line carries a comment (on the line, or just above for a block of at most 4
  consecutive keys);
- every step kind is in its runbook, and every credential in it is a "secret:NAME"
  reference, never a literal (the example is copied to real racks).

The secrets file's 0600 mode is not kept by git, so each test works on a copy in
tmp_path with the mode set, as an operator would do on the controller.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.conf import RackConfig, load_config
from agent.conf.schema import Step, StepKind
from agent.conf.steps import STEP_ARGS
from agent.conf.units import Secret

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "rack.example.toml"
SECRETS = ROOT / "config" / "rack.example.secrets.toml"
# RackConfig fields the loader fills itself; a config file may not set them.
INTERNAL = {(RackConfig, "source"), (RackConfig, "digest")}
# One comment may introduce a block of at most this many consecutive key lines.
MAX_BLOCK = 4

StructType = type[msgspec.Struct]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example and its secrets file, copied side by side, secrets at mode 0600."""
    config = tmp_path / EXAMPLE.name
    shutil.copyfile(EXAMPLE, config)
    secrets = tmp_path / SECRETS.name
    shutil.copyfile(SECRETS, secrets)
    secrets.chmod(0o600)
    return config


# --- walking the schema and the document together --------------------------------------


def _arms(tp: Any) -> list[Any]:
    """The alternatives of a union annotation (``X | None`` -> [X]), else [tp]."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _key_names(struct: StructType) -> dict[str, str]:
    """TOML key -> attribute name of each field a config file may set."""
    return {
        f.encode_name: f.name
        for f in msgspec.structs.fields(struct)
        if (struct, f.name) not in INTERNAL
    }


def reachable_structs(root: StructType = RackConfig) -> set[StructType]:
    """Every record type a config can contain: those reached through the annotations
    (nested, in lists, dict values, optionals) plus every step kind's args record, which
    `Step.args` (a plain dict) hides from the annotations."""
    found: set[StructType] = set()
    pending: list[Any] = [root, *STEP_ARGS.values()]
    while pending:
        tp = pending.pop()
        for arm in _arms(tp):
            if _is_struct(arm):
                if arm not in found:
                    found.add(arm)
                    pending.extend(typing.get_type_hints(arm).values())
            elif typing.get_origin(arm) in (list, dict):
                pending.extend(typing.get_args(arm))
    return found


class DocWalk:
    """Keys seen per record type, and every value given for a Secret field."""

    def __init__(self) -> None:
        self.keys: dict[StructType, set[str]] = {}
        self.secrets: list[tuple[str, object]] = []

    def walk(self, tp: Any, value: object, where: str) -> None:
        for arm in _arms(tp):
            if arm is Secret:
                self.secrets.append((where, value))
            elif _is_struct(arm) and isinstance(value, dict):
                self._table(arm, value, where)
            elif typing.get_origin(arm) is list and isinstance(value, list):
                (item_tp,) = typing.get_args(arm)
                for i, item in enumerate(value):
                    self.walk(item_tp, item, f"{where}[{i}]")
            elif typing.get_origin(arm) is dict and isinstance(value, dict):
                _, item_tp = typing.get_args(arm)
                for name, item in value.items():
                    self.walk(item_tp, item, f"{where}.{name}")

    def _table(self, struct: StructType, table: dict[str, Any], where: str) -> None:
        self.keys.setdefault(struct, set()).update(table)
        hints = typing.get_type_hints(struct)
        names = _key_names(struct)
        for key, item in table.items():
            if key in names:
                self.walk(hints[names[key]], item, f"{where}.{key}" if where else key)
        if struct is Step:
            # The args record depends on the step's kind; the loader checks it the same way.
            args_type = STEP_ARGS.get(str(table.get("kind")))
            if args_type is not None:
                self.walk(args_type, table.get("args", {}), f"{where}.args")


def undocumented_keys(doc: dict[str, Any]) -> list[str]:
    """``Record.key`` for every settable field that no table of its record sets."""
    walk = DocWalk()
    walk.walk(RackConfig, doc, "")
    missing = []
    for struct in reachable_structs():
        seen = walk.keys.get(struct, set())
        missing += [f"{struct.__name__}.{k}" for k in _key_names(struct) if k not in seen]
    return sorted(missing)


# --- the comment rule ------------------------------------------------------------------

_KEY = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
KEY_LINE = re.compile(rf"^\s*{_KEY}(?:\s*\.\s*{_KEY})*\s*=")
COMMENT_LINE = re.compile(r"^\s*#")


def _has_trailing_comment(line: str) -> bool:
    """A ``#`` outside any string on the line (strings may contain ``#``)."""
    quote = ""
    escaped = False
    for char in line:
        if quote == '"' and escaped:
            escaped = False
        elif quote == '"' and char == "\\":
            escaped = True
        elif quote and char == quote:
            quote = ""
        elif not quote and char in "\"'":
            quote = char
        elif not quote and char == "#":
            return True
    return False


def uncommented_keys(text: str) -> list[str]:
    """``line N: text`` for every key line with no comment on it, nor on the line just
    above a block of at most MAX_BLOCK consecutive key lines that includes it."""
    lines = text.splitlines()
    in_multiline_string = False
    key_lines: set[int] = set()
    for n, line in enumerate(lines):
        if not in_multiline_string and KEY_LINE.match(line):
            key_lines.add(n)
        # A key = """ ... """ string spans lines whose text is not TOML syntax.
        if (line.count('"""') + line.count("'''")) % 2:
            in_multiline_string = not in_multiline_string
    problems = []
    for n in sorted(key_lines):
        if _has_trailing_comment(lines[n]):
            continue
        above = n - 1
        while above >= 0 and above in key_lines and n - above < MAX_BLOCK:
            above -= 1
        if above < 0 or not COMMENT_LINE.match(lines[above]):
            problems.append(f"line {n + 1}: {lines[n].strip()}")
    return problems


# --- the tests ---------------------------------------------------------------------------


def test_example_loads(example: Path) -> None:
    config = load_config(example)
    assert config.rack.id == "ars-idf-cr02"
    assert config.secrets_file == SECRETS.name
    # A real deployment, not the loopback demo: every device answers on a network.
    hosts = [p.host for p in config.pdu] + [u.host for u in config.ups]
    assert hosts
    assert not [h for h in hosts if h.startswith("127.")]


def test_example_runbook_has_every_step_kind(example: Path) -> None:
    config = load_config(example)
    kinds = {step.kind for step in config.runbook.step}
    assert set(typing.get_args(StepKind)) == set(STEP_ARGS)
    assert kinds == set(STEP_ARGS), f"step kinds missing from the example: {set(STEP_ARGS) - kinds}"


def test_example_documents_every_key() -> None:
    doc = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    missing = undocumented_keys(doc)
    assert not missing, (
        f"{EXAMPLE.relative_to(ROOT)} does not show these config keys: {', '.join(missing)}; "
        "add each, with a comment saying what it is for, its unit and its default"
    )


def test_completeness_check_sees_a_removed_key() -> None:
    """The check above can fail: drop keys from the parsed example and it names them."""
    doc = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    del doc["drill"]["report_dir"]
    for step in doc["runbook"]["step"]:
        if step["kind"] == "restore":
            step["args"].pop("check_argv", None)
    for server in doc["server"]:
        if "bmc" in server:
            server["bmc"].pop("system_id", None)
    assert undocumented_keys(doc) == ["Bmc.system_id", "Drill.report_dir", "RestoreArgs.check_argv"]


def test_schema_walk_reaches_nested_and_step_records() -> None:
    names = {s.__name__ for s in reachable_structs()}
    nested = {"Credentials", "Bmc", "SwitchPort", "OutletRef", "Step", "Runbook"}
    assert nested | {a.__name__ for a in STEP_ARGS.values()} <= names


def test_example_comments_every_key() -> None:
    problems = uncommented_keys(EXAMPLE.read_text(encoding="utf-8"))
    assert not problems, (
        f"{EXAMPLE.relative_to(ROOT)}: keys without a comment (put one on the line or just "
        "above; one comment covers at most 4 consecutive keys):\n" + "\n".join(problems)
    )


def test_comment_rule_catches_bare_keys() -> None:
    text = "\n".join(
        [
            "[a]",
            "# five keys under one comment: the fifth is not covered",
            "k1 = 1",
            "k2 = 2",
            "k3 = 3",
            "k4 = 4",
            "k5 = 5",
            "",
            'k6 = "a # inside a string is no comment"',
            'k7 = "x"  # a trailing comment counts',
            "tbl.k8 = [",
            "  { inner = 1 },",
            "]",
            "k9 = 9",
        ]
    )
    assert uncommented_keys(text) == [
        "line 7: k5 = 5",
        'line 9: k6 = "a # inside a string is no comment"',
        "line 11: tbl.k8 = [",
        "line 14: k9 = 9",
    ]


def test_example_credentials_are_secret_references() -> None:
    doc = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    walk = DocWalk()
    walk.walk(RackConfig, doc, "")
    assert walk.secrets, "the example should show how credentials are given"
    literal = [where for where, value in walk.secrets if not str(value).startswith("secret:")]
    assert not literal, f"write these as secret:NAME, not literally: {literal}"


def _cleanroom_command() -> Path:
    for candidate in (Path(sys.executable).with_name("cleanroom"), ROOT / ".venv/bin/cleanroom"):
        if candidate.exists():
            return candidate
    pytest.skip("the `cleanroom` console script is not installed: run `pip install -e .`")


def test_check_config_accepts_example(example: Path) -> None:
    result = subprocess.run(
        [str(_cleanroom_command()), "check-config", str(example)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert ": ok (rack ars-idf-cr02" in result.stdout
