"""A real net-snmp ``snmpd`` on a free loopback UDP port, for tests and the benchmark.

Configuration: ``rocommunity public``, ``rwcommunity private``, an SNMPv3 user
``admin`` (SHA / AES, authPriv, read-write) created through ``createUser`` in the
persistent directory, and optional ``pass``/``pass_persist`` lines. sysContact.0,
sysName.0 and sysLocation.0 stay writable because the config does not pin them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

SNMPD = "/usr/sbin/snmpd"
V3_USER = "admin"
V3_AUTH_KEY = "auth-pass-phrase-1"
V3_PRIV_KEY = "priv-pass-phrase-1"
RO_COMMUNITY = "public"
RW_COMMUNITY = "private"


def snmpd_path() -> str | None:
    """The snmpd binary, or None when net-snmp's ``snmpd`` package is not installed."""
    if Path(SNMPD).exists():
        return SNMPD
    return shutil.which("snmpd")


def free_udp_port() -> int:
    """A UDP port free on 127.0.0.1 right now (the caller retries if it loses a race).

    Not agent.sim.testing.free_port: snmpd runs this file as its pass_persist script
    under the system's python3, where the agent is not importable."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class SnmpdInfo:
    host: str
    port: int
    pid: int


class Snmpd:
    """Run snmpd in the foreground for the life of the context (sync or async)."""

    def __init__(self, extra_config: Sequence[str] = (), *, start_timeout: float = 10.0) -> None:
        binary = snmpd_path()
        if binary is None:
            raise FileNotFoundError("snmpd is not installed; apt-get install snmpd")
        self._binary = binary
        self._extra = list(extra_config)
        self._start_timeout = start_timeout
        self._dir = tempfile.TemporaryDirectory(prefix="snmpd-test-")
        self._proc: subprocess.Popen[str] | None = None
        self._output: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0

    def _config(self, port: int) -> str:
        lines = [
            f"agentAddress udp:{self.host}:{port}",
            f"rocommunity {RO_COMMUNITY} 127.0.0.1",
            f"rwcommunity {RW_COMMUNITY} 127.0.0.1",
            f"createUser {V3_USER} SHA {V3_AUTH_KEY} AES {V3_PRIV_KEY}",
            f"rwuser {V3_USER} priv",
            # Keep the agent quick and quiet: no disk/process scans in the hot path.
            "sysServices 72",
            "dontLogTCPWrappersConnects yes",
            *self._extra,
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> SnmpdInfo:
        last_error = ""
        for _ in range(3):  # a free port can be taken between probe and bind
            port = free_udp_port()
            conf = Path(self._dir.name) / "snmpd.conf"
            conf.write_text(self._config(port))
            persist = Path(self._dir.name) / "persist"
            persist.mkdir(exist_ok=True)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "SNMP_PERSISTENT_DIR": str(persist),
                "MIBS": "",  # no MIB parsing: numeric OIDs only, and no warning flood
                "MIBDIRS": str(persist),
            }
            proc = subprocess.Popen(
                [
                    self._binary,
                    *("-f", "-Lo", "-C", "-c", str(conf), "-p", str(persist / "pid")),
                    *("-I", "-smux"),  # no SMUX: it binds TCP 199, shared by every snmpd
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
            if self._wait_ready(proc):
                self._proc = proc
                self.port = port
                threading.Thread(target=self._drain, args=(proc,), daemon=True).start()
                return SnmpdInfo(self.host, port, proc.pid)
            proc.kill()
            proc.wait()
            last_error = "".join(self._output[-20:])
        raise RuntimeError(f"snmpd did not start; its output:\n{last_error}")

    def _wait_ready(self, proc: subprocess.Popen[str]) -> bool:
        assert proc.stdout is not None
        ready = threading.Event()

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self._output.append(line)
                if line.startswith("NET-SNMP version"):
                    ready.set()
                    return

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if ready.wait(0.05):
                return True
            if proc.poll() is not None:
                thread.join(1)
                return False
        return False

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        if proc.stdout is not None:
            for line in proc.stdout:
                self._output.append(line)

    @property
    def output(self) -> str:
        return "".join(self._output)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        self._dir.cleanup()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --- scripts snmpd runs (this file is also the script: see the __main__ block) ---------

# NET-SNMP-MIB::netSnmpPlaypen, the subtree net-snmp reserves for local experiments.
PLAYPEN = "1.3.6.1.4.1.8072.9999.9999"
TYPES_ROOT = f"{PLAYPEN}.1"
OUTLETS_ROOT = f"{PLAYPEN}.2"
# The outlet table the ``snmpd`` fixture serves: 8 outlets, a command shows after one
# state read, outlet 7 never switches, outlet 8 refuses writes.
OUTLET_COUNT = 8
STUCK_OUTLET = 7
READONLY_OUTLET = 8

# One object of every type ``pass_persist`` can serve (Counter64 comes from IF-MIB ifHCInOctets).
TYPED_VALUES: dict[str, tuple[str, str]] = {
    f"{TYPES_ROOT}.1.0": ("integer", "-5"),
    f"{TYPES_ROOT}.2.0": ("gauge", "4000000000"),
    f"{TYPES_ROOT}.3.0": ("counter", "123"),
    f"{TYPES_ROOT}.4.0": ("timeticks", "4242"),
    f"{TYPES_ROOT}.5.0": ("ipaddress", "10.1.2.3"),
    f"{TYPES_ROOT}.6.0": ("objectid", ".1.3.6.1.4.1.318.1.3.4.5"),
    f"{TYPES_ROOT}.7.0": ("octet", "00 ff 10"),
    f"{TYPES_ROOT}.8.0": ("string", "hello"),
}


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.strip(".").split("."))


def playpen_line(*args: str) -> str:
    """A snmpd.conf ``pass_persist`` line serving PLAYPEN from this file, with ``args``
    (``--count N --lag N --stuck N --readonly N``) for the outlet table."""
    python = os.environ.get("SNMPD_FIXTURE_PYTHON", shutil.which("python3") or "python3")
    return f"pass_persist .{PLAYPEN} {python} {Path(__file__).resolve()} {' '.join(args)}"


class _Outlets:
    """A tiny switched-outlet table for the power-action tests (``pass_persist``).

    ``.1.N`` control (write 1 on, 2 off, 3 reboot), ``.2.N`` state (1 on, 2 off),
    ``.3.0`` outlet count, ``.4.N`` names. ``lag`` state reads pass before a command
    shows (as a relay and a slow agent do), ``stuck`` outlets never change, ``readonly``
    outlets refuse writes with notWritable. ``.5.0`` counts the SETs received, so tests
    can prove an idempotent action sent nothing.
    """

    def __init__(self, count: int, lag: int, stuck: set[int], readonly: set[int]) -> None:
        self.count = count
        self.lag = lag
        self.stuck = stuck
        self.readonly = readonly
        self.state = dict.fromkeys(range(1, count + 1), 2)
        self.pending: dict[int, tuple[int, int]] = {}  # outlet -> (target, reads left)
        self.sets = 0

    def objects(self) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {
            **TYPED_VALUES,
            f"{OUTLETS_ROOT}.3.0": ("integer", str(self.count)),
            f"{OUTLETS_ROOT}.5.0": ("counter", str(self.sets)),
        }
        for n in range(1, self.count + 1):
            out[f"{OUTLETS_ROOT}.1.{n}"] = ("integer", str(self.state[n]))
            out[f"{OUTLETS_ROOT}.2.{n}"] = ("integer", str(self.state[n]))
            out[f"{OUTLETS_ROOT}.4.{n}"] = ("string", f"outlet-{n}")
        return out

    def read(self, oid: str) -> None:
        prefix = f"{OUTLETS_ROOT}.2."
        if oid.startswith(prefix):
            n = int(oid[len(prefix) :])
            if n in self.pending:
                target, left = self.pending[n]
                if left <= 0:
                    self.state[n] = target
                    del self.pending[n]
                else:
                    self.pending[n] = (target, left - 1)

    def write(self, oid: str, value: str) -> str:
        prefix = f"{OUTLETS_ROOT}.1."
        if not oid.startswith(prefix):
            return "not-writable"
        n = int(oid[len(prefix) :])
        if n not in self.state or n in self.readonly:
            return "not-writable"
        command = int(value.rsplit(maxsplit=1)[-1])
        if command not in (1, 2, 3):
            return "wrong-value"
        self.sets += 1
        if n not in self.stuck:
            self.pending[n] = (1 if command in (1, 3) else 2, self.lag)
        return "DONE"


def _serve_playpen(argv: list[str]) -> None:
    """``pass_persist`` protocol on stdin/stdout for the typed values and the outlet
    table (one long-lived process: ``pass`` forks per request, too slow for a walk)."""
    import argparse  # noqa: PLC0415 - only the script mode needs it
    import sys  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--lag", type=int, default=0)
    parser.add_argument("--stuck", type=int, action="append", default=[])
    parser.add_argument("--readonly", type=int, action="append", default=[])
    args = parser.parse_args(argv)
    table = _Outlets(args.count, args.lag, set(args.stuck), set(args.readonly))
    lines = iter(sys.stdin.readline, "")
    for raw in lines:
        command = raw.strip()
        if not command:
            continue  # snmpd sends a blank line after a SET's "TYPE VALUE" line
        if command == "PING":
            print("PONG", flush=True)
            continue
        oid = next(lines).strip().strip(".")
        if command == "set":
            print(table.write(oid, next(lines).strip()), flush=True)
            continue
        objects = table.objects()
        found: str | None = None
        if command == "get" and oid in objects:
            found = oid
        elif command == "getnext":
            found = next((o for o in sorted(objects, key=_key) if _key(o) > _key(oid)), None)
        if found is None:
            print("NONE", flush=True)
            continue
        table.read(found)
        kind, value = table.objects()[found]
        print(f".{found}\n{kind}\n{value}", flush=True)


if __name__ == "__main__":
    import sys

    _serve_playpen(sys.argv[1:])
