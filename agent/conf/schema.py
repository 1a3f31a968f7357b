"""The rack config's shape: frozen, typed records, one per TOML table.

`config/rack.example.toml` comments every key; this module is the single source of
truth for names, types and defaults. Cross-references (an outlet that no PDU has, a port
in two roles) are checked in `checks.py`, after every record has decoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec

from agent.conf.units import Duration, Secret


class _Rec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every config record: immutable, keyword-only, unknown keys refused."""


# --- rack and VLANs -------------------------------------------------------------------


class Rack(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    site: str
    name: str = ""


class Vlans(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """VLAN id per role. All distinct, none is 1 (the default VLAN every new port lands in)."""

    management: int
    clean: int
    quarantine: int
    drill: int
    uplink: int


# --- SNMP credentials -----------------------------------------------------------------

SnmpVersion = Literal["2c", "3"]
AuthProtocol = Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"]
PrivProtocol = Literal["AES", "AES192", "AES256", "DES"]


class Credentials(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: SnmpVersion = "2c"
    community: Secret | None = None
    write_community: Secret | None = None
    user: str = ""
    auth_protocol: AuthProtocol = "SHA"
    auth_key: Secret | None = None
    priv_protocol: PrivProtocol = "AES"
    priv_key: Secret | None = None
    timeout: Duration = Duration(2.0)
    retries: int = 2


# --- devices ----------------------------------------------------------------------------


class OutletRef(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pdu: str
    outlet: int


class _SnmpDevice(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What every SNMP-managed device has: where it answers, with which credentials,
    which driver (``auto``: detected from its sysObjectID) and the model expected."""

    id: str
    host: str
    snmp_port: int = 161
    credentials: str
    driver: str = "auto"
    model: str = ""


class Pdu(_SnmpDevice, frozen=True, kw_only=True, forbid_unknown_fields=True):
    outlets: int
    inlet_budget_w: float
    ups: str = ""
    protected_outlets: list[int] = []


SwitchDriver = Literal["auto", "qbridge", "linux-bridge", "cisco-ios"]
PortRole = Literal["server", "storage", "uplink", "controller", "trunk", "drill", "unused"]


class SwitchPort(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    number: int
    role: PortRole
    device: str = ""
    name: str = ""


class Switch(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    host: str = ""
    snmp_port: int = 161
    credentials: str = ""
    driver: SwitchDriver = "auto"
    bridge: str = ""
    model: str = ""
    port_count: int
    ports: list[SwitchPort] = []
    power: list[OutletRef] = []
    nominal_w: float = 0.0


class Ups(_SnmpDevice, frozen=True, kw_only=True, forbid_unknown_fields=True):
    budget_w: float
    low_runtime: Duration = Duration(600.0)
    dead_time: Duration = Duration(60.0)


BmcKind = Literal["redfish", "ipmi"]


class Bmc(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: BmcKind
    host: str
    port: int = 0
    scheme: Literal["https", "http"] = "https"
    username: str
    password: Secret
    system_id: str = "1"
    verify_tls: bool = True
    ca_file: str = ""
    boot_timeout: Duration = Duration(300.0)
    graceful_timeout: Duration = Duration(120.0)


class Server(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    role: Literal["hypervisor", "storage", "network", "backup", "other"] = "hypervisor"
    model: str = ""
    power: list[OutletRef] = []
    nominal_w: float
    bmc: Bmc | None = None


class Controller(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rack controller itself: its outlets are protected, never switched off remotely."""

    power: list[OutletRef] = []
    uplink_interface: str = ""
    switch_interface: str = ""
    management_address: str = ""


# --- power, health, policy ----------------------------------------------------------------


class PowerGroup(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    members: list[str]
    inrush_delay: Duration = Duration(2.0)
    settle: Duration = Duration(0.0)


SensorKind = Literal[
    "temperature",
    "humidity",
    "fan",
    "power_w",
    "pdu_load_a",
    "pdu_power_w",
    "outlet_power_w",
    "outlet_current_a",
    "outlet_state",
    "ups_charge",
    "ups_runtime",
    "ups_on_battery",
    "ups_battery_low",
    "ups_load",
    "ups_input_voltage",
    "ups_battery_voltage",
    "ups_seconds_on_battery",
    "ups_input_line_bads",
    "port_oper",
    "port_admin",
    "port_errors",
    "cpu_temperature",
    "disk_free",
    "memory_free",
    "clock_offset",
    "clock_sync",
]
Severity = Literal["info", "warning", "critical"]


class Threshold(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: SensorKind
    direction: Literal["above", "below"] = "above"
    raise_at: float
    clear_at: float
    hold: Duration = Duration(0.0)
    severity: Severity = "warning"
    action: Literal["none", "degraded", "isolate", "shutdown"] = "none"
    devices: list[str] = []


class Health(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    interval: Duration = Duration(10.0)
    jitter: float = 0.1
    timeout: Duration = Duration(3.0)
    stale_after: Duration = Duration(30.0)
    lost_after: Duration = Duration(120.0)


class Policy(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    firmware: Literal["block", "warn"] = "block"
    drift: Literal["repair", "alarm"] = "repair"
    reconcile_interval: Duration = Duration(30.0)


# --- remote supervision ----------------------------------------------------------------------


class Mqtt(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    urls: list[str] = []
    prefix: str = "cleanroom/v1"
    username: str = ""
    password: Secret | None = None
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    keepalive: Duration = Duration(30.0)
    session_expiry: Duration = Duration(3600.0)
    outbox_max_messages: int = 200_000
    telemetry_keep_every: int = 4
    inflight_window: int = 20
    telemetry_interval: Duration = Duration(10.0)
    command_max_skew: Duration = Duration(30.0)
    command_max_lifetime: Duration = Duration(600.0)
    command_max_age: Duration = Duration(600.0)
    approval_window: Duration = Duration(900.0)
    reply_prefix: str = ""
    refusal_audit_burst: int = 20
    refusal_audit_per_minute: float = 6.0


class Key(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    role: Literal["observer", "operator", "admin"]
    public_key: str
    revoked: bool = False


# --- restore runbook ------------------------------------------------------------------------

StepKind = Literal[
    "power",
    "vlan",
    "wait_tcp",
    "wait_http",
    "verify_image",
    "command",
    "prompt",
    "restore",
]


class Application(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A hospital application the runbook restores. Once operational, its wait steps keep
    running as a liveness probe; when it stops answering, ``recovery`` says what the agent
    does: ``rerun`` its part of the runbook (power, verify, start, wait) up to
    ``recovery_retries`` times, ``recovery_backoff`` apart (doubling), or ``hold`` the rack
    in safe hold for an operator."""

    id: str
    name: str
    rto: Duration
    recovery: Literal["rerun", "hold"] = "rerun"
    recovery_retries: int = 5
    recovery_backoff: Duration = Duration(5.0)


class Step(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    kind: StepKind
    needs: list[str] = []
    app: str = ""
    title: str = ""
    timeout: Duration = Duration(300.0)
    retries: int = 0
    backoff: Duration = Duration(5.0)
    on_failure: Literal["stop", "continue", "ask"] = "stop"
    args: dict[str, Any] = {}


class Runbook(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    concurrency: int = 4
    step: list[Step] = []


class StoreConf(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: str = "/var/lib/cleanroom/agent.db"


class Drill(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = False
    report_dir: str = "/var/lib/cleanroom/drills"


Device = Pdu | Switch | Ups | Server


class RackConfig(_Rec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole rack, validated. ``source`` is the file it came from, ``digest`` its
    SHA-256 (reported in the MQTT status, so the ARS sees which config a rack runs)."""

    rack: Rack
    vlans: Vlans
    credentials: dict[str, Credentials] = {}
    pdu: list[Pdu] = []
    switch: list[Switch] = []
    ups: list[Ups] = []
    server: list[Server] = []
    controller: Controller = Controller()
    power_group: list[PowerGroup] = []
    threshold: list[Threshold] = []
    health: Health = Health()
    policy: Policy = Policy()
    mqtt: Mqtt = Mqtt()
    key: list[Key] = []
    application: list[Application] = []
    runbook: Runbook = Runbook()
    store: StoreConf = StoreConf()
    drill: Drill = Drill()
    secrets_file: str = ""
    source: str = ""
    digest: str = ""

    def devices(self) -> list[tuple[str, int, Device]]:
        """Every device with its TOML section and index, for error paths."""
        found: list[tuple[str, int, Device]] = []
        found += [("pdu", i, d) for i, d in enumerate(self.pdu)]
        found += [("switch", i, d) for i, d in enumerate(self.switch)]
        found += [("ups", i, d) for i, d in enumerate(self.ups)]
        found += [("server", i, d) for i, d in enumerate(self.server)]
        return found

    def resolve(self, path: str) -> Path:
        """A path from the config: relative ones are taken from the config file's folder,
        so a rack config and its images can move together."""
        candidate = Path(path)
        if candidate.is_absolute() or not self.source:
            return candidate
        return (Path(self.source).parent / candidate).resolve()

    def state_dir(self) -> Path:
        """Where the agent keeps its state: the folder of its store (restored images,
        the console socket, reports unless told otherwise)."""
        return self.resolve(self.store.path).parent

    def device_ids(self) -> list[str]:
        return [d.id for _, _, d in self.devices()]

    def find_pdu(self, pdu_id: str) -> Pdu | None:
        return next((p for p in self.pdu if p.id == pdu_id), None)

    def protected_outlets(self) -> dict[str, frozenset[int]]:
        """Outlets never switched off by a remote command: each PDU's own list, the
        controller's outlets, and the switches' outlets (cutting them cuts the ARS off)."""
        result: dict[str, set[int]] = {p.id: set(p.protected_outlets) for p in self.pdu}
        for ref in [*self.controller.power, *(r for s in self.switch for r in s.power)]:
            result.setdefault(ref.pdu, set()).add(ref.outlet)
        return {pdu: frozenset(outlets) for pdu, outlets in result.items()}
