"""`cleanroom sim --faults FILE`: a fault scenario played from the command line, a rack-wide
power cut included, again on SIGHUP; a bad file refused before the rack starts.

Checked over real SNMP with net-snmp's tools: during the cut no device answers, after it
every device has booted again (a value written before the cut is back to its default).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli import EXIT_CONFIG
from agent.sim.testing import relocate

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
CONTACT = "1.3.6.1.2.1.1.4.0"  # SNMPv2-MIB::sysContact, writable on every simulated device


def _snmp(tool: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [tool, "-v2c", "-c", "demo-rack", "-On", "-m", "", "-t", "0.5", "-r", "0"]
    return subprocess.run(
        [*argv, f"127.0.0.1:{port}", *args], capture_output=True, text=True, check=False
    )


def _wait(predicate: object, what: str, limit: float = 20.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"not within {limit}s: {what}"
        time.sleep(0.2)


def test_a_rack_wide_power_cut_from_the_command_line(tmp_path: Path) -> None:
    config, ports = relocate(DEMO, tmp_path)
    switch = ports[16103]
    faults = tmp_path / "cut.toml"
    faults.write_text('[[step]]\nat = 2.0\ndevice = "rack"\nfault = "power_cut"\nseconds = 3\n')
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "sim",
            "--config",
            str(config),
            "--faults",
            str(faults),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert sim.stdout is not None
        for line in sim.stdout:
            if "simulated rack" in line:
                break
        set_reply = _snmp("snmpset", switch, CONTACT, "s", "written before the cut")
        assert set_reply.returncode == 0, set_reply.stderr
        _wait(lambda: _snmp("snmpget", switch, CONTACT).returncode != 0, "the cut")
        _wait(lambda: _snmp("snmpget", switch, CONTACT).returncode == 0, "power back")
        assert "clean-room drill team" in _snmp("snmpget", switch, CONTACT).stdout
        # SIGHUP plays the file again, from now.
        assert _snmp("snmpset", switch, CONTACT, "s", "second").returncode == 0
        sim.send_signal(signal.SIGHUP)
        _wait(lambda: _snmp("snmpget", switch, CONTACT).returncode != 0, "the second cut")
        _wait(lambda: _snmp("snmpget", switch, CONTACT).returncode == 0, "power back again")
        assert "clean-room drill team" in _snmp("snmpget", switch, CONTACT).stdout
    finally:
        sim.send_signal(signal.SIGINT)
        out, _ = sim.communicate(timeout=10)
    assert "Traceback" not in out, out
    assert f"playing {faults}" in out


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ('[[step]]\ndevice = "rack"\nfault = "explode"\n', "step[0].fault: 'explode' is not a"),
        ('[[step]]\ndevice = "rack"\nfault = "power_cut"\n', "step[0].seconds: None"),
        ('[[step]]\ndevice = "pdu-z"\nfault = "silent"\n', "step[0].device: 'pdu-z' is not"),
        ("step = " + "[" * 2000 + "]" * 2000, "cannot read it"),
    ],
)
def test_a_bad_fault_file_is_refused_before_the_rack_starts(
    tmp_path: Path, scenario: str, expected: str
) -> None:
    config, _ = relocate(DEMO, tmp_path)
    faults = tmp_path / "bad.toml"
    faults.write_text(scenario)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "sim",
            "--config",
            str(config),
            "--faults",
            str(faults),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_CONFIG
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
