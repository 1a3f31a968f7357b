"""`RefusalLimiter`: a token bucket over refusal audit entries, counting what it holds."""

from __future__ import annotations

import pytest

from agent.report.refusal_limit import MAX_KEYS, OTHER_KEYS, RefusalLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_refusals_are_counted_by_reason() -> None:
    clock = Clock()
    limiter = RefusalLimiter(3, 60, clock=clock, wall=clock)
    assert [limiter.allow("malformed", "k") for _ in range(3)] == [True, True, True]
    clock.now += 0.5
    assert not limiter.allow("malformed", "mallory")
    clock.now += 0.2
    assert not limiter.allow("bad_signature", "mallory")
    suppressed = limiter.suppressed
    assert suppressed.count == 2
    assert suppressed.reasons == {"malformed": 1, "bad_signature": 1}
    assert suppressed.keys == {"mallory": 2}
    assert (suppressed.first_ts, suppressed.last_ts) == (1000.5, 1000.7)


def test_the_summary_waits_for_a_token_then_resets_the_count() -> None:
    clock = Clock()
    limiter = RefusalLimiter(1, 60, clock=clock, wall=clock)  # one entry a second
    assert limiter.allow("malformed")
    assert not limiter.allow("malformed")
    assert limiter.take_summary() is None
    assert limiter.wait_s() == pytest.approx(1.0)
    clock.now += 1.0
    summary = limiter.take_summary()
    assert summary is not None
    assert summary.as_detail()["count"] == 1
    assert limiter.suppressed.count == 0
    assert limiter.take_summary() is None  # nothing more to say
    assert not limiter.allow("malformed")  # the summary used the token


def test_a_forced_summary_goes_out_without_a_token() -> None:
    clock = Clock()
    limiter = RefusalLimiter(1, 1, clock=clock, wall=clock)
    limiter.allow("x")
    limiter.allow("x")
    summary = limiter.take_summary(force=True)
    assert summary is not None
    assert summary.count == 1


def test_the_bucket_refills_to_its_burst_only() -> None:
    clock = Clock()
    limiter = RefusalLimiter(2, 60, clock=clock, wall=clock)
    clock.now += 3600
    assert [limiter.allow("x") for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize(("burst", "per_minute"), [(0, 6), (5, 0), (5, -1)])
def test_nonsense_settings_are_refused(burst: int, per_minute: float) -> None:
    with pytest.raises(ValueError, match="refusal limiter"):
        RefusalLimiter(burst, per_minute, clock=Clock(), wall=Clock())


def test_a_wall_clock_step_back_neither_starves_nor_floods_the_bucket() -> None:
    mono, wall = Clock(), Clock()
    limiter = RefusalLimiter(1, 60, clock=mono, wall=wall)
    assert limiter.allow("x")
    wall.now -= 3600  # NTP corrects the controller's clock by an hour
    mono.now += 1.0
    assert limiter.allow("x")  # one token a second, whatever the wall clock did


def test_key_ids_sent_by_a_flood_are_named_up_to_a_bound() -> None:
    clock = Clock()
    limiter = RefusalLimiter(1, 1, clock=clock, wall=clock)
    limiter.allow("x")
    for n in range(100):
        limiter.allow("unknown_key", f"key-{n}")
    keys = limiter.suppressed.keys
    assert len(keys) == MAX_KEYS + 1
    assert keys[OTHER_KEYS] == 100 - MAX_KEYS
    assert sum(keys.values()) == limiter.suppressed.count == 100
