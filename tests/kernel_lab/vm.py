"""One boot of the kernel-lab VM that runs a set of pytest node ids inside it.

The VM is virtme-ng (``vng``) under qemu with software emulation (``--disable-kvm``: a KVM
guest hangs on the nested-virtualisation hosts we run on). It boots Debian's kernel,
prepared by scripts/kernel-lab-prepare.sh, over the host's root file system, read-only
except for the run's results folder (``--rwdir``). The guest runs a small shell script that
starts pytest on the node ids with the results recorder of plugin.py, which writes
results.json; the host then reads that file. The script also records pytest's exit code, and
vng's own output is kept in vng.log for when the boot itself goes wrong.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import payload

_PREPARE = "scripts/kernel-lab-prepare.sh"
_DEFAULT_TIMEOUT_S = 900.0
_KEEP_RUNS = 10  # result folders kept under .kernel-lab/runs for post-mortems


@dataclass(frozen=True)
class InnerResult:
    outcome: str  # passed | failed | skipped
    text: str


class VmRun:
    """Boots the VM at most once for all node ids: :meth:`start` launches it in the
    background (so it overlaps the host's own tests), :meth:`result` waits for it."""

    def __init__(self, rootdir: Path, nodeids: list[str]) -> None:
        self.rootdir = rootdir
        self.nodeids = nodeids
        self.cache = Path(os.environ.get("KERNEL_LAB_CACHE") or rootdir / ".kernel-lab")
        # Another vng-compatible command (tests of this runner use one that runs the guest
        # command on the host: everything but the kernel is then real).
        self.vng = Path(os.environ.get("KERNEL_LAB_VNG") or Path(sys.executable).parent / "vng")
        self.timeout = float(os.environ.get("KERNEL_LAB_TIMEOUT", _DEFAULT_TIMEOUT_S))
        self.summary = ""
        self.folder: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._payload_s = 0.0
        self._results: dict[str, InnerResult] | None = None
        self._skip_reason = ""
        self._failure = ""

    @property
    def finished(self) -> bool:
        return self._results is not None or bool(self._skip_reason or self._failure)

    def result(self, nodeid: str) -> InnerResult:
        if not self.finished:
            self._wait()
        if self._skip_reason:
            pytest.skip(self._skip_reason)
        if self._failure:
            return InnerResult("failed", self._failure)
        assert self._results is not None
        found = self._results.get(nodeid)
        if found is None:
            return InnerResult(
                "failed",
                f"the kernel-lab VM ran but did not report {nodeid}\n{self._inner_context()}",
            )
        return found

    def abort(self) -> None:
        """Kill the VM if it still runs (the session ended before its tests)."""
        if self._proc is not None and self._proc.poll() is None:
            _kill_group(self._proc)

    # -- preparation ------------------------------------------------------------------

    def _missing(self) -> str:
        """Why the VM cannot boot here, or '' when it can."""
        fix = f"run {_PREPARE} as root"
        if os.geteuid() != 0:
            return "the kernel-lab VM needs root (its tests create bridges and namespaces)"
        if "KERNEL_LAB_VNG" not in os.environ and shutil.which("qemu-system-x86_64") is None:
            return f"qemu-system-x86_64 is missing (apt-get install qemu-system-x86): {fix}"
        if not self.vng.exists():
            return f"virtme-ng is missing ({self.vng}): {fix}"
        path_file = self.cache / "vmlinuz.path"
        if not path_file.exists() or not Path(path_file.read_text().strip()).exists():
            return f"Debian's kernel is not unpacked under {self.cache}: {fix}"
        return ""

    def _script(self, folder: Path, pylib: Path) -> str:
        venv_bin = Path(sys.executable).parent
        env = {
            "PATH": f"{venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            # The compiled standard library and test-time packages first: see payload.py.
            "PYTHONPATH": str(pylib),
            "PYTHONDONTWRITEBYTECODE": "1",
            # Entry-point plugins (hypothesis, anyio) are not needed inside and cost seconds
            # of emulated start-up; pytest-asyncio is loaded by name below.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "CLEANROOM_KERNEL_LAB_INSIDE": "1",
            "CLEANROOM_KERNEL_LAB_RESULTS": str(folder),
        }
        if "CI" in os.environ:
            env["CI"] = os.environ["CI"]
        pytest_argv = [
            sys.executable, "-m", "pytest",
            "-p", "pytest_asyncio.plugin", "-p", "tests.kernel_lab.plugin",
            "-p", "no:cacheprovider", "-q", "--durations=10",
            f"--junitxml={folder / 'junit.xml'}",
            *self.nodeids,
        ]  # fmt: skip
        lines = [
            "#!/bin/sh",
            f"cut -d' ' -f1 /proc/uptime > {shlex.quote(str(folder / 'uptime-script'))}",
            f"cd {shlex.quote(str(self.rootdir))} || exit 90",
            *(f"export {key}={shlex.quote(value)}" for key, value in env.items()),
            f"{shlex.join(pytest_argv)} > {shlex.quote(str(folder / 'inner.log'))} 2>&1",
            f"echo $? > {shlex.quote(str(folder / 'exit-code'))}",
        ]
        return "\n".join(lines) + "\n"

    # -- the boot -----------------------------------------------------------------------

    def start(self) -> None:
        """Launch the VM in the background; idempotent. Unavailability is remembered and
        reported (as a skip) by :meth:`result`."""
        if self._proc is not None or self.finished:
            return
        missing = self._missing()
        if missing:
            self._skip_reason = f"kernel lab unavailable: {missing}"
            return
        runs = self.cache / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        folder = runs / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        folder.mkdir()
        self.folder = folder
        for old in sorted(runs.iterdir())[:-_KEEP_RUNS]:
            shutil.rmtree(old, ignore_errors=True)
        self._started = time.monotonic()
        pylib = payload.build(self.cache / "pylib")
        self._payload_s = time.monotonic() - self._started
        script = folder / "inner.sh"
        script.write_text(self._script(folder, pylib))
        vmlinuz = (self.cache / "vmlinuz.path").read_text().strip()
        argv = [
            str(self.vng),
            "--run", vmlinuz, "--disable-kvm", "--memory", "1G",
            "--rwdir", str(folder), "--exec", f"sh {shlex.quote(str(script))}",
        ]  # fmt: skip
        # vng finds its helpers (virtme-run) on PATH.
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        with (folder / "vng.log").open("wb") as log:
            self._proc = subprocess.Popen(
                argv,
                cwd=self.rootdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: vng, qemu and helpers
            )

    def _wait(self) -> None:
        self.start()
        if self._proc is None or self.folder is None:
            return  # unavailable: start() recorded why
        remaining = self.timeout - (time.monotonic() - self._started)
        try:
            self._proc.wait(timeout=max(remaining, 0.0))
        except BaseException:
            # Timeout, Ctrl-C or anything else: no VM may outlive the test run.
            _kill_group(self._proc)
            if not isinstance(sys.exc_info()[1], subprocess.TimeoutExpired):
                raise
            self._failure = (
                f"the kernel-lab VM did not finish within {self.timeout:.0f} s "
                f"(KERNEL_LAB_TIMEOUT); logs in {self.folder}\n{self._inner_context()}"
            )
            return
        self._collect(self.folder, time.monotonic() - self._started, self._payload_s)

    def _collect(self, folder: Path, wall: float, payload_s: float) -> None:
        results_file = folder / "results.json"
        if not results_file.exists():
            self._failure = (
                f"the kernel-lab VM wrote no results ({results_file}); vng: {self._vng_tail()}"
                f"\n{self._inner_context()}"
            )
            return
        document = json.loads(results_file.read_text())
        self._results = {
            nodeid: InnerResult(entry["outcome"], entry["text"])
            for nodeid, entry in document["results"].items()
        }
        inner = float(document["session_seconds"])
        try:
            script_at = float((folder / "uptime-script").read_text())
        except (OSError, ValueError):
            script_at = 0.0
        start_at, end_at = document["uptime_session_start"], document["uptime_session_end"]
        self.summary = (
            f"{len(self.nodeids)} test(s) in 1 VM boot (kernel {document['kernel']}): "
            f"{wall:.1f} s wall = {inner:.1f} s of tests + {wall - inner:.1f} s overhead: "
            f"guest boot {script_at:.1f} s, Python and pytest start {start_at - script_at:.1f} s, "
            f"qemu start/stop and payload {wall - end_at:.1f} s (payload {payload_s:.1f} s); "
            f"logs in {folder}"
        )

    def _vng_tail(self) -> str:
        if self.folder is None or not (self.folder / "vng.log").exists():
            return "(no log)"
        return (self.folder / "vng.log").read_text(errors="replace")[-1500:]

    def _inner_context(self) -> str:
        folder = self.folder
        if folder is None:
            return ""
        parts = []
        code = folder / "exit-code"
        if code.exists():
            parts.append(f"inner pytest exit code {code.read_text().strip()}")
        inner_log = folder / "inner.log"
        if inner_log.exists():
            parts.append("inner pytest output (tail):\n" + inner_log.read_text()[-3000:])
        return "\n".join(parts)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait()
