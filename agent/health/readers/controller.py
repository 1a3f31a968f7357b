"""Health of the rack controller itself: CPU temperature, disk space, memory, clock sync.

Everything comes from the kernel's own files and one read-only syscall, so it costs
microseconds and needs no privilege:

- CPU temperature: ``/sys/class/thermal/thermal_zone*/temp`` (millidegrees C), the
  zones whose ``type`` names a CPU package (x86_pkg_temp, cpu-thermal, acpitz...);
- disk free: ``statvfs`` of the store's folder and of ``/``, in % free;
- memory free: ``MemAvailable`` / ``MemTotal`` of ``/proc/meminfo``, in %;
- clock: ``adjtimex(2)`` with no mode bits only *reads* the kernel's NTP state: whether
  it is synchronised (TIME_ERROR / STA_UNSYNC) and the last offset. Done by hand through
  ctypes because the stdlib has no binding and timedatectl would cost a process per
  poll. When the call is refused (a seccomp filter), systemd-timesyncd's flag file
  ``/run/systemd/timesync/synchronized`` answers the synchronised question.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from pathlib import Path

from agent.health.sensors import BOOLEAN, CELSIUS, PERCENT, SECOND, Identity, Reading, reading

DEVICE = "controller"
# Thermal zone types that measure the CPU, in preference order.
CPU_ZONE_TYPES = ("x86_pkg_temp", "cpu-thermal", "cpu_thermal", "soc_thermal", "coretemp", "acpitz")
TIME_ERROR = 5  # adjtimex return value: clock not synchronised
STA_UNSYNC = 0x0040
STA_NANO = 0x2000


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """struct timex of <sys/timex.h> (Linux), up to the reserved tail."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except OSError:
        return None


def read_adjtimex() -> tuple[bool, float] | None:
    """(synchronised, |offset| in seconds) from the kernel, or None if not available."""
    libc = _libc()
    if libc is None:
        return None
    timex = _Timex()
    try:
        state = libc.adjtimex(ctypes.byref(timex))
    except AttributeError:
        return None
    if state < 0:
        return None
    synced = state != TIME_ERROR and not timex.status & STA_UNSYNC
    divisor = 1e9 if timex.status & STA_NANO else 1e6
    return synced, abs(timex.offset) / divisor


class ControllerReader:
    """Reads the controller. ``root`` lets tests point it at a fake /sys and /proc."""

    def __init__(
        self,
        *,
        disks: tuple[Path, ...] = (Path("/"),),
        root: Path = Path("/"),
        device: str = DEVICE,
        use_adjtimex: bool = True,
    ) -> None:
        self.device = device
        self.disks = disks
        self.root = root
        self.use_adjtimex = use_adjtimex

    async def read(self, ts: float) -> list[Reading]:
        out = [self._cpu_temperature(ts), self._memory(ts)]
        out += [self._disk(path, ts) for path in self.disks]
        out += self._clock(ts)
        return out

    async def identify(self) -> Identity:
        uname = os.uname()
        return Identity(
            device=self.device,
            family="linux",
            model=uname.machine,
            firmware=uname.release,
            sys_descr=f"{uname.sysname} {uname.nodename} {uname.release}",
        )

    def _cpu_temperature(self, ts: float) -> Reading:
        zones: dict[str, float] = {}
        for zone in sorted((self.root / "sys/class/thermal").glob("thermal_zone*")):
            try:
                kind = (zone / "type").read_text().strip()
                zones.setdefault(kind, int((zone / "temp").read_text().strip()) / 1000.0)
            except (OSError, ValueError):
                continue
        for kind in CPU_ZONE_TYPES:
            if kind in zones:
                return reading(
                    self.device,
                    "cpu/temperature",
                    "cpu_temperature",
                    CELSIUS,
                    zones[kind],
                    ts,
                    low=-40,
                    high=150,
                    detail=kind,
                )
        if zones:
            hottest = max(zones.values())
            return reading(
                self.device,
                "cpu/temperature",
                "cpu_temperature",
                CELSIUS,
                hottest,
                ts,
                low=-40,
                high=150,
            )
        return reading(
            self.device,
            "cpu/temperature",
            "cpu_temperature",
            CELSIUS,
            None,
            ts,
            detail="no thermal zone in /sys/class/thermal (a VM or container)",
        )

    def _memory(self, ts: float) -> Reading:
        fields: dict[str, int] = {}
        try:
            for line in (self.root / "proc/meminfo").read_text().splitlines():
                key, _, rest = line.partition(":")
                number = rest.strip().split(" ")[0]
                if number.isdigit():
                    fields[key] = int(number)
        except OSError as exc:
            return reading(
                self.device,
                "memory/free",
                "memory_free",
                PERCENT,
                None,
                ts,
                detail=f"/proc/meminfo: {exc.strerror}",
            )
        total, available = fields.get("MemTotal"), fields.get("MemAvailable")
        value = None if not total or available is None else 100.0 * available / total
        return reading(
            self.device,
            "memory/free",
            "memory_free",
            PERCENT,
            value,
            ts,
            low=0,
            high=100,
            detail="" if value is not None else "MemAvailable missing",
        )

    def _disk(self, path: Path, ts: float) -> Reading:
        sensor = f"disk/{path}"
        try:
            st = os.statvfs(path)
        except OSError as exc:
            return reading(
                self.device,
                sensor,
                "disk_free",
                PERCENT,
                None,
                ts,
                detail=f"statvfs {path}: {exc.strerror}",
            )
        value = 100.0 * st.f_bavail / st.f_blocks if st.f_blocks else None
        return reading(self.device, sensor, "disk_free", PERCENT, value, ts, low=0, high=100)

    def _clock(self, ts: float) -> list[Reading]:
        kernel = read_adjtimex() if self.use_adjtimex else None
        if kernel is not None:
            synced, offset = kernel
            return [
                reading(
                    self.device, "clock/synchronized", "clock_sync", BOOLEAN, float(synced), ts
                ),
                reading(
                    self.device,
                    "clock/offset",
                    "clock_offset",
                    SECOND,
                    offset if synced else None,
                    ts,
                    detail="" if synced else "clock not synchronised: offset unknown",
                ),
            ]
        flag = self.root / "run/systemd/timesync/synchronized"
        synced = flag.exists()
        return [
            reading(
                self.device,
                "clock/synchronized",
                "clock_sync",
                BOOLEAN,
                float(synced),
                ts,
                detail="from systemd-timesyncd's flag file",
            ),
            reading(
                self.device,
                "clock/offset",
                "clock_offset",
                SECOND,
                None,
                ts,
                detail="adjtimex unavailable: offset unknown",
            ),
        ]
