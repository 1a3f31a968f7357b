"""The MQTT topic tree of one rack (DESIGN.md section 5).

Everything lives under ``{prefix}/{site}/{rack}/``. Topic segments come from the rack
config; a ``+``, ``#`` or ``/`` inside one would silently widen a subscription or split
a level, so they are refused here, where the tree is built, not on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.errors import ConfigError

_FORBIDDEN = ("+", "#", "/", "\x00")


def check_segment(place: str, value: str) -> str:
    """Return ``value`` if it can be one MQTT topic level, else raise ConfigError."""
    if not value or any(char in value for char in _FORBIDDEN):
        raise ConfigError(
            [
                f"{place}: {value!r} cannot be an MQTT topic level; use a non-empty name "
                "without '+', '#', '/' or NUL (for example 'chu-nord' or 'rack-1')"
            ]
        )
    return value


def check_prefix(place: str, value: str) -> str:
    """A prefix may have several levels (``cleanroom/v1``) but no wildcard or empty level."""
    for level in value.split("/"):
        check_segment(place, level)
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str
    site: str
    rack: str

    def __post_init__(self) -> None:
        check_prefix("mqtt.prefix", self.prefix)
        check_segment("rack.site", self.site)
        check_segment("rack.id", self.rack)

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site}/{self.rack}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    def telemetry(self, device: str) -> str:
        return f"{self.base}/telemetry/{check_segment('telemetry device', device)}"

    def command(self, verb: str) -> str:
        return f"{self.base}/cmd/{check_segment('command verb', verb)}"

    @property
    def command_filter(self) -> str:
        return f"{self.base}/cmd/+"

    def verb_of(self, topic: str) -> str | None:
        """The verb of a command topic of this rack, or None if ``topic`` is not one."""
        head = f"{self.base}/cmd/"
        if not topic.startswith(head):
            return None
        verb = topic[len(head) :]
        return verb if verb and "/" not in verb else None


def fleet_filters(prefix: str) -> tuple[str, str]:
    """The subscriptions a supervisor uses to see every rack: statuses and events."""
    check_prefix("--prefix", prefix)
    return (f"{prefix}/+/+/status", f"{prefix}/+/+/events")


def split_rack_topic(prefix: str, topic: str) -> tuple[str, str, str] | None:
    """``(site, rack, rest)`` for a topic under ``prefix``, or None."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/", 2)
    if len(parts) < 3:
        return None
    return parts[0], parts[1], parts[2]
