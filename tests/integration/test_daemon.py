"""The daemon as systemd runs it: a subprocess talking to a real NOTIFY_SOCKET."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-rack.toml"


def _config_with_store(tmp_path: Path) -> Path:
    """The demo config, with its store in tmp_path (relative paths follow the file)."""
    text = DEMO.read_text().replace('path = "../var/demo/agent.db"', 'path = "state/agent.db"')
    (tmp_path / "demo").symlink_to(DEMO.parent / "demo")
    target = tmp_path / "rack.toml"
    target.write_text(text)
    return target


def _without_systemd() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}


def _start_ready(config: Path, cwd: Path) -> subprocess.Popen[str]:
    """``cleanroom run`` outside systemd, returned once it logged that it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "--config", str(config)],
        env=_without_systemd(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "ready in" in line:
            return proc
    proc.wait()
    raise AssertionError(f"cleanroom run exited with {proc.returncode} before it was ready")


def _receive_until(sock: socket.socket, wanted: set[str], timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not wanted <= set(seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            data = sock.recv(4096).decode()
        except TimeoutError:
            break
        seen.extend(line for line in data.split("\n") if line)
    return seen


def test_daemon_notifies_ready_pings_watchdog_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = _config_with_store(tmp_path)
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(sock_path),
        "WATCHDOG_USEC": "300000",
    }
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        lines = _receive_until(sock, {"READY=1", "WATCHDOG=1"}, timeout=15)
        assert "READY=1" in lines, lines
        assert any(line.startswith("STATUS=") for line in lines), lines
        # Several watchdog pings: it keeps pinging while the loop is healthy.
        lines += _receive_until(sock, {"WATCHDOG=1"}, timeout=2)
        assert lines.count("WATCHDOG=1") >= 2, lines
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=2)
        stop_time = time.monotonic() - started
        assert code == 0, proc.stdout.read().decode() if proc.stdout else ""
        assert stop_time < 2
        after = _receive_until(sock, {"STOPPING=1"}, timeout=0.5)
        assert "STOPPING=1" in after
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
    assert (tmp_path / "state" / "agent.db").exists()


def test_daemon_refuses_a_bad_config_before_any_io(tmp_path: Path) -> None:
    bad = tmp_path / "rack.toml"
    bad.write_text(DEMO.read_text().replace("outlets = 24", "outlets = 0", 1))
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 78  # EX_CONFIG: the unit's RestartPreventExitStatus
    assert "pdu[0].outlets: 0 is out of range; give 1 to 1024" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_daemon_stops_cleanly_without_systemd(tmp_path: Path, sig: signal.Signals) -> None:
    proc = _start_ready(_config_with_store(tmp_path), tmp_path)
    assert proc.stdout is not None
    proc.send_signal(sig)
    assert proc.wait(timeout=5) == 0
    rest = proc.stdout.read()
    assert "stopped" in rest


def test_a_second_agent_on_the_same_store_is_refused(tmp_path: Path) -> None:
    config = _config_with_store(tmp_path)
    first = _start_ready(config, tmp_path)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "agent.cli", "run", "--config", str(config)],
            env=_without_systemd(),
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
            check=False,
        )
        assert second.returncode == 1
        assert f"another agent (pid {first.pid}) is using this store" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0


HUNG_PART = """
import asyncio, contextlib, sys
from agent import daemon
from agent.conf import load_config

@contextlib.asynccontextmanager
async def stubborn(ctx):
    yield
    # A part that will not stop: it swallows its cancellation (the bug the deadline
    # exists for).
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass

async def main():
    daemon.STOP_DEADLINE = 0.5
    agent = daemon.Daemon(load_config(sys.argv[1]), parts=[stubborn])
    runner = asyncio.create_task(agent.run(), name="runner")
    await agent.ready.wait()
    agent.request_stop("test")
    await runner

asyncio.run(main())
"""


def test_a_part_that_will_not_stop_is_named_and_the_agent_exits(tmp_path: Path) -> None:
    config = _config_with_store(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", HUNG_PART, str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "parts did not stop within 0.5s" in result.stderr
    assert "task daemon-main" in result.stderr
