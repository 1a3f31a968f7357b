"""Config input that cannot crash the agent: whatever bytes the config file holds, loading
it gives a `RackConfig` or a `ConfigError` naming the place, never another exception.

Hand-made hostile inputs first (deep nesting of every kind TOML has, huge arrays and
tables, foreign encodings, non-finite numbers), then random mutations of the demo rack's
bytes, then the command line: `check-config` and `run` on such a file print the problem,
no traceback, and `run` exits with the status the systemd unit does not restart on.
"""

from __future__ import annotations

import codecs
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.cli import EXIT_CONFIG
from agent.conf import RackConfig, load_config
from agent.conf.guard import MAX_DEPTH, MAX_ITEMS
from agent.errors import ConfigError

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo-rack.toml"
DEMO_BYTES = DEMO.read_bytes()


def _load(tmp_path: Path, raw: bytes) -> RackConfig:
    path = tmp_path / "rack.toml"
    path.write_bytes(raw)
    return load_config(path)


def _problems(tmp_path: Path, raw: bytes) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, raw)
    assert info.value.problems
    return "\n".join(info.value.problems)


DEEP = 500
NESTINGS = {
    "arrays": "deep = " + "[" * DEEP + "]" * DEEP,
    "inline tables": "deep = " + "{a = " * DEEP + "1" + "}" * DEEP,
    "arrays of inline tables": "deep = " + "[{a = " * DEEP + "1" + "}]" * DEEP,
    "dotted key": "deep." + ".".join(["a"] * DEEP) + " = 1",
    "table header": "[" + ".".join(["a"] * DEEP) + "]",
    "array-of-tables header": "[[" + ".".join(["a"] * DEEP) + "]]",
    "dotted keys in an inline table": "deep = {" + ".".join(["a"] * DEEP) + " = 1}",
    "deep 100000": "deep = " + "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("text", NESTINGS.values(), ids=NESTINGS.keys())
def test_deep_nesting_is_a_config_error(tmp_path: Path, text: str) -> None:
    for raw in (text.encode(), DEMO_BYTES + b"\n" + text.encode()):
        problems = _problems(tmp_path, raw)
        assert f"(at most {MAX_DEPTH})" in problems


def test_deep_nesting_in_a_step_s_args_is_named_with_its_path(tmp_path: Path) -> None:
    args = "{x = " * (MAX_DEPTH - 2) + "1" + "}" * (MAX_DEPTH - 2)
    raw = DEMO_BYTES + f'\n[[runbook.step]]\nid = "deep"\nkind = "prompt"\nargs = {args}\n'.encode()
    assert "runbook.step[" in _problems(tmp_path, raw)


def test_brackets_in_strings_and_comments_do_not_count_as_nesting(tmp_path: Path) -> None:
    noise = "[" * (3 * MAX_DEPTH)
    extra = (
        f'# {noise}\n[rack.extra]\nbasic = "{noise}\\"{noise}"\nliteral = \'{noise}\'\n'
        f'multi = """\n{noise}\n""{noise}"""\nmulti_literal = \'\'\'{noise}\'\'\'\n'
    )
    problems = _problems(tmp_path, DEMO_BYTES + extra.encode())
    assert "nest" not in problems
    assert "rack.extra: unknown key" in problems  # parsed through to the schema


HUGE = {
    "array of numbers": b"protected_outlets_x = [" + b"1," * 200_000 + b"]",
    "array of strings": b'x = ["' + b'", "'.join([b"a"] * 50_000) + b'"]',
    "array of tables": b"[[pdu]]\n" * 20_000,
    "table of keys": b"[credentials]\n" + b"".join(b"k%d = 1\n" % i for i in range(20_000)),
}


@pytest.mark.parametrize("raw", HUGE.values(), ids=HUGE.keys())
def test_huge_arrays_and_tables_are_a_config_error(tmp_path: Path, raw: bytes) -> None:
    problems = _problems(tmp_path, raw)
    assert f"(at most {MAX_ITEMS})" in problems


def test_a_huge_array_in_a_known_place_is_named(tmp_path: Path) -> None:
    text = DEMO_BYTES.decode().replace(
        "outlets = 24", "outlets = 24\nprotected_outlets = [" + "1, " * 20_000 + "]", 1
    )
    assert "pdu[0].protected_outlets: an array of 20000 items" in _problems(tmp_path, text.encode())


def test_a_file_of_megabytes_is_not_read_as_a_config(tmp_path: Path) -> None:
    raw = DEMO_BYTES + b"\n# " + b"x" * (2 << 20) + b"\n"
    assert "is not a rack config (the limit is" in _problems(tmp_path, raw)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    config = _load(tmp_path, codecs.BOM_UTF8 + DEMO_BYTES)
    assert config.rack.id == load_config(DEMO).rack.id


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")],
)
def test_other_unicode_encodings_are_named_with_the_fix(
    tmp_path: Path, encoding: str, name: str
) -> None:
    raw = DEMO_BYTES.decode().encode(encoding)
    if not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE)):
        raw = codecs.BOM_UTF16_BE + raw
    problems = _problems(tmp_path, raw)
    assert f"the file is {name}" in problems
    assert f"iconv -f {name} -t UTF-8" in problems


