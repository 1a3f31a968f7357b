"""The range of every number in the rack config: ports, intervals, counts, watts.

One table, keyed by record and field, so a reader sees every bound in one place and a test
proves no numeric field is left out (tests/unit/test_conf_ranges.py). A value outside its
range is a config error naming the TOML path, the value and the range to pick from.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

import msgspec

from agent.conf import schema as s
from agent.conf import steps as a
from agent.conf.units import Duration

DAY = 86_400.0


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    what: str
    above_lo: bool = False
    """The value must be more than ``lo`` (a zero interval would spin the event loop)."""

    def admits(self, value: float) -> bool:
        low_ok = value > self.lo if self.above_lo else value >= self.lo
        return low_ok and value <= self.hi

    def describe(self, seconds: bool) -> str:
        unit = "s" if seconds else ""
        low = f"more than {self.lo:.12g}{unit}" if self.above_lo else f"{self.lo:.12g}{unit}"
        return f"give {low} to {self.hi:.12g}{unit} ({self.what})"


UDP_PORT = Range(1, 65535, "a UDP port")
TCP_PORT = Range(1, 65535, "a TCP port")
OUTLET = Range(1, 1024, "an outlet number")
WATTS = Range(0, 100_000, "watts", above_lo=True)
NOMINAL_W = Range(0, 100_000, "watts")
RETRIES = Range(0, 100, "retries")
TIMEOUT = Range(0, DAY, "seconds", above_lo=True)
DELAY = Range(0, DAY, "seconds")
INTERVAL = Range(0, DAY, "seconds between polls", above_lo=True)
READING = Range(-1e12, 1e12, "a sensor reading")

RANGES: dict[tuple[type[Any], str], Range | None] = {
    # VLAN ids have their own rule with a longer explanation (checks._check_vlans).
    (s.Vlans, "management"): None,
    (s.Vlans, "clean"): None,
    (s.Vlans, "quarantine"): None,
    (s.Vlans, "drill"): None,
    (s.Vlans, "uplink"): None,
    (s.Credentials, "timeout"): Range(0, 300, "seconds per SNMP request", above_lo=True),
    (s.Credentials, "retries"): Range(0, 10, "SNMP retries"),
    (s.OutletRef, "outlet"): OUTLET,
    (s._SnmpDevice, "snmp_port"): UDP_PORT,
    (s.Pdu, "outlets"): OUTLET,
    (s.Pdu, "inlet_budget_w"): WATTS,
    (s.Pdu, "protected_outlets"): OUTLET,
    (s.SwitchPort, "number"): Range(1, 4096, "a port number"),
    (s.Switch, "snmp_port"): UDP_PORT,
    (s.Switch, "port_count"): Range(1, 4096, "ports"),
    (s.Switch, "nominal_w"): NOMINAL_W,
    (s.Ups, "budget_w"): WATTS,
    (s.Ups, "low_runtime"): TIMEOUT,
    (s.Ups, "dead_time"): TIMEOUT,
    (s.Bmc, "port"): Range(0, 65535, "a TCP port; 0 for the protocol's default"),
    (s.Bmc, "boot_timeout"): TIMEOUT,
    (s.Bmc, "graceful_timeout"): TIMEOUT,
    (s.Server, "nominal_w"): NOMINAL_W,
    (s.PowerGroup, "inrush_delay"): Range(0, 600, "seconds"),
    (s.PowerGroup, "settle"): Range(0, 3600, "seconds"),
    (s.Threshold, "raise_at"): READING,
    (s.Threshold, "clear_at"): READING,
    (s.Threshold, "hold"): DELAY,
    (s.Health, "interval"): INTERVAL,
    (s.Health, "jitter"): Range(0, 0.99, "a fraction of the interval"),
    (s.Health, "timeout"): TIMEOUT,
    (s.Health, "stale_after"): TIMEOUT,
    (s.Health, "lost_after"): TIMEOUT,
    (s.Policy, "reconcile_interval"): INTERVAL,
    (s.Mqtt, "keepalive"): Range(0, 65535, "seconds, MQTT's limit", above_lo=True),
    (s.Mqtt, "session_expiry"): Range(0, 4_294_967_295, "seconds, MQTT's limit"),
    (s.Mqtt, "outbox_max_messages"): Range(1000, 100_000_000, "messages"),
    (s.Mqtt, "telemetry_keep_every"): Range(2, 1000, "one telemetry batch kept in N"),
    (s.Mqtt, "inflight_window"): Range(1, 65535, "QoS 1 publishes awaiting PUBACK"),
    (s.Mqtt, "telemetry_interval"): INTERVAL,
    (s.Mqtt, "command_max_skew"): TIMEOUT,
    # A signed command must not stay usable for long: at most a day, in each bound.
    (s.Mqtt, "command_max_lifetime"): TIMEOUT,
    (s.Mqtt, "command_max_age"): TIMEOUT,
    (s.Mqtt, "approval_window"): TIMEOUT,
    (s.Mqtt, "refusal_audit_burst"): Range(1, 10_000, "refusals audited one by one"),
    (s.Mqtt, "refusal_audit_per_minute"): Range(0, 10_000, "refusals a minute", above_lo=True),
    (s.Application, "rto"): Range(0, 30 * DAY, "seconds", above_lo=True),
    (s.Application, "recovery_retries"): Range(0, 100, "recovery attempts after the first"),
    (s.Application, "recovery_backoff"): Range(0, 3600, "seconds", above_lo=True),
    (s.Step, "timeout"): TIMEOUT,
    (s.Step, "retries"): RETRIES,
    (s.Step, "backoff"): DELAY,
    (s.Runbook, "concurrency"): Range(1, 256, "steps at once"),
    (a.WaitTcpArgs, "port"): TCP_PORT,
    (a.WaitTcpArgs, "interval"): INTERVAL,
    (a.WaitHttpArgs, "status"): Range(100, 599, "an HTTP status"),
    (a.WaitHttpArgs, "interval"): INTERVAL,
    (a.CommandArgs, "success_codes"): Range(0, 255, "an exit status"),
}


def range_of(record: type[Any], field: str) -> Range | None:
    """The declared range of ``record.field`` (a subclass inherits its base's entry).
    Raises KeyError for a number the table forgot: the range test catches that."""
    for klass in record.__mro__:
        if (klass, field) in RANGES:
            return RANGES[(klass, field)]
    raise KeyError(f"{record.__name__}.{field}")


def out_of_range(record: msgspec.Struct, path: str) -> list[str]:
    """Problems of every number below ``record`` (records, lists and tables of them)."""
    problems: list[str] = []
    for name in record.__struct_fields__:
        value = getattr(record, name)
        where = f"{path}.{name}" if path else name
        if isinstance(value, msgspec.Struct):
            problems += out_of_range(value, where)
        elif isinstance(value, list | dict):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                at = f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]"
                if isinstance(item, msgspec.Struct):
                    problems += out_of_range(item, at)
                elif _is_number(item) and isinstance(value, list):  # a step's args: by kind
                    problems += _check(type(record), name, item, at)
        elif _is_number(value):
            problems += _check(type(record), name, value, where)
    return problems


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(record: type[Any], field: str, value: float, where: str) -> list[str]:
    bounds = range_of(record, field)
    if bounds is None or bounds.admits(value):
        return []
    seconds = isinstance(value, Duration)
    # Whole numbers in full (a year is 31536000s, not 3.1536e+07s); fractions as given.
    shown = f"{float(value):.12g}s" if seconds else f"{value:.12g}"
    return [f"{where}: {shown} is out of range; {bounds.describe(seconds)}"]


def numeric_fields(record: type[Any]) -> list[str]:
    """The fields of ``record`` that hold numbers (or lists of numbers)."""
    hints = typing.get_type_hints(record)
    found = []
    for name in record.__struct_fields__:
        tp = hints[name]
        args = typing.get_args(tp)
        inner = args[0] if typing.get_origin(tp) is list and args else tp
        if isinstance(inner, type) and issubclass(inner, int | float) and inner is not bool:
            found.append(name)
    return found
