"""Run the tests marked ``kernel_lab`` where the kernel has what they need.

They need bridge VLAN filtering, 802.1Q devices and netem. A real rack controller runs
Debian's kernel, which has them, and there the tests simply run. The development and CI
kernel lacks them, so there this plugin collects every selected ``kernel_lab`` test of the
session, boots ONE virtme-ng VM with Debian's kernel over the host's file system (software
emulation: ``--disable-kvm``), runs those tests in it with pytest, and reports each inner
outcome as the outer test's outcome: pass, fail with the inner failure text, skip with the
inner reason. The VM boots lazily, at the first such test, so ``--collect-only`` and runs
that deselect them cost nothing.

Load it from the top-level conftest with ``pytest_plugins = ["tests.kernel_lab.plugin"]``
(or ``-p tests.kernel_lab.plugin``). Prepare the VM once with
``scripts/kernel-lab-prepare.sh`` (root). ``--kernel-lab=vm|native|auto`` (or the
KERNEL_LAB_MODE variable) forces a mode; KERNEL_LAB_TIMEOUT bounds the VM (seconds).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from . import probe
from .vm import VmRun

INSIDE_ENV = "CLEANROOM_KERNEL_LAB_INSIDE"
RESULTS_ENV = "CLEANROOM_KERNEL_LAB_RESULTS"
MARKER = "kernel_lab"

_RUN_KEY = pytest.StashKey["VmRun"]()
_MODE_KEY = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kernel-lab",
        choices=("auto", "vm", "native"),
        default=os.environ.get("KERNEL_LAB_MODE", "auto"),
        help="where kernel_lab tests run: auto (natively when this kernel has bridge VLAN "
        "filtering, 8021q and netem, else in the kernel-lab VM), vm, or native",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: runs inside the kernel-lab VM (bridge VLAN filtering, 8021q, netem)"
    )
    results = os.environ.get(RESULTS_ENV)
    if os.environ.get(INSIDE_ENV) and results:
        config.pluginmanager.register(InnerRecorder(Path(results)), "kernel-lab-recorder")


@pytest.hookimpl(trylast=True)  # after -m / -k deselection: boot only for what will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(INSIDE_ENV):
        return
    marked = [item for item in items if item.get_closest_marker(MARKER) is not None]
    if not marked:
        return
    mode = config.getoption("--kernel-lab")
    if mode == "auto":
        mode = "native" if probe.kernel_has_lab_features() else "vm"
    config.stash[_MODE_KEY] = mode
    if mode == "native":
        return
    run = VmRun(config.rootpath, [item.nodeid for item in marked])
    config.stash[_RUN_KEY] = run
    wanted = {id(item) for item in marked}
    # The stand-ins go last: the VM, started when collection ends, then boots while the
    # host's own tests run, and the first stand-in waits for whatever is left of it.
    stand_ins: list[pytest.Item] = []
    for item in marked:
        assert item.parent is not None  # an Item always sits in a module or class
        stand_ins.append(
            KernelLabItem.from_parent(item.parent, name=item.name, original=item, run=run)
        )
    items[:] = [item for item in items if id(item) not in wanted] + stand_ins


def pytest_collection_finish(session: pytest.Session) -> None:
    # Boot now, in the background: the VM's minute of emulated work then overlaps the
    # host's own tests instead of following them.
    run = session.config.stash.get(_RUN_KEY, None)
    if session.testsfailed:  # collection errors: the session stops before any test
        return
    if run is not None and not session.config.option.collectonly and session.items:
        run.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN_KEY, None)
    if run is not None:
        run.abort()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(_RUN_KEY, None)
    if run is not None and run.summary:
        terminalreporter.write_sep("-", "kernel lab")
        terminalreporter.write_line(run.summary)
    elif config.stash.get(_MODE_KEY, "") == "native":
        terminalreporter.write_sep("-", "kernel lab")
        terminalreporter.write_line("kernel_lab tests ran natively: this kernel has the features")


class InnerTestFailedError(Exception):
    """An inner test failed; the message is the inner pytest's failure text."""


class KernelLabItem(pytest.Item):
    """Stands in for one kernel_lab test on the host: its outcome is the VM's."""

    def __init__(self, *, original: pytest.Item, run: VmRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.original = original
        self.run = run
        # Same markers as the real test (its module's and class's come from the parent).
        self.own_markers.extend(original.own_markers)
        self.keywords.update(original.keywords)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.original.reportinfo()

    def runtest(self) -> None:
        result = self.run.result(self.nodeid)
        if result.outcome == "passed":
            return
        if result.outcome == "skipped":
            pytest.skip(result.text)
        raise InnerTestFailedError(result.text)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, InnerTestFailedError):
            return f"[inside the kernel-lab VM]\n{excinfo.value}"
        return super().repr_failure(excinfo, style=style)


@dataclass
class _Entry:
    outcome: str = "passed"
    text: str = ""


class InnerRecorder:
    """Inside the VM: write every test's outcome (and the session's own duration) to
    results.json in the shared results folder, keyed by node id."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: dict[str, _Entry] = {}
        self.collect_errors: list[str] = []
        self.started = time.monotonic()
        self.uptime_at_start = _uptime()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = time.monotonic()
        self.uptime_at_start = _uptime()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.entries.setdefault(report.nodeid, _Entry())
        if report.failed:
            where = "" if report.when == "call" else f"error in {report.when}: "
            entry.outcome = "failed"
            entry.text = (entry.text + "\n" if entry.text else "") + where + report.longreprtext
        elif report.skipped and entry.outcome == "passed":
            entry.outcome = "skipped"
            if hasattr(report, "wasxfail"):
                entry.text = f"expected failure inside the VM: {report.wasxfail}"
            elif isinstance(report.longrepr, tuple):
                entry.text = str(report.longrepr[2]).removeprefix("Skipped: ")
            else:
                entry.text = str(report.longrepr)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        document = {
            "kernel": os.uname().release,
            "session_seconds": round(time.monotonic() - self.started, 2),
            # Seconds since the guest booted, to split the overhead into its parts.
            "uptime_session_start": self.uptime_at_start,
            "uptime_session_end": _uptime(),
            "collect_errors": self.collect_errors,
            "results": {k: {"outcome": v.outcome, "text": v.text} for k, v in self.entries.items()},
        }
        partial = self.folder / "results.json.tmp"
        partial.write_text(json.dumps(document, indent=1))
        partial.replace(self.folder / "results.json")


def _uptime() -> float:
    """Seconds since this (guest) kernel booted."""
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
