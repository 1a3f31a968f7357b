"""docs/vectors run through both implementations: the agent's intake (verdicts, reasons,
signed bytes) and the independent client (signed bytes, digests, signatures), and the
files are exactly what the generator makes."""

from __future__ import annotations

import ast
import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from agent.errors import CommandRefused
from agent.report import envelope, protocol_doc
from agent.report.envelope import KeyEntry, Keyring, public_key_from_b64
from agent.report.intake import Command, Intake, Limits
from agent.report.payloads import CommandEnvelope
from tests.contract import ars_client, make_vectors

VECTORS = make_vectors.VECTORS
DOC = json.loads((VECTORS / "commands.json").read_text(encoding="utf-8"))
CANON = json.loads((VECTORS / "canonical.json").read_text(encoding="utf-8"))
CASES = DOC["cases"]
PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_vector_files_are_what_the_generator_writes() -> None:
    assert make_vectors.main(["--check"]) == 0


def test_the_independent_client_imports_nothing_of_the_agent() -> None:
    for module in (ars_client, make_vectors):
        tree = ast.parse(Path(module.__file__ or "").read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "agent" or n.startswith("agent.") for n in names), module


def _intake() -> Intake:
    async def handler(_command: Command) -> None:
        raise AssertionError("vectors only check")

    limits = DOC["limits"]
    ring = Keyring(
        [
            KeyEntry(
                k["id"], k["role"], public_key_from_b64(k["id"], k["public_key"]), k["revoked"]
            )
            for k in DOC["keys"]
        ]
    )
    return Intake(
        rack_id=DOC["rack"],
        keyring=ring,
        handlers=dict.fromkeys(DOC["handlers"], handler),
        limits=Limits(
            max_skew=limits["max_skew_s"],
            max_lifetime=limits["max_lifetime_s"],
            max_age=limits["max_age_s"],
            approval_window=limits["approval_window_s"],
            reply_prefix=limits["reply_prefix"],
            own_tree=limits["own_tree"],
        ),
        clock=lambda: float(DOC["now"]),
    )


def _agent_verdict(case: dict[str, Any]) -> dict[str, str]:
    intake = _intake()
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE nonces (key_id TEXT NOT NULL, nonce TEXT NOT NULL, expires REAL NOT NULL, "
        "PRIMARY KEY (key_id, nonce))"
    )
    for key_id, nonce in case["seen_nonces"]:
        conn.execute("INSERT INTO nonces VALUES (?, ?, ?)", (key_id, nonce, DOC["now"] + 600))
    try:
        checked = intake.check(
            topic_verb=case["topic_verb"],
            payload=case["payload"].encode("utf-8"),
            retain=case["retained"],
            response_topic=case["response_topic"],
        )
        command = checked.command
        Intake.admit(conn, command.key_id, command.nonce, checked.expires_at, DOC["now"])
    except CommandRefused as refusal:
        return {"verdict": "refused", "reason": refusal.reason}
    return {"verdict": "accepted"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_agent_gives_each_vector_its_verdict(case: dict[str, Any]) -> None:
    assert _agent_verdict(case) == case["expect"], case["description"]
    if "signed_bytes_hex" in case:
        env = msgspec.json.decode(case["payload"].encode(), type=CommandEnvelope)
        assert envelope.command_bytes(env).hex() == case["signed_bytes_hex"]
        assert envelope.command_digest(env) == case["command_digest"]
        assert [envelope.approval_bytes(a).hex() for a in env.approvals] == case[
            "approval_bytes_hex"
        ]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_independent_client_agrees_on_bytes_and_signatures(case: dict[str, Any]) -> None:
    if "signed_bytes_hex" not in case:
        return  # not an envelope
    env = json.loads(case["payload"])
    assert ars_client.command_bytes(env).hex() == case["signed_bytes_hex"]
    assert ars_client.command_digest(env) == case["command_digest"]
    keys = {k["id"]: k for k in DOC["keys"]}
    signer = keys.get(env["key_id"])
    if signer is None:
        return
    # Ed25519 is deterministic: the client re-signs every validly signed vector alike.
    private = load_pem_private_key(signer["private_pem"].encode(), None)
    assert isinstance(private, Ed25519PrivateKey)
    resigned = base64.b64encode(private.sign(bytes.fromhex(case["signed_bytes_hex"]))).decode()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signer["public_key"]))
    valid = True
    try:
        public.verify(base64.b64decode(env["sig"]), bytes.fromhex(case["signed_bytes_hex"]))
    except (InvalidSignature, ValueError):
        valid = False
    assert valid == (resigned == env["sig"])
    if case["expect"]["verdict"] == "accepted":
        assert valid
    for approval, want in zip(env["approvals"], case["approval_bytes_hex"], strict=True):
        assert ars_client.approval_bytes(approval).hex() == want


@pytest.mark.parametrize("case", CANON["cases"], ids=[c["name"] for c in CANON["cases"]])
def test_canonical_encoding_vectors(case: dict[str, Any]) -> None:
    value = json.loads(case["json"])
    if case.get("refused"):
        with pytest.raises(ars_client.NotSignable):
            ars_client.canonical(value)
        assert envelope.signable_problem(value, "v") is not None
        return
    assert ars_client.canonical(value).hex() == case["canonical_hex"]
    assert envelope.signable_problem(value, "v") is None
    assert envelope.canonical(value).hex() == case["canonical_hex"]


def test_the_protocol_names_every_refusal_reason_of_the_vectors() -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    reasons = {c["expect"]["reason"] for c in CASES if c["expect"]["verdict"] == "refused"}
    for reason in reasons:
        assert f"`{reason}`" in text, reason


def test_the_protocol_verb_table_is_current() -> None:
    assert protocol_doc.main(["--check"]) == 0
