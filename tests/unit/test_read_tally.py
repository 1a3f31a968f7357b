"""Reads are counted per actor and verb, and the count is taken once."""

from __future__ import annotations

from agent.read_tally import MAX_ACTORS, OTHER_ACTORS, ReadTally


def test_reads_are_counted_per_actor_and_verb_and_taken_once() -> None:
    tally = ReadTally()
    assert tally.take() is None  # nothing read: nothing to audit
    for ts in (10.0, 11.0, 12.0):
        tally.add("remote:olivia", "status.get", ok=True, ts=ts)
    tally.add("remote:olivia", "health.snapshot", ok=False, ts=13.0)
    tally.add("local:root", "status.get", ok=True, ts=14.0)
    detail = tally.take()
    assert detail == {
        "count": 5,
        "first_ts": 10.0,
        "last_ts": 14.0,
        "reads": [
            {"actor": "local:root", "verb": "status.get", "ok": 1, "failed": 0},
            {"actor": "remote:olivia", "verb": "health.snapshot", "ok": 0, "failed": 1},
            {"actor": "remote:olivia", "verb": "status.get", "ok": 3, "failed": 0},
        ],
    }
    assert tally.take() is None
    tally.add("remote:olivia", "status.get", ok=True, ts=20.0)
    again = tally.take()
    assert again is not None
    assert (again["count"], again["first_ts"]) == (1, 20.0)


def test_actors_past_the_bound_are_counted_together() -> None:
    tally = ReadTally()
    for index in range(MAX_ACTORS + 5):
        tally.add(f"remote:k{index}", "status.get", ok=True, ts=1.0)
    detail = tally.take()
    assert detail is not None
    actors = {row["actor"] for row in detail["reads"]}
    assert len(actors) == MAX_ACTORS + 1
    other = next(row for row in detail["reads"] if row["actor"] == OTHER_ACTORS)
    assert other["ok"] == 5
    assert detail["count"] == MAX_ACTORS + 5
