"""A simulated IPMI BMC: OpenIPMI's ``ipmi_sim`` (Debian package ``openipmi``) on loopback.

ipmi_sim implements the IPMI LAN protocol (RMCP+, authentication, sessions, the SDR
repository) for real; what it lacks is a host to power. Its ``chassis_control`` hook runs
an external program for that, so this module writes a small POSIX shell script that keeps
the host's power state in a file and appends every action to a witness log. Graceful
shutdown (Chassis Control "soft off") completes after ``graceful_shutdown_s`` in a
background subshell, or never when ``graceful_hangs`` is set.

Usage::

    async with IpmiSim() as bmc:          # a free UDP port on 127.0.0.1
        bmc.port, bmc.username, bmc.password
        bmc.is_host_on(); bmc.actions()   # witness list
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from agent.errors import DeviceError, EnvironmentMissing
from agent.sim.testing import free_port

_READY_TIMEOUT_S = 5.0
# RMCP/ASF Presence Ping (DSP0136 3.2.4.3): RMCP header v6, seq 0xff, class ASF; IANA 4542,
# type 0x80, tag 1. ipmi_sim answers it with a Presence Pong (type 0x40) once listening.
_PRESENCE_PING = bytes([0x06, 0x00, 0xFF, 0x06, 0x00, 0x00, 0x11, 0xBE, 0x80, 0x01, 0x00, 0x00])
_PONG_TYPE = 0x40

# The chassis_control protocol of ipmi_sim: "<script> <mc> get <parm>..." prints
# "<parm>:<value>" lines; "<script> <mc> set <parm> <value>..." changes them.
_CHASSIS_SCRIPT = """#!/bin/sh
# Written by agent.sim.ipmi: the power of a simulated host, for ipmi_sim's chassis_control.
dir=$(dirname "$0")
shift  # the MC address
op=$1; shift
case $op in
get)
    for parm in "$@"; do
        case $parm in
        power) echo "power:$(cat "$dir/power")" ;;
        boot) echo "boot:default" ;;
        *) echo "unknown parameter $parm"; exit 1 ;;
        esac
    done ;;
set)
    while [ $# -ge 2 ]; do
        echo "$(cat /proc/uptime | cut -d' ' -f1) $1 $2" >> "$dir/actions"
        case $1 in
        power) echo "$2" > "$dir/power" ;;
        reset) ;;  # a pulse: the host stays on
        boot) ;;
        shutdown)
            if [ ! -e "$dir/hang" ] && [ "$(cat "$dir/power")" = 1 ]; then
                (sleep "$(cat "$dir/graceful_s")"; [ -e "$dir/hang" ] || echo 0 > "$dir/power") \
                    </dev/null >/dev/null 2>&1 &
            fi ;;
        *) echo "unknown parameter $1"; exit 1 ;;
        esac
        shift 2
    done ;;
