"""check-config warns when the outbox cannot hold a day of messages at the configured rates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.conf import load_config, parse_config
from agent.conf.advice import telemetry_per_day, warnings

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo-rack.toml"
DEMO_TEXT = DEMO.read_text()


def _with_mqtt(**keys: str) -> str:
    lines = "".join(f"{key} = {value}\n" for key, value in keys.items())
    return DEMO_TEXT.replace('telemetry_interval = "5s"\n', lines, 1)


def test_the_demo_rack_holds_a_day() -> None:
    config = load_config(DEMO)
    assert telemetry_per_day(config) == 10 * 86_400 // 5  # 9 devices and the controller
    assert warnings(config) == []


def test_a_two_second_telemetry_interval_is_named_with_both_fixes() -> None:
    config = parse_config(_with_mqtt(telemetry_interval='"2s"'))
    (warning,) = warnings(config)
    assert warning.startswith("mqtt.outbox_max_messages: 200000 cannot hold a day of messages")
    assert "10 devices publishing every 2s is 432000 telemetry batches a day" in warning
    assert 'at least 475200 or telemetry_interval to at least "5s"' in warning


def test_a_telemetry_interval_shorter_than_polling_is_named() -> None:
    config = parse_config(_with_mqtt(telemetry_interval='"1s"', outbox_max_messages="9000000"))
    assert warnings(config) == [
        "mqtt.telemetry_interval: 1s is shorter than health.interval 2s; telemetry cannot "
        "be published more often than devices are polled, so it goes out once a poll"
    ]


def test_check_config_prints_the_warning_and_still_passes(tmp_path: Path) -> None:
    path = tmp_path / "rack.toml"
    path.write_text(_with_mqtt(telemetry_interval='"2s"'))
    (tmp_path / "demo").symlink_to(DEMO.parent / "demo")
    for extra in ([], ["--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "agent.cli", "check-config", str(path), *extra],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        if extra:
            assert "cannot hold a day" in json.loads(result.stdout)["warnings"][0]
        else:
            assert "warning: mqtt.outbox_max_messages: 200000 cannot hold a day" in result.stderr
