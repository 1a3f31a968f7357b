"""`make bench` entry for bench_health.py (pytest collects test_*.py only)."""

from __future__ import annotations

import asyncio
import math

import pytest
from bench_health import report, run_bench


@pytest.mark.bench
def test_health_cycle_cost() -> None:
    result = asyncio.run(run_bench())
    print(report(result))
    # Correctness of the run, not timing: every device answered, one batch per device.
    assert result["devices_not_ok"] == 0
    assert result["batches_per_cycle"] == result["devices"]
    assert not math.isnan(result["agent_cpu_s_per_cycle"])
