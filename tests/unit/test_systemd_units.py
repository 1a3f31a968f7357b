"""The hardened systemd units, checked with systemd's own tools.

- `systemd-analyze security --offline=yes` must rate the agent's unit at 1.5 or lower
  (DESIGN.md section 6);
- `systemd-analyze verify` must accept the units and the site drop-in once installed in a
  scratch root that holds the console script they start (a root-less verify would only
  complain that /opt/cleanroom/bin/cleanroom is missing on the build host);
- sysusers.d and tmpfiles.d must create the user and the directories with the modes the
  unit relies on, applied offline to a scratch root;
- every directive carries a comment saying why, and the daemon contract (Type=notify,
  main-only notify access, a watchdog, exactly CAP_NET_ADMIN) is what the unit declares.
"""

from __future__ import annotations

import re
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import EXIT_CONFIG

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
AGENT_UNIT = SYSTEMD_DIR / "cleanroom-agent.service"
SIM_UNIT = SYSTEMD_DIR / "cleanroom-sim.service"
DROP_IN_EXAMPLE = SYSTEMD_DIR / "cleanroom-agent.service.d" / "site-override.conf.example"
SYSUSERS = SYSTEMD_DIR / "sysusers.d" / "cleanroom.conf"
TMPFILES = SYSTEMD_DIR / "tmpfiles.d" / "cleanroom.conf"
CONSOLE_SCRIPT = "opt/cleanroom/bin/cleanroom"
MAX_EXPOSURE = 1.5
EXPOSURE_RE = re.compile(r"Overall exposure level for (\S+): (\d+\.\d+)")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found on PATH: install the Debian package 'systemd'")
    return path


def _directives(path: Path) -> list[tuple[str, str, str, int]]:
    """(section, key, value, line number) for every assignment in a unit file."""
    found: list[tuple[str, str, str, int]] = []
    section = ""
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}:{number}: not a section, comment or Key=value line: {raw!r}"
        found.append((section, key.strip(), value.strip(), number))
    return found


def _values(path: Path, key: str) -> list[str]:
    return [value for _, k, value, _ in _directives(path) if k == key]


