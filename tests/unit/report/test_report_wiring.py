"""The example rack configs map onto remote-supervision settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.conf import load_config
from agent.report.wiring import broker_settings, keyring, report_settings

# The demo rack: the example rack needs its secrets file at mode 0600, which a checkout
# does not keep.
CONFIGS = [Path(__file__).resolve().parents[3] / "config" / "demo-rack.toml"]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_configs_wire_up(path: Path) -> None:
    config = load_config(path)
    broker = broker_settings(config)
    assert broker.client_id == f"cleanroom-{config.rack.site}-{config.rack.id}"
    if broker.urls:
        assert len(broker.parsed_urls()) == len(config.mqtt.urls)
    settings = report_settings(config)
    assert settings.outbox_max_messages == config.mqtt.outbox_max_messages
    ring = keyring(config)
    assert len(ring) == len(config.key)
    for key in config.key:
        entry = ring.get(key.id)
        assert entry is not None
        assert entry.role == key.role
