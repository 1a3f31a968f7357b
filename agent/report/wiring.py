"""From the validated rack config (agent/conf) to the settings of remote supervision.

The daemon calls these three and hands the results to `Reporter`; keeping the mapping
here leaves the adapter and the reporter free of any dependency on the config types.
"""

from __future__ import annotations

from agent.adapters.mqtt import BrokerSettings
from agent.conf import RackConfig
from agent.report.envelope import Keyring, key_entry
from agent.report.reporter import ReportSettings


def broker_settings(config: RackConfig) -> BrokerSettings:
    mqtt = config.mqtt
    return BrokerSettings(
        urls=tuple(mqtt.urls),
        # Stable per rack, so the broker replaces a stale session of ours on reconnect.
        client_id=f"cleanroom-{config.rack.site}-{config.rack.id}",
        username=mqtt.username,
        password=mqtt.password.reveal() if mqtt.password is not None else "",
        ca_file=mqtt.ca_file,
        cert_file=mqtt.cert_file,
        key_file=mqtt.key_file,
        keepalive=float(mqtt.keepalive),
        session_expiry=int(mqtt.session_expiry),
        max_inflight=mqtt.inflight_window,
    )


def report_settings(config: RackConfig) -> ReportSettings:
    mqtt = config.mqtt
    return ReportSettings(
        prefix=mqtt.prefix,
        outbox_max_messages=mqtt.outbox_max_messages,
        telemetry_keep_every=mqtt.telemetry_keep_every,
        command_max_skew=float(mqtt.command_max_skew),
        command_max_lifetime=float(mqtt.command_max_lifetime),
        command_max_age=float(mqtt.command_max_age),
        approval_window=float(mqtt.approval_window),
        reply_prefix=mqtt.reply_prefix,
        window=mqtt.inflight_window,
        refusal_audit_burst=mqtt.refusal_audit_burst,
        refusal_audit_per_minute=float(mqtt.refusal_audit_per_minute),
    )


def keyring(config: RackConfig) -> Keyring:
    return Keyring(
        [
            key_entry(f"key[{index}]", key.id, key.role, key.public_key, key.revoked)
            for index, key in enumerate(config.key)
        ]
    )
