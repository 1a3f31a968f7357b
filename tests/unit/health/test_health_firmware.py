"""Firmware baselines: the shipped files load, and each verdict is reachable."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.health.firmware import (
    check_firmware,
    find_baseline,
    load_baselines,
    model_matches,
    version_key,
)
from agent.health.sensors import Identity

SIM_MODELS = ["AP8941", "PX3-5190R", "EMAB03", "SIM-TOR-24X", "9PX 3000i RT2U", "SimServer R1"]
DEMO_MODELS = ["AP8941", "PX3-5190R", "Smart-UPS SRT 6000", "TOR-24G", "R740xd", "R650", "R450"]


def ident(model: str, firmware: str) -> Identity:
    return Identity(device="d", family="x", model=model, firmware=firmware)


def test_shipped_baselines_cover_the_simulators_and_the_demo_rack() -> None:
    baselines = load_baselines()
    for model in SIM_MODELS + DEMO_MODELS:
        assert find_baseline(baselines, model) is not None, model
    assert find_baseline(baselines, "Eaton ePDU EMAB03").model == "EMAB03"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("model", "firmware", "verdict"),
    [
        ("AP8941", "v6.9.6", "approved"),
        ("AP8941", "6.9.6", "approved"),
        ("AP8941", "v6.8.8", "known_bad"),
        ("AP8941", "v6.4.0", "outdated"),
        ("AP8941", "v7.0.0", "unknown"),
        ("AP8941", "", "unknown"),
        ("ZZ-9000", "1.0", "unknown"),
        ("SIM-TOR-24X", "9.3(10)", "approved"),
        ("SIM-TOR-24X", "9.3(3)", "known_bad"),
        ("9PX 3000i RT2U", "INV: 01.14.0019", "approved"),
    ],
)
def test_verdicts(model: str, firmware: str, verdict: str) -> None:
    check = check_firmware(load_baselines(), ident(model, firmware))
    assert check.verdict == verdict, check.detail
    assert check.detail


def test_version_keys_ignore_decorations() -> None:
    assert version_key("v6.9.6") == version_key("6.9.6") == (6, 9, 6)
    assert version_key("9.3(10)") > version_key("9.3(9)")
    assert version_key("INV: 01.14.0019") == (1, 14, 19)
    assert version_key("none") == ()


def test_model_matching() -> None:
    assert model_matches("EMAB03", "Eaton ePDU EMAB03")
    assert model_matches("px3-5190r", "PX3-5190R")
    assert model_matches("AP8941", "AP7900") is False
    assert model_matches("", "AP7900") is None
    assert model_matches("AP8941", "") is False


def test_bad_baseline_files_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('vendor = "X"\nmodel = "M1"\n[[approved]]\nversion = "abc"\n')
    (tmp_path / "b.toml").write_text('vendor = "X"\nmodel = "M2"\ncolour = "red"\n')
    (tmp_path / "c.toml").write_text(
        'vendor = "X"\nmodel = "M3"\n[[approved]]\nversion = "1.0"\nsha256 = "xyz"\n'
        '[[known_bad]]\nversion = "1.0"\nreason = "r"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_baselines(tmp_path)
    text = "\n".join(info.value.problems)
    for needle in (
        "a.toml",
        "no digits",
        "b.toml",
        "colour",
        "c.toml",
        "sha256",
        "both approved and known bad",
    ):
        assert needle in text
    with pytest.raises(ConfigError, match="does not exist"):
        load_baselines(tmp_path / "nope")
