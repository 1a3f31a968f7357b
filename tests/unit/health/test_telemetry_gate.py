"""Telemetry is published at `[mqtt] telemetry_interval`, whatever the health interval."""

from __future__ import annotations

import random

import pytest

from agent.health.telemetry import TelemetryGate


def _published(gate: TelemetryGate, poll: float, jitter: float, seconds: float) -> int:
    rng = random.Random(7)
    now, count = 0.0, 0
    while now < seconds:
        count += gate.due("pdu-a", now)
        now += poll * (1 + rng.uniform(-jitter, jitter))
    return count


@pytest.mark.parametrize(
    ("poll", "telemetry", "expected"),
    [(2.0, 10.0, 8640), (2.0, 60.0, 1440), (10.0, 10.0, 8640), (10.0, 2.0, 8640)],
)
def test_a_day_of_polls_publishes_one_batch_per_telemetry_interval(
    poll: float, telemetry: float, expected: int
) -> None:
    count = _published(TelemetryGate(telemetry), poll, jitter=0.1, seconds=86_400)
    assert abs(count - expected) <= expected * 0.02, (count, expected)


def test_devices_are_gated_apart_and_a_silent_device_publishes_at_once_on_return() -> None:
    gate = TelemetryGate(10.0)
    assert gate.due("pdu-a", 0.0)
    assert gate.due("ups-1", 1.0)
    assert not gate.due("pdu-a", 5.0)
    assert gate.due("pdu-a", 9.0)  # a little early in its slot (jitter): still its slot
    assert not gate.due("pdu-a", 10.0)
    assert gate.due("pdu-a", 95.0)  # back after a silence: at once, then on a new grid
    assert not gate.due("pdu-a", 102.0)
    assert gate.due("pdu-a", 105.0)


def test_a_zero_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="give seconds > 0"):
        TelemetryGate(0.0)
