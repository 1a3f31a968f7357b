"""`make test` runs every benchmark in its short form, so a benchmark cannot rot unseen.

`make bench` runs the long forms (each script with no arguments). Nothing here asserts a
time: each script prints its own ratios against a reference measured in the same run;
this test only requires that it runs to the end and prints them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SHORT_ARGS: dict[str, list[str]] = {
    "bench_isolate.py": ["1"],
    "bench_footprint.py": ["--runs", "1", "--settle", "1"],
}
SCRIPTS = sorted(p.name for p in HERE.glob("bench_*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_in_short_form(script: str) -> None:
    argv = [sys.executable, str(HERE / script), *SHORT_ARGS.get(script, ["--short"])]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=HERE.parents[1],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ratios = re.findall(r"\b\d+(?:\.\d+)?x\b", result.stdout)
    assert ratios, "a benchmark prints at least one ratio such as 0.45x"
