"""Write docs/vectors/*.json: ``python -m tests.contract.make_vectors [--check]``.

The vectors are made by the independent client (tests/contract/ars_client.py), never by
the agent's own signing code, and their expected verdicts are written here by hand from
docs/protocol.md; the agent's tests then run them against the agent's intake. Ed25519
is deterministic and the keys come from fixed seeds, so the files are reproducible and
``--check`` (run by a test) fails when they would change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from tests.contract import ars_client as c

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors"
NOW = 1_800_000_000
RACK = "rack-1"
OWN_TREE = "cleanroom/v1/chu-test/rack-1"
LIMITS: dict[str, int | str] = {
    "max_skew_s": 30,
    "max_lifetime_s": 600,
    "max_age_s": 300,
    "approval_window_s": 900,
    "reply_prefix": "cleanroom/v1/ars",
    "own_tree": OWN_TREE,
}
REPLY = "cleanroom/v1/ars/replies/vectors"
# (id, role, revoked); "admin-1-again" is admin-1's public key under a second id, which
# check-config refuses: the vectors check the intake refuses it too.
KEYS = [
    ("observer-1", "observer", False),
    ("operator-1", "operator", False),
    ("admin-1", "admin", False),
    ("admin-2", "admin", False),
    ("revoked-1", "admin", True),
    ("admin-1-again", "admin", False),
]
HANDLERS = ["status.get", "runbook.retry", "power.down"]


def private(key_id: str) -> Ed25519PrivateKey:
    seed_name = "admin-1" if key_id == "admin-1-again" else key_id
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"cleanroom test vector key " + seed_name.encode()).digest()
    )


def key_record(key_id: str, role: str, revoked: bool) -> dict[str, Any]:
    key = private(key_id)
    return {
        "id": key_id,
        "role": role,
        "revoked": revoked,
        "private_pem": key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode(),
        "public_key": c.b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
    }


def env(
    key_id: str,
    verb: str,
    args: dict[str, Any] | None = None,
    *,
    issued: int = NOW - 5,
    ttl: int = 120,
    nonce: str = "",
    rack: str = RACK,
) -> dict[str, Any]:
    return c.sign_command(
        private(key_id),
        key_id,
        verb,
        args or {},
        rack,
        issued,
        issued + ttl,
        nonce
        or hashlib.sha256(f"{key_id}{verb}{issued}{ttl}{args}{rack}".encode()).hexdigest()[:22],
    )


def approve(command: dict[str, Any], key_id: str, issued: int = NOW - 2) -> dict[str, Any]:
    approved = dict(command)
    approved["approvals"] = [c.sign_approval(private(key_id), key_id, command, issued)]
    return approved


def text(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope, ensure_ascii=False)


def resigned(envelope: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> str:
    """``envelope`` with a field changed after signing (the signature no longer fits)."""
    copy = json.loads(json.dumps(envelope))
    change(copy)
    return text(copy)


def cases() -> list[dict[str, Any]]:
    down = env("admin-1", "power.down", {"reason": "mains lost"})
    retry = env("operator-1", "runbook.retry", {"step": "restore-lab"})
    tricky = env(
        "operator-1",
        "runbook.retry",
        {"step": 'é😀\ue000 "q" \\ \n\t\b\f\r\x01\x1f\x7f\u2028 </script>'},
    )
    out: list[tuple[str, str, str | dict[str, Any], str, dict[str, Any]]] = [
        # name, what it shows, payload, expected reason ("" = accepted), options
        (
            "accepted_observer",
            "an observer reads the status",
            env("observer-1", "status.get"),
            "",
            {},
        ),
        ("accepted_operator", "an operator retries a step", retry, "", {}),
        (
            "accepted_escapes",
            "every escape rule and non-ASCII text in a signed string",
            tricky,
            "",
            {},
        ),
        (
            "accepted_any_wire_order",
            "the signature covers the canonical form: the wire may order and space members freely",
            json.dumps(dict(reversed(list(retry.items()))), indent=3),
            "",
            {"seen": []},
        ),
        (
            "accepted_two_person",
            "a dangerous verb with a second admin's approval",
            approve(down, "admin-2"),
            "",
            {},
        ),
        ("retained", "a retained command", retry, "retained", {"retained": True}),
        (
            "bad_reply_topic_own_status",
            "the response topic is the rack's own status: refused, nothing published",
            retry,
            "bad_reply_topic",
            {"response_topic": OWN_TREE + "/status"},
        ),
        (
            "bad_reply_topic_outside",
            "the response topic is outside the reply tree",
            retry,
            "bad_reply_topic",
            {"response_topic": "elsewhere/replies"},
        ),
        ("malformed_not_json", "not JSON", "power.down now please", "malformed", {}),
        (
            "malformed_unknown_member",
            "a member the envelope does not have",
            resigned(retry, lambda e: e.update(extra=1)),
            "malformed",
            {},
        ),
        (
            "malformed_missing_member",
            "no sig",
            resigned(retry, lambda e: e.pop("sig")),
            "malformed",
            {},
        ),
        (
            "malformed_float",
            "a fraction in args has no canonical form",
            resigned(retry, lambda e: e["args"].update(step=1.5)),
            "malformed",
            {},
        ),
        (
            "malformed_big_integer",
            "an integer beyond 2^53-1",
            resigned(retry, lambda e: e["args"].update(step=2**53)),
            "malformed",
            {},
        ),
        (
            "malformed_exponent",
            "a number written with an exponent is no integer, even 1e3",
            text(retry).replace(f'"expires_at": {retry["expires_at"]}', '"expires_at": 1.8e9'),
            "malformed",
            {},
        ),
        (
            "malformed_duplicate_member",
            "a member named twice: parsers disagree on which wins",
            text(retry)[:-1] + ', "verb": "power.down"}',
            "malformed",
            {},
        ),
        (
            "malformed_short_nonce",
            "a nonce of 7 characters",
            env("operator-1", "runbook.retry", nonce="1234567"),
            "malformed",
            {},
        ),
        (
            "malformed_nonce_alphabet",
            "a nonce outside base64url",
            env("operator-1", "runbook.retry", nonce="abc def+ghi/jk"),
            "malformed",
            {},
        ),
        (
            "verb_mismatch",
            "published on another verb's topic",
            retry,
            "verb_mismatch",
            {"topic_verb": "status.get"},
        ),
        (
            "wrong_rack",
            "signed for another rack",
            env("operator-1", "runbook.retry", {"step": "s"}, rack="rack-2"),
            "wrong_rack",
            {},
        ),
        (
            "unknown_key",
            "a key id the rack does not list",
            resigned(retry, lambda e: e.update(key_id="mallory")),
            "unknown_key",
            {},
        ),
        ("revoked_key", "a revoked key", env("revoked-1", "status.get"), "revoked_key", {}),
        (
            "bad_signature_args",
            "args changed after signing",
            resigned(retry, lambda e: e["args"].update(step="restore-pharmacy")),
            "bad_signature",
            {},
        ),
        (
            "bad_signature_no_prefix",
            "signed without the cleanroom/command/v1 line",
            resigned(
                retry,
                lambda e: e.update(
                    sig=c.b64(
                        private("operator-1").sign(c.command_bytes(retry)[len(c.COMMAND_PREFIX) :])
                    )
                ),
            ),
            "bad_signature",
            {},
        ),
        (
            "bad_signature_other_key",
            "signed by admin-2 while claiming operator-1",
            resigned(
                retry,
                lambda e: e.update(sig=c.b64(private("admin-2").sign(c.command_bytes(retry)))),
            ),
            "bad_signature",
            {},
        ),
        (
            "malformed_expiry_before_issue",
            "expires_at not after issued_at",
            env("operator-1", "runbook.retry", ttl=0),
            "malformed",
            {},
        ),
        (
            "lifetime_too_long",
            "valid for ten years",
            env("operator-1", "runbook.retry", ttl=10 * 365 * 86400),
            "lifetime_too_long",
            {},
        ),
        (
            "expired",
            "expired a second ago",
            env("operator-1", "runbook.retry", issued=NOW - 121),
            "expired",
            {},
        ),
        (
            "future",
            "issued 31 s ahead of the rack's clock",
            env("operator-1", "runbook.retry", issued=NOW + 31),
            "future",
            {},
        ),
        (
            "skew_tolerated",
            "issued 30 s ahead: within the skew",
            env("operator-1", "runbook.retry", {"step": "s"}, issued=NOW + 30),
            "",
            {},
        ),
        (
            "too_old",
            "issued 301 s ago, not yet expired",
            env("operator-1", "runbook.retry", issued=NOW - 301, ttl=400),
            "too_old",
            {},
        ),
        (
            "forbidden",
            "an observer may not retry a step",
            env("observer-1", "runbook.retry"),
            "forbidden",
            {},
        ),
        (
            "unknown_verb",
            "a verb no part of the agent serves",
            env("admin-1", "rack.explode"),
            "unknown_verb",
            {},
        ),
        ("approval_required", "a dangerous verb with no approval", down, "approval_required", {}),
        (
            "approval_self",
            "approved by its own key",
            approve(down, "admin-1"),
            "approval_invalid",
            {},
        ),
        (
            "approval_same_public_key",
            "approved by the same public key under another id",
            approve(down, "admin-1-again"),
            "approval_invalid",
            {},
        ),
        (
            "approval_operator",
            "approved by a role that may not run the verb",
            approve(down, "operator-1"),
            "approval_invalid",
            {},
        ),
        (
            "approval_other_command",
            "an approval of another command",
            resigned(
                approve(down, "admin-2"),
                lambda e: e["approvals"][0].update(
                    c.sign_approval(private("admin-2"), "admin-2", retry, NOW - 2)
                ),
            ),
            "approval_invalid",
            {},
        ),
        (
            "approval_command_signature",
            "the approver's command signature reused as an approval",
            resigned(
                approve(down, "admin-2"),
                lambda e: e["approvals"][0].update(
                    sig=c.b64(private("admin-2").sign(c.command_bytes(down)))
                ),
            ),
            "approval_invalid",
            {},
        ),
        (
            "approval_stale",
            "an approval issued 901 s ago",
            approve(down, "admin-2", NOW - 901),
            "approval_invalid",
            {},
        ),
        (
            "replayed",
            "a nonce this key already used",
            retry,
            "replayed",
            {"seen": [["operator-1", retry["nonce"]]]},
        ),
    ]
    result = []
    for name, what, payload, reason, options in out:
        wire = payload if isinstance(payload, str) else text(payload)
        case: dict[str, Any] = {
            "name": name,
            "description": what,
            "topic_verb": options.get(
                "topic_verb", json.loads(wire)["verb"] if wire.startswith("{") else "power.down"
            ),
            "retained": options.get("retained", False),
            "response_topic": options.get("response_topic", REPLY),
            "seen_nonces": options.get("seen", []),
            "payload": wire,
        }
        if isinstance(payload, dict):
            case["signed_bytes_hex"] = c.command_bytes(payload).hex()
            case["command_digest"] = c.command_digest(payload)
            case["approval_bytes_hex"] = [c.approval_bytes(a).hex() for a in payload["approvals"]]
        case["expect"] = (
            {"verdict": "refused", "reason": reason} if reason else {"verdict": "accepted"}
        )
        result.append(case)
    return result


def canonical_cases() -> list[dict[str, Any]]:
    values: list[tuple[str, str]] = [
        ("sorted_at_every_depth", '{"b":1,"a":{"y":[2,{"d":0,"c":1}],"x":null}}'),
        ("code_point_order", '{"é":1,"z":2,"Z":3,"\\ue000":4,"😀":5,"":6,"a😀":7,"a\\uffff":8}'),
        ("escapes", '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f\\u2028é😀"'),
        ("integers", "[0,-0,1,-1,9007199254740991,-9007199254740991]"),
        ("literals", "[true,false,null,[],{}]"),
    ]
    refused = [
        ("fraction", '{"a":1.5}'),
        ("beyond_2_53", "[9007199254740992]"),
    ]
    out: list[dict[str, Any]] = [
        {"name": n, "json": j, "canonical_hex": c.canonical(json.loads(j)).hex()} for n, j in values
    ]
    out += [{"name": n, "json": j, "refused": True} for n, j in refused]
    return out


def generated() -> dict[str, str]:
    doc = {
        "about": "Test vectors of docs/protocol.md (version 1). See docs/vectors/README.md.",
        "now": NOW,
        "rack": RACK,
        "limits": LIMITS,
        "handlers": HANDLERS,
        "keys": [key_record(*k) for k in KEYS],
        "cases": cases(),
    }
    canon = {"about": "Canonical encoding vectors of docs/protocol.md.", "cases": canonical_cases()}
    return {"commands.json": _dump(doc), "canonical.json": _dump(canon)}


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name, content in generated().items():
        path = VECTORS / name
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if stale:
        print("out of date (run `python -m tests.contract.make_vectors`): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
