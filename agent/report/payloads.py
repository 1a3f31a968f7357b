"""The JSON payloads on the wire, as msgspec Structs, and their JSON Schemas.

These types are the single source of truth: the agent encodes from them, the ARS tools
decode into them, and ``docs/schemas/*.json`` plus ``docs/asyncapi.yaml`` are generated
from them (``python -m agent.report.apidoc``), so the published contract cannot drift.

Two kinds of outgoing message:
- *stream* messages (events, audit entries, telemetry) go through the durable outbox and
  carry ``boot_id`` and ``seq``: numbered per stream (the events topic, each telemetry
  topic) and per boot, strictly increasing, without gaps except where telemetry was
  thinned (counted in ``OutboxStats.thinned``);
- *state* messages (the retained status, command replies) are sent directly on the live
  connection: only the latest status matters, and a reply only matters to a requester
  still waiting. They carry ``boot_id`` and ``as_of_seq``, the last ``seq`` of the
  events stream committed when they were built, so the ARS knows which stream prefix they reflect.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# Times on the wire are Unix seconds; floats for what the agent observed, integers for
# what is signed (a float's text is not canonical across languages).


class OutboxStats(msgspec.Struct, frozen=True, kw_only=True):
    backlog: int = 0
    """Messages committed to the outbox and not yet acknowledged by the broker."""
    max_messages: int = 0
    telemetry_keep_every: int = 1
    thinned: int = 0
    """Telemetry batches dropped by thinning since this store was created."""
    over_bound: bool = False
    """True when the backlog exceeds the bound with no telemetry left to thin (events and
    audit entries are never dropped)."""


class Alarm(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    name: str
    severity: str = "warning"
    since: float = 0.0
    message: str = ""


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What the rest of the agent knows right now: lifecycle state, devices, alarms."""

    state: str = "unknown"
    devices: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    alarms: list[Alarm] = msgspec.field(default_factory=list)


class Status(msgspec.Struct, frozen=True, kw_only=True):
    """Retained on ``status``. The birth (sent on every connect) carries the full
    snapshot. The will is handed to the broker when the session opens and published by
    the broker when the session is lost, a moment the rack cannot know: it says
    ``online: false`` and only what holds for the whole session (rack, site, boot id,
    version, config digest, device key, ``session_at``); ``ts``, ``as_of_seq``, ``state``
    and ``outbox`` are null and ``devices`` and ``alarms`` empty (the last state the rack
    published is on ``events``; when it went offline is when the broker published the
    will)."""

    rack: str
    site: str
    online: bool
    boot_id: str
    as_of_seq: int | None
    """The last ``seq`` of the events stream committed when this status was built; null
    in the will (it reflects no moment of the stream)."""
    ts: float | None
    """When the rack built this status (Unix seconds); null in the will."""
    session_at: float | None = None
    """When the rack opened the MQTT session this status belongs to (Unix seconds, the
    rack's clock): the same in the birth, every status of the session, and its will."""
    version: str = ""
    config_digest: str = ""
    device_key: str = ""
    """Base64 of the rack's Ed25519 device public key, which signs its audit heads."""
    state: str | None = "unknown"
    """The lifecycle state; null in the will."""
    devices: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    alarms: list[Alarm] = msgspec.field(default_factory=list)
    outbox: OutboxStats | None = msgspec.field(default_factory=OutboxStats)
    """The outbox's counters; null in the will."""


class StreamEvent(msgspec.Struct, frozen=True, kw_only=True):
    """On ``events``: transitions, step progress, alarms, command outcomes, audit entries
    (``category: audit`` with the chain's ``audit_id`` and ``hash`` in ``data``)."""

    boot_id: str
    seq: int
    ts: float
    kind: str
    source: str
    category: Literal["event", "audit", "status"]
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class TelemetryBatch(msgspec.Struct, frozen=True, kw_only=True):
    """On ``telemetry/{device}``: one batch of readings from one device."""

    boot_id: str
    seq: int
    ts: float
    device: str
    kind: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Approval(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A second person's signature over a command's digest (dangerous verbs)."""

    key_id: str
    command_digest: str
    issued_at: int
    sig: str


class CommandEnvelope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Published on ``cmd/{verb}`` (QoS 1, never retained). ``sig`` is the base64 Ed25519
    signature of the canonical encoding of every other field except ``approvals``."""

    verb: str
    args: dict[str, Any]
    rack: str
    issued_at: int
    expires_at: int
    nonce: str
    key_id: str
    sig: str
    approvals: list[Approval] = msgspec.field(default_factory=list)


ReplyStatus = Literal["accepted", "refused", "result", "failed"]


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """On the request's MQTT 5 response topic, with its correlation data echoed."""

    rack: str
    boot_id: str
    as_of_seq: int
    ts: float
    verb: str
    nonce: str
    status: ReplyStatus
    reason: str = ""
    """Machine-readable refusal reason (``bad_signature``, ``expired``...)."""
    detail: str = ""
    result: Any = None


# Name of each published schema -> its type. The AsyncAPI document references these.
SCHEMA_TYPES: dict[str, type[msgspec.Struct]] = {
    "Status": Status,
    "StreamEvent": StreamEvent,
    "TelemetryBatch": TelemetryBatch,
    "CommandEnvelope": CommandEnvelope,
    "Reply": Reply,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """One self-contained JSON Schema (2020-12) per published message type."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, struct in SCHEMA_TYPES.items():
        (ref,), components = msgspec.json.schema_components([struct], ref_template="#/$defs/{name}")
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **ref,
            "$defs": components,
        }
        schemas[name] = schema
    return schemas
