"""Fixtures for the power integration tests: a real net-snmp ``snmpd`` on loopback.

The process machinery lives in ``snmpd_fixture`` (also used by tests/bench/bench_snmp.py);
other test files in this folder may import it or use these fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.power.snmpd_fixture import (
    OUTLET_COUNT,
    READONLY_OUTLET,
    STUCK_OUTLET,
    Snmpd,
    playpen_line,
    snmpd_path,
)


@pytest.fixture(scope="module")
def snmpd() -> Iterator[Snmpd]:
    """A running snmpd serving the typed values and the outlet table (``PLAYPEN``)."""
    if snmpd_path() is None:
        pytest.skip("snmpd is not installed: apt-get install snmpd")
    server = Snmpd(
        [
            playpen_line(
                f"--count {OUTLET_COUNT} --lag 1",
                f"--stuck {STUCK_OUTLET} --readonly {READONLY_OUTLET}",
            )
        ]
    )
    with server:
        yield server
