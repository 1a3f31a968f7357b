"""The adapter's retry pause: exponential, capped, jittered into [0.5, 1) of the step."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from agent.adapters.snmp import backoff_delay


@given(
    base=st.floats(min_value=0.001, max_value=2.0),
    attempt=st.integers(min_value=0, max_value=20),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_backoff_is_bounded_and_jittered(base: float, attempt: int, seed: int) -> None:
    step = min(5.0, base * 2.0**attempt)
    delay = backoff_delay(base, attempt, random.Random(seed))
    assert 0.5 * step <= delay < step or delay == step == 0


def test_backoff_grows_until_the_cap() -> None:
    rng = random.Random(1)
    highs = [max(backoff_delay(0.1, a, rng) for _ in range(50)) for a in range(8)]
    assert highs[0] < highs[1] < highs[2] < highs[3] < highs[4] < highs[5]
    assert max(highs) <= 5.0


def test_jitter_spreads_simultaneous_retries() -> None:
    rng = random.Random(3)
    delays = {round(backoff_delay(0.2, 1, rng), 6) for _ in range(40)}
    assert len(delays) > 30  # 40 pollers that timed out together do not retry together
