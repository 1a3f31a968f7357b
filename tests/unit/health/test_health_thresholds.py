"""Hysteresis and hold: alarms are raised and cleared on edges only."""

from __future__ import annotations

import random
from collections.abc import Sequence

from agent.conf.schema import Threshold
from agent.conf.units import Duration
from agent.health.sensors import Reading, reading
from agent.health.thresholds import Thresholds


def temp(value: float | None, device: str = "pdu-a", sensor: str = "temperature") -> Reading:
    return reading(device, sensor, "temperature", "Cel", value, 0.0)


def run(book: Thresholds, values: Sequence[float | None], step: float = 1.0) -> list[str]:
    changes: list[str] = []
    for i, value in enumerate(values):
        changes += [e.change for e in book.evaluate(temp(value), i * step)]
    return changes


def test_raises_once_and_clears_once_despite_noise_in_the_band() -> None:
    book = Thresholds([Threshold(kind="temperature", raise_at=35.0, clear_at=32.0)])
    rng = random.Random(7)
    rising = [30.0, 33.0, 34.9, 35.0]
    noisy_high = [35.0 + rng.uniform(-2.9, 3.0) for _ in range(200)]  # 32.1 .. 38
    falling = [31.9]
    noisy_low = [32.0 + rng.uniform(-3.0, 2.9) for _ in range(200)]  # 29 .. 34.9
    changes = run(book, rising + noisy_high + falling + noisy_low)
    assert changes == ["raised", "cleared"]


def test_hold_needs_an_unbroken_run_past_the_limit() -> None:
    rule = Threshold(kind="temperature", raise_at=35.0, clear_at=32.0, hold=Duration(4.0))
    book = Thresholds([rule])
    # t=0..3 above, t=4 dips to 34 (restarts the hold), then above from t=5.
    values: list[float | None] = [36, 36, 36, 36, 34, 36, 36, 36, 36, 36]
    edges = []
    for t, v in enumerate(values):
        edges += [(t, e.change) for e in book.evaluate(temp(v), float(t))]
    assert edges == [(9, "raised")]


def test_unknown_readings_change_no_alarm_but_restart_a_hold() -> None:
    rule = Threshold(kind="temperature", raise_at=35.0, clear_at=32.0, hold=Duration(2.0))
    book = Thresholds([rule])
    assert run(book, [36, None, 36, 36]) == []  # hold restarted at t=2, needs t=4
    assert run(Thresholds([rule]), [36, 36, 36, None, 20]) == ["raised", "cleared"]


def test_below_direction_and_equal_levels() -> None:
    runtime = Threshold(kind="temperature", direction="below", raise_at=600, clear_at=900)
    book = Thresholds([runtime])
    assert run(book, [1200, 800, 590, 700, 899, 900, 600]) == ["raised", "cleared", "raised"]
    flag = Threshold(kind="temperature", raise_at=0.5, clear_at=0.5)
    assert run(Thresholds([flag]), [0, 1, 1, 0.5, 0, 0, 1]) == ["raised", "cleared", "raised"]


def test_rules_apply_to_their_devices_and_track_sensors_apart() -> None:
    rule = Threshold(kind="temperature", raise_at=35.0, clear_at=32.0, devices=["pdu-a"])
    book = Thresholds([rule])
    assert book.evaluate(temp(40, device="pdu-b"), 0.0) == []
    first = book.evaluate(temp(40, sensor="temperature/1"), 0.0)
    second = book.evaluate(temp(40, sensor="temperature/2"), 0.0)
    assert [e.change for e in first + second] == ["raised", "raised"]
    assert book.forget_device("pdu-a") == [(0, "temperature/1"), (0, "temperature/2")]


def test_two_rules_on_one_kind_are_independent() -> None:
    warn = Threshold(kind="temperature", raise_at=35.0, clear_at=32.0)
    crit = Threshold(kind="temperature", raise_at=45.0, clear_at=40.0, severity="critical")
    book = Thresholds([warn, crit])
    seen = []
    for t, v in enumerate([30, 36, 46, 41, 39, 31]):
        seen += [(e.rule, e.change) for e in book.evaluate(temp(v), float(t))]
    assert seen == [(0, "raised"), (1, "raised"), (1, "cleared"), (0, "cleared")]
