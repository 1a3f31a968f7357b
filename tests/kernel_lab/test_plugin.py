"""The kernel-lab runner's plumbing, with a stand-in for vng that runs the guest command on
the host: the generated script, the inner pytest, results.json and the mapping of each
inner outcome onto the outer test are all real; only the kernel is this host's.

(The real VM boot is exercised by tests/integration/sim/test_lab_vlan.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .vm import VmRun

FAKE_VNG = """\
import subprocess, sys
argv = sys.argv[1:]
# The runner must ask for software emulation and a writable results folder.
assert "--disable-kvm" in argv and "--rwdir" in argv and "--run" in argv, argv
sys.exit(subprocess.run(["sh", "-c", argv[argv.index("--exec") + 1]]).returncode)
"""

BROKEN_VNG = """\
import sys
print("qemu: could not boot, pretend")
sys.exit(1)
"""

TESTS = """\
import os
import pytest

INSIDE = "CLEANROOM_KERNEL_LAB_INSIDE"


@pytest.mark.kernel_lab
def test_passes_inside():
    assert os.environ.get(INSIDE) == "1"


@pytest.mark.kernel_lab
def test_fails_inside():
    assert 1 + 1 == 3, "arithmetic inside the lab"


@pytest.mark.kernel_lab
def test_skips_inside():
    pytest.skip("needs a unicorn")


@pytest.mark.kernel_lab
@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n == 1


@pytest.mark.kernel_lab
def test_deselected():
    raise AssertionError("deselected with -k, must never run")


def test_on_host():
    assert INSIDE not in os.environ
"""


def _outer(tmp_path: Path, vng: str | None, *, cache_ready: bool = True) -> dict[str, ET.Element]:
    if os.geteuid() != 0:
        pytest.skip("the kernel-lab runner requires root")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_generated.py").write_text(TESTS)
    cache = tmp_path / "cache"
    cache.mkdir()
    if cache_ready:
        kernel = cache / "vmlinuz-fake"
        kernel.write_text("not a kernel: the stand-in vng never boots it\n")
        (cache / "vmlinuz.path").write_text(f"{kernel}\n")
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_ADDOPTS"}}
    env["KERNEL_LAB_CACHE"] = str(cache)
    if vng is not None:
        script = tmp_path / "vng"
        script.write_text(f"#!{sys.executable}\n{vng}")
        script.chmod(0o755)
        env["KERNEL_LAB_VNG"] = str(script)
    junit = tmp_path / "outer.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.kernel_lab.plugin",
            "-p",
            "no:cacheprovider",
            "--kernel-lab=vm",
            "-k",
            "not deselected",
            f"--junitxml={junit}",
            "test_generated.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    cases = ET.parse(junit).getroot().iter("testcase")
    return {case.attrib["name"]: case for case in cases}


def _outcome(case: ET.Element) -> tuple[str, str]:
    for tag in ("failure", "error", "skipped"):
        found = case.find(tag)
        if found is not None:
            return tag, f"{found.attrib.get('message', '')}\n{found.text or ''}"
    return "passed", ""


def test_inner_outcomes_become_outer_outcomes(tmp_path: Path) -> None:
    cases = _outer(tmp_path, FAKE_VNG)
    assert "test_deselected" not in cases
    outcomes = {name: _outcome(case) for name, case in cases.items()}
    assert outcomes["test_passes_inside"] == ("passed", "")
    assert outcomes["test_on_host"] == ("passed", "")
    assert outcomes["test_param[1]"] == ("passed", "")
    kind, text = outcomes["test_fails_inside"]
    assert kind == "failure"
    assert "[inside the kernel-lab VM]" in text
    assert "arithmetic inside the lab" in text
    assert outcomes["test_param[2]"][0] == "failure"
    kind, text = outcomes["test_skips_inside"]
    assert kind == "skipped"
    assert "needs a unicorn" in text
    # One boot served all of them: exactly one run folder.
    assert len(list((tmp_path / "cache" / "runs").iterdir())) == 1


def test_unprepared_lab_skips_with_the_fix(tmp_path: Path) -> None:
    cases = _outer(tmp_path, FAKE_VNG, cache_ready=False)
    kind, text = _outcome(cases["test_passes_inside"])
    assert kind == "skipped"
    assert "kernel-lab-prepare.sh" in text
    assert _outcome(cases["test_on_host"]) == ("passed", "")


def test_a_vm_that_never_ran_the_tests_fails_them_with_its_log(tmp_path: Path) -> None:
    cases = _outer(tmp_path, BROKEN_VNG)
    kind, text = _outcome(cases["test_passes_inside"])
    assert kind == "failure"
    assert "wrote no results" in text
    assert "could not boot, pretend" in text


def test_script_quotes_node_ids(tmp_path: Path) -> None:
    run = VmRun(tmp_path, ["t.py::test_x[a b; rm -rf /]"])
    script = run._script(tmp_path, tmp_path / "lib.zip")
    assert "'t.py::test_x[a b; rm -rf /]'" in script
    assert script.startswith("#!/bin/sh\n")
