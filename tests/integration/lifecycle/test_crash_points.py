"""Crash-point test: kill the agent with SIGKILL right after each journal write in turn,
restart it, and check that the rack still reaches `operational` with every effect applied
exactly once.

The simulated rack runs in its own process for the whole of each trial, so it outlives
the agent, and its SET log is the witness: every outlet switched on once and never off,
every server powered on through its BMC once, every runbook step done once in the journal.
The record is checked too: every journaled transition and step has the event announcing it
in the outbox (the config's broker never runs here, so the outbox keeps every message).

`make test` runs a spread of crash points (first, last and evenly between); `make bench`
enumerates every journal write.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agent.conf import RackConfig, load_config
from agent.sim.testing import relocate

from .journal_view import journaled_state

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
CRASH_ENV = "CLEANROOM_CRASH_AT_JOURNAL_WRITE"
TRIAL_TIMEOUT = 90.0


def fast_config(folder: Path) -> Path:
    return relocate(DEMO, folder, fast=True)[0]


def run_agent(config: Path, db: Path, crash_at: int | None) -> str:
    """Run the agent until it is operational (then stop it) or it crashes; return which."""
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", CRASH_ENV)}
    if crash_at is not None:
        env[CRASH_ENV] = str(crash_at)
    log = (config.parent / "agent.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "--config", str(config)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=config.parent,
    )
    deadline = time.monotonic() + TRIAL_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                assert proc.returncode == -signal.SIGKILL, (
                    f"agent exited {proc.returncode}; see {config.parent / 'agent.log'}"
                )
                return "crashed"
            state = journaled_state(db)
            if state == "operational":
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
                return "operational"
            assert state != "safe_hold", f"agent went to safe_hold; see {config.parent}"
            time.sleep(0.1)
        pytest.fail(f"agent neither crashed nor reached operational in {TRIAL_TIMEOUT}s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def journal_writes(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(
            conn.execute("SELECT count(*) FROM journal WHERE kind != 'daemon'").fetchone()[0]
        )
    finally:
        conn.close()


def check_exactly_once(config: RackConfig, setlog: Path, db: Path) -> None:
    entries = [json.loads(line) for line in setlog.read_text().splitlines() if line]
    power = Counter((e["device"], e["oid"], e["value"]) for e in entries if e["kind"] == "power")
    protected = config.protected_outlets()
    for server in config.server:
        for ref in server.power:
            key = (ref.pdu, f"outlet.{ref.outlet}")
            assert power[(*key, True)] == 1, (
                f"{server.id}: {key} switched on {power[(*key, True)]}x"
            )
            assert power[(*key, False)] == 0, f"{server.id}: {key} switched off"
        resets = [e["value"] for e in entries if e["device"] == server.id]
        assert resets == ["On"], f"{server.id}: BMC resets {resets}"
    for pdu, outlets in protected.items():
        for outlet in outlets:
            assert power[(pdu, f"outlet.{outlet}", False)] == 0, f"{pdu}:{outlet} cut"
    conn = sqlite3.connect(db)
    try:
        done = Counter(
            row[0]
            for row in conn.execute(
                "SELECT subject FROM journal WHERE kind = 'step' AND phase = 'done'"
            )
        )
    finally:
        conn.close()
    steps = [s.id for s in config.runbook.step]
    assert {s: done[s] for s in steps} == dict.fromkeys(steps, 1)


def announced(db: Path) -> tuple[Counter[tuple[str, ...]], Counter[tuple[str, ...]]]:
    """What the journal says happened, and what the outbox announced, as comparable keys
    (per boot): a transition by its state, a step by its id and phase."""
    conn = sqlite3.connect(db)
    try:
        journal: Counter[tuple[str, ...]] = Counter(
            (str(boot), f"{kind}.{phase}", str(subject))
            for boot, kind, subject, phase in conn.execute(
                "SELECT boot_id, kind, subject, phase FROM journal "
                "WHERE kind IN ('transition', 'step')"
            )
        )
        names = {
            "lifecycle.transition": "transition.entered",
            "lifecycle.resumed": "transition.resumed",
        }
        outbox: Counter[tuple[str, ...]] = Counter()
        for (raw,) in conn.execute("SELECT payload FROM outbox WHERE category != 'telemetry'"):
            message = json.loads(bytes(raw))
            kind, data, boot = message["kind"], message["data"], message["boot_id"]
            if kind in names:
                outbox[(boot, names[kind], str(data["state"]))] += 1
            elif kind == "runbook.step":
                outbox[(boot, f"step.{data['phase']}", str(data["step"]))] += 1
    finally:
        conn.close()
    return journal, outbox


def check_every_entry_announced(db: Path) -> None:
    journal, outbox = announced(db)
    assert journal, "nothing journaled: the check would prove nothing"
    missing = journal - outbox
    assert not missing, f"journaled with no event in the outbox: {sorted(missing)}"


def trial(folder: Path, crash_at: int | None) -> int:
    """One fresh rack and agent, crashed at ``crash_at`` then resumed; returns the
    number of journal writes of the run."""
    folder.mkdir(parents=True)
    config_path = fast_config(folder)
    config = load_config(config_path)
    db = config.resolve(config.store.path)
    setlog = folder / "setlog.jsonl"
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "sim",
            "--config",
            str(config_path),
            "--json",
            "--set-log",
            str(setlog),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert sim.stdout is not None
        for _ in range(len(config.device_ids())):  # one line per endpoint once it is up
            assert sim.stdout.readline(), "the simulator died at start"
        first = run_agent(config_path, db, crash_at)
        writes = journal_writes(db)
        if first == "crashed":
            assert writes >= (crash_at or 0)
            assert run_agent(config_path, db, None) == "operational"
        check_exactly_once(config, setlog, db)
        check_every_entry_announced(db)
        return writes
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()


def crash_points(total: int, spread: int | None) -> list[int]:
    if spread is None:
        return list(range(1, total + 1))
    return sorted({1, 2, total - 1, total, *(total * k // spread for k in range(1, spread))})


def test_crash_at_a_spread_of_journal_writes(tmp_path: Path) -> None:
    total = trial(tmp_path / "reference", None)
    assert total > 20
    for point in crash_points(total, spread=5):
        trial(tmp_path / f"crash-{point}", point)


@pytest.mark.bench
def test_crash_at_every_journal_write(tmp_path: Path) -> None:
    total = trial(tmp_path / "reference", None)
    for point in crash_points(total, spread=None):
        trial(tmp_path / f"crash-{point}", point)
