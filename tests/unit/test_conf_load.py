"""The loader: the demo config round-trips, and no input of any shape crashes it."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.conf import RackConfig, Secret, load_config, parse_config
from agent.conf.units import Duration
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-rack.toml"
BASE: dict[str, Any] = tomllib.loads(DEMO.read_text())


def _reveal(value: object) -> object:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Duration):
        return float(value)
    raise NotImplementedError(type(value).__name__)


def _rebuild(type_: type, value: object) -> object:
    if type_ is Secret and isinstance(value, str):
        return Secret(value)
    if type_ is Duration and isinstance(value, float | int):
        return Duration(value)
    raise NotImplementedError(type_.__name__)


def test_demo_config_round_trips() -> None:
    config = load_config(DEMO)
    assert config.rack.id == "demo-rack-01"
    assert len(config.pdu) == 2
    assert {p.id for p in config.pdu} == {"pdu-a", "pdu-b"}
    assert len(config.runbook.step) >= 20
    assert len(config.application) == 6
    data = msgspec.to_builtins(config, enc_hook=_reveal)
    again = msgspec.convert(data, RackConfig, dec_hook=_rebuild)
    assert again == config
    # Loading is deterministic, and the digest identifies the file's bytes.
    assert load_config(DEMO) == config
    assert len(config.digest) == 64


def test_relative_paths_are_taken_from_the_config_folder() -> None:
    config = load_config(DEMO)
    assert config.resolve("demo/images/lab.img") == ROOT / "config" / "demo" / "images" / "lab.img"
    assert config.resolve("/abs/path") == Path("/abs/path")


def test_protected_outlets_include_the_controller_and_the_switch() -> None:
    config = load_config(DEMO)
    assert config.protected_outlets() == {"pdu-a": frozenset({1, 24}), "pdu-b": frozenset({1, 24})}


toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
keys = st.sampled_from([*BASE.keys(), "bogus", "pdu", "server", "runbook"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, toml_values, max_size=6))
def test_random_documents_only_raise_config_error(doc: dict[str, Any]) -> None:
    try:
        parse_config(tomli_w.dumps(doc), path="rack.toml")
    except ConfigError as exc:
        assert exc.problems
        assert all(p.startswith("rack.toml: ") for p in exc.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_mutations_of_the_demo_only_raise_config_error(data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        section = data.draw(st.sampled_from(sorted(doc)))
        node: Any = doc[section]
        if isinstance(node, list) and node:
            node = node[data.draw(st.integers(0, len(node) - 1))]
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            node[key] = data.draw(toml_values)
        else:
            doc[section] = data.draw(toml_values)
    try:
        parse_config(tomli_w.dumps(doc), path="rack.toml")
    except ConfigError as exc:
        assert exc.problems


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_random_text_only_raises_config_error(text: str) -> None:
    try:
        parse_config(text, path="rack.toml")
    except ConfigError as exc:
        assert exc.problems
