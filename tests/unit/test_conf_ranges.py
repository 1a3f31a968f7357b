"""Every number the rack config holds has a declared range, and both its ends hold."""

from __future__ import annotations

import typing
from typing import Any

import msgspec
import pytest

from agent.conf import RackConfig
from agent.conf.ranges import RANGES, Range, numeric_fields, out_of_range, range_of
from agent.conf.steps import STEP_ARGS
from agent.conf.units import Duration


def _records() -> set[type[Any]]:
    """Every record type reachable from RackConfig, plus each step kind's args."""
    seen: set[type[Any]] = set()
    todo: list[Any] = [RackConfig, *STEP_ARGS.values()]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            if tp in seen:
                continue
            seen.add(tp)
            todo.extend(typing.get_type_hints(tp).values())
        else:
            todo.extend(typing.get_args(tp))
    return seen


def test_every_numeric_field_has_a_range() -> None:
    missing = []
    for record in _records():
        for field in numeric_fields(record):
            try:
                range_of(record, field)
            except KeyError:
                missing.append(f"{record.__name__}.{field}")
    assert not missing, f"add these to agent/conf/ranges.py RANGES: {sorted(missing)}"
    assert len(RANGES) > 40


def test_every_default_is_in_its_range() -> None:
    for record in _records():
        for info in msgspec.structs.fields(record):
            bounds = range_of(record, info.name) if info.name in numeric_fields(record) else None
            default = info.default
            if bounds is not None and isinstance(default, int | float):
                assert bounds.admits(default), f"{record.__name__}.{info.name} = {default}"


@pytest.mark.parametrize(
    ("bounds", "inside", "outside"),
    [
        (Range(1, 65535, "a UDP port"), [1, 65535], [0, 65536, -5]),
        (Range(0, 10, "s", above_lo=True), [0.001, 10], [0, -1, 10.5]),
    ],
)
def test_both_ends_of_a_range(bounds: Range, inside: list[float], outside: list[float]) -> None:
    assert all(bounds.admits(v) for v in inside)
    assert not any(bounds.admits(v) for v in outside)


def test_a_problem_names_path_value_and_range() -> None:
    from agent.conf.schema import Health  # noqa: PLC0415

    problems = out_of_range(Health(interval=Duration(0.0), jitter=1.5), "health")
    assert problems == [
        "health.interval: 0s is out of range; give more than 0s to 86400s (seconds between polls)",
        "health.jitter: 1.5 is out of range; give 0 to 0.99 (a fraction of the interval)",
    ]
