"""Suite-wide rules.

In CI (CI=true) a skipped test is a failure: every peer a test needs (mosquitto, snmpd,
root for namespaces, the kernel lab VM) must be installed and started by `make test`
and the tests themselves. A person running the suite without root or a binary gets a
skip with the reason instead.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Tests marked kernel_lab run natively on a kernel with bridge VLAN filtering, 802.1Q and
# netem, or in one VM boot with Debian's kernel (tests/kernel_lab/README.md).
pytest_plugins = ["tests.kernel_lab.plugin"]


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = _skip_reason(report.longrepr)
        report.longrepr = f"skipped in CI, which counts as a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, None]:
    outcome = yield
    report: pytest.CollectReport = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"module skipped in CI, which counts as a failure: {report.longrepr}"