def _exposure(unit: Path) -> float:
    analyze = _tool("systemd-analyze")
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = EXPOSURE_RE.search(result.stdout + result.stderr)
    assert match, (
        f"systemd-analyze security printed no 'Overall exposure level' for {unit} "
        f"(rc {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return float(match.group(2))


def _scratch_root(tmp_path: Path, *, with_console_script: bool) -> Path:
    """A root holding the distribution's units, ours, the drop-in and the console script."""
    root = tmp_path / "root"
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    # verify resolves After=/WantedBy= targets inside --root, so it needs the stock units.
    shutil.copytree(
        Path("/usr/lib/systemd/system"),
        root / "usr" / "lib" / "systemd" / "system",
        symlinks=True,  # the .wants/ entries must stay symlinks or verify warns about each
    )
    for unit in (AGENT_UNIT, SIM_UNIT):
        shutil.copy(unit, units / unit.name)
    drop_in = units / "cleanroom-agent.service.d"
    drop_in.mkdir()
    shutil.copy(DROP_IN_EXAMPLE, drop_in / "site-override.conf")
    if with_console_script:
        script = root / CONSOLE_SCRIPT
        script.parent.mkdir(parents=True)
        script.write_text("#!/bin/sh\n")
        script.chmod(0o755)
    return root


def _verify(root: Path) -> subprocess.CompletedProcess[str]:
    analyze = _tool("systemd-analyze")
    if not Path("/usr/lib/systemd/system/multi-user.target").exists():
        pytest.skip("/usr/lib/systemd/system has no stock units: install the package 'systemd'")
    return subprocess.run(
        [
            analyze,
            "verify",
            "--man=no",
            "--generators=no",
            f"--root={root}",
            AGENT_UNIT.name,
            SIM_UNIT.name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_agent_unit_exposure_is_at_most_1_5() -> None:
    exposure = _exposure(AGENT_UNIT)
    assert exposure <= MAX_EXPOSURE, (
        f"{AGENT_UNIT}: systemd-analyze security rates it {exposure}, above {MAX_EXPOSURE}: "
        "run `systemd-analyze security --offline=yes systemd/cleanroom-agent.service` and "
        "restore the sandboxing option it flags"
    )


def test_sim_unit_exposure_is_at_most_1_5() -> None:
    exposure = _exposure(SIM_UNIT)
    assert exposure <= MAX_EXPOSURE, f"{SIM_UNIT}: exposure {exposure} > {MAX_EXPOSURE}"


def test_exposure_parser_sees_an_unhardened_unit(tmp_path: Path) -> None:
    # The exposure check must be able to fail: a bare unit is rated far above the bound.
    bare = tmp_path / "bare.service"
    bare.write_text("[Service]\nExecStart=/bin/true\n")
    assert _exposure(bare) > MAX_EXPOSURE


def test_units_and_drop_in_verify_in_a_scratch_root(tmp_path: Path) -> None:
    result = _verify(_scratch_root(tmp_path, with_console_script=True))
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings (exit 0): there must be none.
    assert result.stderr.strip() == "", result.stderr


def test_verify_reports_a_missing_console_script(tmp_path: Path) -> None:
    result = _verify(_scratch_root(tmp_path, with_console_script=False))
    assert result.returncode != 0
    assert "/opt/cleanroom/bin/cleanroom" in result.stderr


def test_sysusers_and_tmpfiles_build_the_layout_the_unit_expects(tmp_path: Path) -> None:
    sysusers = _tool("systemd-sysusers")
    tmpfiles = _tool("systemd-tmpfiles")
    root = tmp_path / "root"
    (root / "etc" / "cleanroom").mkdir(parents=True)
    (root / "etc" / "cleanroom" / "rack.toml").write_text("")
    subprocess.run([sysusers, f"--root={root}", str(SYSUSERS)], check=True, capture_output=True)
    entry = next(
        line.split(":")
        for line in (root / "etc" / "passwd").read_text().splitlines()
        if line.startswith("cleanroom:")
    )
    uid, gid, home, shell = int(entry[2]), int(entry[3]), entry[5], entry[6]
    assert uid < 1000, f"cleanroom got uid {uid}: a system user must stay below 1000"
    assert (home, shell) == ("/var/lib/cleanroom", "/usr/sbin/nologin")

    subprocess.run(
        [tmpfiles, "--create", f"--root={root}", str(TMPFILES)], check=True, capture_output=True
    )
    expected = {
        "var/lib/cleanroom": (0o700, uid, gid),
        "var/log/cleanroom": (0o750, uid, gid),
        "etc/cleanroom": (0o750, 0, gid),
        "etc/cleanroom/rack.toml": (0o640, 0, gid),
    }
    for relative, (mode, owner, group) in expected.items():
        info = (root / relative).stat()
        got = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
        assert got == (mode, owner, group), f"{relative}: got {got}, want {(mode, owner, group)}"


@pytest.mark.parametrize("path", [AGENT_UNIT, SIM_UNIT, DROP_IN_EXAMPLE])
def test_every_directive_says_why(path: Path) -> None:
    lines = path.read_text().splitlines()
    for _, key, _, number in _directives(path):
        above = lines[number - 2].strip() if number >= 2 else ""
        # A reset pair (`ExecStart=` then `ExecStart=...`) shares the comment above the reset.
        same_key_above = above.partition("=")[0].strip() == key
        assert above.startswith("#") or same_key_above, (
            f"{path.name}:{number}: {key}= has no comment line above it saying why"
        )


def test_agent_unit_matches_the_daemon_contract() -> None:
    def one(key: str) -> str:
        values = _values(AGENT_UNIT, key)
        assert len(values) == 1, f"{AGENT_UNIT.name}: {key}= appears {len(values)} times"
        return values[0]

    assert one("Type") == "notify"
    assert one("NotifyAccess") == "main"
    assert one("WatchdogSec") == "30s"
    assert one("Restart") == "on-failure"
    assert one("RestartPreventExitStatus") == str(EXIT_CONFIG)
    assert one("User") == "cleanroom"
    assert one("ExecStart").split()[1:] == ["run", "--config", "/etc/cleanroom/rack.toml"]
    assert one("CapabilityBoundingSet") == "CAP_NET_ADMIN"
    assert one("AmbientCapabilities") == "CAP_NET_ADMIN"
    # A private user namespace would make CAP_NET_ADMIN useless on the host's netns.
    assert _values(AGENT_UNIT, "PrivateUsers") == []
    assert one("RestrictAddressFamilies").split() == [
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
        "AF_NETLINK",
    ]


MDWE_PROBE = """
import asyncio, ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
# PR_SET_MDWE (65), PR_MDWE_REFUSE_EXEC_GAIN (1): the kernel's form of what systemd's
# MemoryDenyWriteExecute=yes enforces with seccomp (Linux 6.3+).
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("a writable+executable mapping was allowed: the probe proves nothing")
except PermissionError:
    pass
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
key = Ed25519PrivateKey.generate()
key.public_key().verify(key.sign(b"cmd"), b"cmd")
import msgspec, sqlite3, ssl
assert msgspec.json.decode(msgspec.json.encode({"a": 1})) == {"a": 1}
sqlite3.connect(":memory:").execute("select 1")
ssl.create_default_context()
import pyroute2, pysnmp.hlapi.v3arch.asyncio
from gufo.snmp.aio import SnmpSession
async def get():
    error = None
    for _ in range(20):  # snmpd may still be starting: a refused or lost GET is retried
        try:
            async with SnmpSession(addr="127.0.0.1", port=int(sys.argv[1]),
                                   community="public", timeout=1) as session:
                return await session.get("1.3.6.1.2.1.1.5.0")
        except Exception as exc:
            error = exc
            await asyncio.sleep(0.25)
    sys.exit(f"snmpd on port {sys.argv[1]} never answered: {error!r}")
print(asyncio.run(get()))
"""


def test_dependencies_survive_memory_deny_write_execute(tmp_path: Path) -> None:
    # The unit sets MemoryDenyWriteExecute=yes: a dependency that starts generating code
    # (a JIT, libffi closures) would crash the agent only on the controller. Exercise the
    # Rust and C cores under the same rule here, with a real SNMP GET for gufo-snmp.
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not Path(snmpd).exists():
        pytest.skip("snmpd not found: apt-get install snmpd")
    conf = tmp_path / "snmpd.conf"
    conf.write_text("rocommunity public 127.0.0.1\nsysName mdwe-probe\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [snmpd, "-f", "-Lo", "-C", "-c", str(conf), f"udp:127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", MDWE_PROBE, str(port)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        server.terminate()
        server.wait()
    if result.returncode == 77:
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3): cannot emulate the unit's rule")
    assert result.returncode == 0, result.stderr
    assert "mdwe-probe" in result.stdout
