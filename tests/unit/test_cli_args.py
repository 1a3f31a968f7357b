"""The CLI behaves as one: durations with units everywhere, --config everywhere with one
default, usage errors exit 2 with the usage line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import build_parser
from agent.cli.args import DEFAULT_CONFIG

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "dest", "seconds"),
    [
        (["watch", "--broker", "mqtt://b:1883", "--for", "6s"], "duration", 6.0),
        (["watch", "--broker", "mqtt://b:1883", "--for", "6"], "duration", 6.0),
        (["power", "cycle", "hv-1", "--pause", "500ms"], "pause", 0.5),
        (["drill", "--timeout", "2min"], "timeout", 120.0),
        (["demo", "--duration", "90s"], "duration", 90.0),
    ],
)
def test_durations_take_units(argv: list[str], dest: str, seconds: float) -> None:
    assert getattr(build_parser(argv).parse_args(argv), dest) == seconds


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["check-config"],
        ["net", "show"],
        ["net", "isolate"],
        ["power", "status"],
        ["status"],
        ["runbook", "show"],
        ["selftest"],
    ],
)
def test_config_defaults_to_the_one_place(argv: list[str]) -> None:
    assert build_parser(argv).parse_args(argv).config == DEFAULT_CONFIG


def test_a_bad_duration_is_a_usage_error_with_the_usage_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent.cli", "watch", "--broker", "mqtt://b:1", "--for", "6 s x"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: cleanroom watch")
    assert "is not a duration" in proc.stderr


def test_a_missing_config_is_a_config_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent.cli", "net", "show", "--config", str(tmp_path / "no.toml")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "no.toml" in proc.stderr