def test_a_latin1_byte_is_named_with_its_line_and_column(tmp_path: Path) -> None:
    raw = DEMO_BYTES.replace(b'name = "', b'name = "Sal\xe9 ', 1)
    line = DEMO_BYTES[: DEMO_BYTES.index(b'name = "')].count(b"\n") + 1
    problems = _problems(tmp_path, raw)
    assert f"byte 0xe9 at line {line}, column 12 is not UTF-8" in problems


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
def test_numbers_that_are_not_finite_are_refused(tmp_path: Path, value: str) -> None:
    raw = DEMO_BYTES.replace(b"nominal_w = 600\n", b"nominal_w = " + value.encode() + b"\n", 1)
    assert raw != DEMO_BYTES
    assert "is not a usable number; give a finite one" in _problems(tmp_path, raw)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b"port = 18004", b"port = 65536", "server[0].bmc.port: 65536 is out of range"),
        (b"port = 18004", b"port = -5", "server[0].bmc.port: -5 is out of range; give 0 to"),
        (b"snmp_port = 16101", b"snmp_port = 0", "pdu[0].snmp_port: 0 is out of range"),
        (b'interval = "2s"', b'interval = "0s"', "health.interval: 0s is out of range"),
        (b"port_count = 24", b"port_count = 100000", "switch[0].port_count: 100000 is out of"),
        (b"concurrency = 4", b"concurrency = 0", "runbook.concurrency: 0 is out of range"),
        (b"[mqtt]", b'[mqtt]\nkeepalive = "1d"', "mqtt.keepalive: 86400s is out of range"),
        (b"port = 18004", b"port = 99999999999999999999", "server[0].bmc"),
    ],
)
def test_ports_intervals_and_counts_are_range_checked(
    tmp_path: Path, old: bytes, new: bytes, expected: str
) -> None:
    assert old in DEMO_BYTES
    assert expected in _problems(tmp_path, DEMO_BYTES.replace(old, new, 1))


# Bytes that steer a TOML parser into its odd corners.
_TOKENS = [b"[", b"]", b"{", b"}", b"[[", b"]]", b'"', b"'", b'"""', b"'''", b"=", b",", b".",
           b"#", b"\\", b"\n", b"\r", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xe9", b"nan",
           b"1e999", b"-0", b"99999999999999999999999", b"0x", b"1979-05-27T07:32:00Z",
           b'"0s"', b"[" * 40, b"{a=" * 40, b"a." * 40]  # fmt: skip


@st.composite
def _mutated_demo(draw: st.DrawFn) -> bytes:
    raw = bytearray(DEMO_BYTES)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "repeat", "byte"]))
        if action == "insert":
            raw[at:at] = draw(st.sampled_from(_TOKENS)) * draw(st.integers(1, 600))
        elif action == "delete":
            del raw[at : at + draw(st.integers(1, 200))]
        elif action == "repeat":
            chunk = bytes(raw[at : at + draw(st.integers(1, 80))])
            raw[at:at] = chunk * draw(st.integers(1, 3000))
        elif at < len(raw):
            raw[at] = draw(st.integers(0, 255))
    return bytes(raw)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=_mutated_demo())
def test_random_mutations_load_or_give_a_config_error(tmp_path: Path, raw: bytes) -> None:
    try:
        config = _load(tmp_path, raw)
    except ConfigError as exc:
        assert exc.problems
        assert all(isinstance(p, str) and p for p in exc.problems)
    else:
        assert config.rack.id


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("[]{}=\"'#.,a1 \n\\")), max_size=3000))
def test_random_toml_shaped_text_gives_a_config_error(text: str) -> None:
    from agent.conf import parse_config  # noqa: PLC0415 - text in, no file

    with pytest.raises(ConfigError):
        parse_config(text)


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_the_command_line_names_the_problem_without_a_traceback(
    tmp_path: Path, command: str
) -> None:
    path = tmp_path / "rack.toml"
    path.write_text("deep = " + "[" * DEEP + "]" * DEEP + "\n")
    argv = [path.as_posix()] if command == "check-config" else ["--config", path.as_posix()]
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli", command, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert "Traceback" not in result.stderr
    assert f"nest {MAX_DEPTH + 1} deep here (at most {MAX_DEPTH})" in result.stderr
    assert result.returncode == (1 if command == "check-config" else EXIT_CONFIG)
    assert not (tmp_path / "var").exists()
