"""Generate ``docs/schemas/*.json`` and ``docs/asyncapi.yaml`` from the payload types.

``python -m agent.report.apidoc [--check] [DOCS_DIR]``; ``--check`` exits 1 when the
files on disk differ from what the code generates (a test runs it), so the published
contract never drifts from what the agent sends.

The YAML is written by a few lines here rather than a YAML library: the document is
plain nested maps, lists and strings, and every scalar is emitted JSON-quoted, which
YAML 1.2 reads as the same string (JSON is a subset of YAML 1.2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from agent.report.payloads import json_schemas
from agent.report.roles import DANGEROUS_VERBS, ROLE_VERBS
from agent.verbs import VERBS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def asyncapi() -> dict[str, Any]:
    ref = {name: {"$ref": f"schemas/{name}.json"} for name in json_schemas()}
    rack = {
        "site": {"description": "site id ([rack] site)"},
        "rack": {"description": "rack id ([rack] id)"},
    }
    roles = {
        role: ("every verb" if verbs is None else sorted(verbs))
        for role, verbs in ROLE_VERBS.items()
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "cleanroom-agent remote supervision",
            "version": "1.0.0",
            "externalDocs": {
                "description": "The protocol for implementers: signed bytes, canonical "
                "encoding, checks and refusal reasons, verbs, delivery guarantees; test "
                "vectors in docs/vectors/",
                "url": "protocol.md",
            },
            "description": (
                "Topics under {prefix}/{site}/{rack}/ (prefix default cleanroom/v1). "
                "Stream messages (events, telemetry) carry boot_id and a seq per stream "
                "(the events topic, each telemetry topic) and per boot, without gaps "
                "except thinned telemetry, delivered at least once: "
                "de-duplicate by (boot_id, seq); status and replies carry "
                "as_of_seq. Commands are Ed25519-signed envelopes; roles: "
                + json.dumps(roles, sort_keys=True)
                + "; dangerous verbs needing an approval by a second person's key (a different "
                "public key whose role may run the verb): " + ", ".join(sorted(DANGEROUS_VERBS))
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            "status": {
                "address": "cleanroom/v1/{site}/{rack}/status",
                "parameters": rack,
                "description": "QoS 1, retained. Birth on every connect with the full "
                "snapshot; the will says online false, with ts, as_of_seq, state and outbox null "
                "(docs/protocol.md, The will).",
                "messages": {"status": {"payload": ref["Status"]}},
            },
            "events": {
                "address": "cleanroom/v1/{site}/{rack}/events",
                "parameters": rack,
                "description": "QoS 1. Transitions, steps, alarms, command outcomes and "
                "audit entries, from the durable outbox, in seq order.",
                "messages": {"event": {"payload": ref["StreamEvent"]}},
            },
            "telemetry": {
                "address": "cleanroom/v1/{site}/{rack}/telemetry/{device}",
                "parameters": {**rack, "device": {"description": "device name"}},
                "description": "QoS 1 (configurable). Batched readings; thinned (one in "
                "telemetry_keep_every) when the outbox is full.",
                "messages": {"telemetry": {"payload": ref["TelemetryBatch"]}},
            },
            "command": {
                "address": "cleanroom/v1/{site}/{rack}/cmd/{verb}",
                "parameters": {**rack, "verb": {"description": "dotted verb, e.g. power.on"}},
                "description": "QoS 1, never retained (a retained command is refused). Set "
                "the MQTT 5 response topic and correlation data to get "
                "replies.",
                "messages": {"command": {"payload": ref["CommandEnvelope"]}},
                # The verb registry (agent/verbs.py): each verb's args (the envelope's
                # "args" object), least role, and whether a second signature is needed.
                "x-verbs": {
                    verb.name: {
                        "summary": verb.summary,
                        "role": verb.role,
                        "two_person": verb.two_person,
                        "args": verb.schema(),
                    }
                    for verb in VERBS
                },
            },
            "reply": {
                "address": None,
                "description": "The request's MQTT 5 response topic, QoS 1, with its "
                "correlation data: accepted, then result or failed; or "
                "refused with a reason.",
                "messages": {"reply": {"payload": ref["Reply"]}},
            },
        },
        "operations": {
            "publishStatus": {"action": "send", "channel": {"$ref": "#/channels/status"}},
            "publishEvents": {"action": "send", "channel": {"$ref": "#/channels/events"}},
            "publishTelemetry": {"action": "send", "channel": {"$ref": "#/channels/telemetry"}},
            "receiveCommand": {
                "action": "receive",
                "channel": {"$ref": "#/channels/command"},
                "reply": {"channel": {"$ref": "#/channels/reply"}},
            },
        },
    }


def to_yaml(value: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{json.dumps(key)}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{json.dumps(key)}: {to_yaml(item, indent + 1)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "\n".join(f"{pad}- {to_yaml(item, indent + 1).lstrip()}" for item in value)
    return json.dumps(value)


def generated() -> dict[str, str]:
    files = {
        f"schemas/{name}.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in json_schemas().items()
    }
    files["asyncapi.yaml"] = (
        "# Generated by `python -m agent.report.apidoc`; do not edit.\n"
        + to_yaml(asyncapi())
        + "\n"
    )
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    rest = [a for a in argv if a != "--check"]
    docs = Path(rest[0]) if rest else DOCS
    stale = []
    for name, text in generated().items():
        path = docs / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print(
            "out of date (run `python -m agent.report.apidoc`): " + ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