check) ;;
*) echo "unknown operation $op"; exit 1 ;;
esac
"""


@dataclass(frozen=True, slots=True)
class ChassisRecord:
    """One chassis_control call ipmi_sim made (the witness list)."""

    uptime_s: float  # /proc/uptime, a monotonic clock the shell can read
    parameter: str  # "power", "reset", "shutdown", "boot"
    value: str


def _sdr_full_sensor(number: int, entity: int, sensor_type: int, unit: int, name: str) -> str:
    """A Full Sensor Record (IPMI 2.0 table 43-1), linear, M=1, B=0: raw byte = value."""
    ident = name.encode("ascii")
    body = [
        0x20, 0x00, number, entity, 0x01,  # owner, LUN, sensor number, entity id/instance
        0x7F, 0x68, sensor_type, 0x01,  # init, capabilities, sensor type, threshold based
        0, 0, 0, 0, 0, 0,  # event and threshold masks
        0x00, unit, 0x00, 0x00,  # unsigned, base unit, no modifier, linear
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00,  # M=1, B=0, accuracy, exponents
        0x00, 0, 0, 0, 0xFF, 0x00,  # analog flags, nominal/normal, max, min
        0, 0, 0, 0, 0, 0, 0, 0,  # thresholds, hysteresis
        0, 0, 0,  # reserved, OEM
        0xC0 | len(ident), *ident,  # 8-bit ASCII id string
    ]  # fmt: skip
    record = [0x00, 0x00, 0x51, 0x01, len(body), *body]  # id, SDR v1.5, type 1, length
    return " ".join(f"0x{b:02x}" for b in record)


class IpmiSim:
    """ipmi_sim in a temporary folder, serving one BMC on a free UDP port."""

    MC = "0x20"  # the BMC's IPMB address
    # (sensor number, name, IPMI sensor type, base unit, initial raw value)
    SENSORS = ((1, "CPU Temp", 0x01, 0x01, 48), (2, "Inlet Temp", 0x01, 0x01, 23))

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str = "password",  # noqa: S107 - a simulator's well-known default
        host: str = "127.0.0.1",
        graceful_shutdown_s: float = 0.2,
        host_on: bool = False,
    ) -> None:
        self.username = username
        self.password = password
        self.host = host
        self.port = 0
        self._graceful_s = graceful_shutdown_s
        self._initial_on = host_on
        self._dir: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Self:
        binary = shutil.which("ipmi_sim")
        if binary is None:
            raise EnvironmentMissing(
                "ipmi_sim is not installed: apt-get install openipmi (Debian package)"
            )
        self._tmp = tempfile.TemporaryDirectory(prefix="ipmi-sim-")
        self._dir = Path(self._tmp.name)
        self.port = free_port(socket.SOCK_DGRAM, self.host)
        self._write_files()
        log = (self._dir / "ipmi_sim.log").open("wb")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                binary,
                *("-c", str(self._dir / "lan.conf"), "-f", str(self._dir / "bmc.emu")),
                *("-s", str(self._dir / "state"), "-n"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        try:
            await self._wait_ready()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(5.0):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _write_files(self) -> None:
        d = self._path
        (d / "state").mkdir()
        (d / "power").write_text("1\n" if self._initial_on else "0\n")
        (d / "graceful_s").write_text(f"{self._graceful_s}\n")
        (d / "actions").write_text("")
        script = d / "chassis_control.sh"
        script.write_text(_CHASSIS_SCRIPT)
        script.chmod(0o755)
        # lan.conf (ipmi_lan(5)): one LAN channel, RMCP+ and the 1.5 auth types, one admin.
        auths = "none md2 md5 straight"
        (d / "lan.conf").write_text(
            f'name "simbmc"\n'
            f"set_working_mc {self.MC}\n"
            f"startlan 1\n"
            f"  addr {self.host} {self.port}\n"
            f"  priv_limit admin\n"
            f"  allowed_auths_callback {auths}\n"
            f"  allowed_auths_user {auths}\n"
            f"  allowed_auths_operator {auths}\n"
            f"  allowed_auths_admin {auths}\n"
            f"  guid a123456789abcdefa123456789abcdef\n"
            f"endlan\n"
            f'chassis_control "{script} {self.MC}"\n'
            f'user 2 true "{self.username}" "{self.password}" admin 10 {auths}\n'
        )
        # bmc.emu (ipmi_sim_cmd(5)): the BMC, its SEL, and readable temperature sensors.
        lines = [
            f"mc_setbmc {self.MC}",
            f"mc_add {self.MC} 0 no-device-sdrs 0x23 0x02 0x15 0x9f 0x1291 0x0f02 persist_sdr",
            f"sel_enable {self.MC} 1000 0x0a",
        ]
        events = " ".join(["000000000000000"] * 4)
        for number, name, sensor_type, unit, raw in self.SENSORS:
            lines += [
                f"sensor_add {self.MC} 0 {number} {sensor_type:#04x} 0x01",
                f"sensor_set_value {self.MC} 0 {number} {raw} 0",
                # "scanning" makes the reading available (Get Sensor Reading byte 2 bit 6).
                f"sensor_set_event_support {self.MC} 0 {number} enable scanning per-state {events}",
                f"main_sdr_add {self.MC} {_sdr_full_sensor(number, 0x03, sensor_type, unit, name)}",
            ]
        lines.append(f"mc_enable {self.MC}")
        (d / "bmc.emu").write_text("\n".join(lines) + "\n")

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            try:
                async with asyncio.timeout(_READY_TIMEOUT_S):
                    while True:
                        self._check_alive()
                        await loop.sock_sendto(sock, _PRESENCE_PING, (self.host, self.port))
                        with contextlib.suppress(TimeoutError, ConnectionRefusedError):
                            async with asyncio.timeout(0.1):
                                reply = await loop.sock_recv(sock, 512)
                                if len(reply) > 8 and reply[8] == _PONG_TYPE:
                                    return
            except TimeoutError as exc:
                raise DeviceError(
                    f"ipmi_sim {self.host}:{self.port}",
                    f"no RMCP presence pong within {_READY_TIMEOUT_S} s; its log says: "
                    f"{self._log_tail()}",
                ) from exc

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.returncode is not None:
            raise DeviceError(
                f"ipmi_sim {self.host}:{self.port}",
                f"exited with status {self._proc.returncode}; its log says: {self._log_tail()}",
            )

    def _log_tail(self) -> str:
        log = self._path / "ipmi_sim.log"
        return log.read_text(errors="replace")[-500:].strip() or "(empty)"

    @property
    def _path(self) -> Path:
        if self._dir is None:
            raise RuntimeError("IpmiSim used outside its 'async with' block")
        return self._dir

    # -- observation and fault injection ----------------------------------------------

    def is_host_on(self) -> bool:
        return (self._path / "power").read_text().strip() == "1"

    def actions(self) -> list[ChassisRecord]:
        """Every chassis_control ``set`` ipmi_sim ran, oldest first."""
        result = []
        for line in (self._path / "actions").read_text().splitlines():
            uptime, parameter, value = line.split(" ", 2)
            result.append(ChassisRecord(float(uptime), parameter, value))
        return result

    def reset(self, *, host_on: bool = False) -> None:
        """Back to a known state between tests: host power, empty witness list, no hang.

        Reusing one ipmi_sim across tests is much faster than starting one per test: its
        first RMCP+ session often needs pyghmi's retransmissions (0.5 s to 1 s each)."""
        d = self._path
        (d / "power").write_text("1\n" if host_on else "0\n")
        (d / "actions").write_text("")
        self.graceful_hangs = False

    @property
    def graceful_hangs(self) -> bool:
        return (self._path / "hang").exists()

    @graceful_hangs.setter
    def graceful_hangs(self, hang: bool) -> None:
        marker = self._path / "hang"
        if hang:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)
