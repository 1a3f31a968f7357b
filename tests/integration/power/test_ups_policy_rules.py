"""The UPS policy's rules on their own (pure, with a clock given per observation): edges
only, NUT's OB+LB and DEADTIME, and the return gated on the battery charge. No device is
involved; the simulated UPS runs in test_ups_policy.py."""

from __future__ import annotations

from agent.devices.ups import BatteryStatus, UpsStatus
from agent.devices.ups.rfc1628 import OUTPUT_SOURCE
from agent.power.ups_policy import UpsDecision, UpsPolicy

NORMAL, BATTERY = 3, 5  # UPS-MIB::upsOutputSource normal(3), battery(5)


def status(
    source: int | None = NORMAL,
    minutes: int | None = 60,
    charge: int | None = 100,
    battery: BatteryStatus | None = BatteryStatus.NORMAL,
) -> UpsStatus:
    return UpsStatus(
        battery_status=battery,
        on_battery=None if source is None else source in OUTPUT_SOURCE.battery,
        runtime_s=None if minutes is None else minutes * 60.0,
        charge_pct=charge,
    )


def policy(min_charge: float = 0.0) -> UpsPolicy:
    return UpsPolicy(
        "ups-1", low_runtime_s=600.0, dead_time_s=60.0, return_min_charge_pct=min_charge
    )


ON_BATTERY = BATTERY


def kinds(decisions: list[UpsDecision]) -> list[str]:
    return [d.kind for d in decisions]


def test_decisions_fire_on_edges_only() -> None:
    p = policy()
    assert p.observe(status(), 0) == []
    assert kinds(p.observe(status(ON_BATTERY, minutes=30), 1)) == ["on_battery"]
    assert p.observe(status(ON_BATTERY, minutes=20), 2) == []
    crit = p.observe(status(ON_BATTERY, minutes=9), 3)
    assert kinds(crit) == ["critical"]
    assert crit[0].reason == (
        "ups-1: on battery with 540 s of runtime left, below low_runtime 600 s"
    )
    assert crit[0].runtime_s == 540.0
    assert p.observe(status(ON_BATTERY, minutes=5), 4) == [], "critical fires once"


def test_low_battery_is_critical_on_battery_only() -> None:
    p = policy()
    assert p.observe(status(battery=BatteryStatus.LOW, minutes=2), 0) == []
    decisions = p.observe(status(ON_BATTERY, battery=BatteryStatus.LOW, minutes=None), 1)
    assert kinds(decisions) == ["on_battery", "critical"]
    assert "battery reports low" in decisions[1].reason


def test_an_unknown_source_keeps_the_last_known_state() -> None:
    p = policy()
    p.observe(status(ON_BATTERY), 0)
    assert p.observe(status(source=None), 1) == []
    assert p.on_battery is True


def test_return_waits_for_the_charge_the_policy_asks() -> None:
    p = policy(min_charge=80.0)
    p.observe(status(ON_BATTERY, minutes=5), 0)
    decisions = p.observe(status(charge=40), 1)
    assert kinds(decisions) == ["mains_back"]
    assert p.critical is False
    assert p.observe(status(charge=79), 2) == []
    allowed = p.observe(status(charge=80), 3)
    assert kinds(allowed) == ["return_allowed"]
    assert "charged to 80 %" in allowed[0].reason
    assert p.observe(status(charge=90), 4) == [], "once per outage"


def test_dead_time_counts_from_the_last_answer_and_only_matters_on_battery() -> None:
    p = policy()
    p.observe(status(ON_BATTERY), 100)
    assert kinds(p.silent(110, "no answer")) == ["ups_lost"]
    assert p.silent(159, "no answer") == []
    crit = p.silent(160, "no answer")
    assert kinds(crit) == ["critical"]
    assert "silent for 60 s (dead_time 60 s)" in crit[0].reason
    assert kinds(p.observe(status(ON_BATTERY), 170)) == ["ups_back"], "still critical"

    on_mains = policy()
    on_mains.observe(status(), 0)
    assert kinds(on_mains.silent(10, "x")) == ["ups_lost"]
    assert on_mains.silent(10_000, "x") == []


def test_a_ups_never_heard_is_never_critical() -> None:
    p = policy()
    assert kinds(p.silent(0, "no answer")) == ["ups_lost"]
    assert p.silent(3600, "no answer") == []
