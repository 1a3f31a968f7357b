"""Warnings about a valid config: it loads and runs, but will not do what it says.

Unlike `checks.py`, nothing here refuses a config. `cleanroom check-config` prints each
warning with its TOML path and the fix, and the daemon logs them at start.
"""

from __future__ import annotations

from agent.conf.schema import RackConfig

DAY_S = 86_400.0
EVENT_HEADROOM = 1.1
"""Events and audit entries share the outbox: a day of telemetry must leave them room."""


def telemetry_per_day(config: RackConfig) -> int:
    """Telemetry batches a day: one per polled device (every device of the config and the
    controller itself) per ``[mqtt] telemetry_interval``."""
    devices = len(config.devices()) + 1
    return round(devices * DAY_S / float(config.mqtt.telemetry_interval))


def warnings(config: RackConfig) -> list[str]:
    found: list[str] = []
    mqtt = config.mqtt
    per_day = telemetry_per_day(config)
    if per_day * EVENT_HEADROOM > mqtt.outbox_max_messages:
        hours = 24.0 * mqtt.outbox_max_messages / (per_day * EVENT_HEADROOM)
        devices = len(config.devices()) + 1
        need_interval = devices * DAY_S * EVENT_HEADROOM / mqtt.outbox_max_messages
        found.append(
            f"mqtt.outbox_max_messages: {mqtt.outbox_max_messages} cannot hold a day of "
            f"messages: {devices} devices publishing every {float(mqtt.telemetry_interval):g}s "
            f"is {per_day} telemetry batches a day, plus events; a broker outage longer than "
            f"about {hours:.0f} h thins telemetry. Raise outbox_max_messages to at least "
            f"{round(per_day * EVENT_HEADROOM)} or telemetry_interval to at least "
            f'"{need_interval:.0f}s"'
        )
    if float(mqtt.telemetry_interval) < float(config.health.interval):
        found.append(
            f"mqtt.telemetry_interval: {float(mqtt.telemetry_interval):g}s is shorter than "
            f"health.interval {float(config.health.interval):g}s; telemetry cannot be "
            "published more often than devices are polled, so it goes out once a poll"
        )
    return found
