"""The pure parts of continuous verification: probes, hosting, recovery steps, backoff."""

from __future__ import annotations

from pathlib import Path

import msgspec

from agent.conf import Duration, load_config
from agent.lifecycle.verify import (
    Loss,
    backoff,
    policies,
    probes_by_app,
    recovery_steps,
    servers_of,
)

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo-rack.toml"
CONFIG = load_config(DEMO)


def test_each_application_is_probed_by_its_wait_steps() -> None:
    probes = probes_by_app(CONFIG)
    assert set(probes) == {a.id for a in CONFIG.application}
    assert [s.id for s in probes["identity"]] == ["up-identity"]
    assert all(s.kind in ("wait_tcp", "wait_http") for steps in probes.values() for s in steps)


def test_servers_are_mapped_to_the_applications_they_host() -> None:
    hosting = servers_of(CONFIG)
    assert set(hosting["hv-1"].split(",")) >= {"identity", "emergency"}


def test_recovery_reruns_only_the_lost_applications_steps() -> None:
    steps = recovery_steps(CONFIG, ["emergency"])
    assert {s.app for s in steps} == {"emergency"}
    ids = {s.id for s in steps}
    assert all(need in ids for s in steps for need in s.needs), "no need outside the part"
    start = next(s for s in steps if s.id == "start-emergency")
    assert start.needs == ["restore-emergency"]  # up-identity is not part of this recovery
    original = next(s for s in CONFIG.runbook.step if s.id == "start-emergency")
    assert "up-identity" in original.needs, "the config itself is unchanged"


def test_backoff_doubles_from_the_smallest_policy_and_is_capped() -> None:
    apps = policies(CONFIG, ["identity", "lab"])
    slow = msgspec.structs.replace(apps[0], recovery_backoff=Duration(40.0))
    assert [backoff([slow, apps[1]], n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff([slow], 1) == 40.0
    assert backoff([slow], 2) == 60.0  # capped


def test_a_loss_names_each_application_and_its_recovery_target() -> None:
    loss = Loss(["lab"], 0.0, {"lab": "up-lab (wait_tcp) does not answer"})
    lab = next(a for a in CONFIG.application if a.id == "lab")
    assert loss.reason(CONFIG) == (
        f"lab ({lab.name}, recovery target {float(lab.rto):g}s): up-lab (wait_tcp) does not answer"
    )
