"""The command matrix, end to end: mosquitto_pub sends, the agent answers on the MQTT 5
response topic with the correlation data, and every refusal is audited."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import msgspec
import pytest

from agent.bus import Bus
from agent.errors import PolicyRefusal
from agent.report import audit
from agent.report.envelope import sign_approval, sign_command
from agent.report.intake import Command
from agent.report.payloads import CommandEnvelope, Snapshot, json_schemas
from agent.report.reporter import ReportSettings
from agent.store import Store
from tests.integration.report.broker import Mosquitto
from tests.integration.report.report_helpers import (
    BASE,
    RACK,
    Signer,
    Subscriber,
    keyring,
    make_reporter,
    now,
    publish,
)

ALICE = Signer("alice", "operator")
BOB = Signer("bob", "admin")
CAROL = Signer("carol", "admin")
OLIVIA = Signer("olivia", "observer")
REX = Signer("rex", "admin", revoked=True)
MALLORY = Signer("mallory", "admin")  # not in the rack's config
# Bob's own key under a second id: check-config refuses such a config, and the intake
# must not count it as a second person either.
BOB_AGAIN = Signer("bob-again", "admin", private=BOB.private)


def signed(
    key: Signer,
    verb: str,
    *,
    rack: str = RACK,
    issued: int | None = None,
    ttl: int = 120,
    args: dict[str, Any] | None = None,
) -> CommandEnvelope:
    issued_at = now() if issued is None else issued
    return sign_command(
        key.private,
        key_id=key.key_id,
        verb=verb,
        args=args or {},
        rack=rack,
        issued_at=issued_at,
        expires_at=issued_at + ttl,
    )


def has_reply(topic: str, status: str, messages: list[dict[str, Any]]) -> bool:
    return any(m["topic"] == topic and m["json"]["status"] == status for m in messages)


def approved(env: CommandEnvelope, *approvers: Signer) -> CommandEnvelope:
    approvals = [
        sign_approval(k.private, key_id=k.key_id, command=env, issued_at=now()) for k in approvers
    ]
    return msgspec.structs.replace(env, approvals=approvals)


async def test_command_matrix(mosquitto: Mosquitto, tmp_path: Path) -> None:
    calls: list[Command] = []

    async def mark(command: Command) -> dict[str, Any]:
        calls.append(command)
        return {"done": command.verb, "n": len(calls)}

    valid = signed(ALICE, "runbook.retry", args={"step": "restore-pharmacy"})
    tampered = msgspec.structs.replace(signed(ALICE, "runbook.retry"), args={"step": "other"})
    dangerous = signed(BOB, "power.down", args={"group": "all"})
    cases: list[tuple[str, str, CommandEnvelope, bool, str]] = [
        # name, verb topic, envelope, retained, expected status/reason
        ("valid", "runbook.retry", valid, False, "accepted"),
        ("status", "status.get", signed(OLIVIA, "status.get"), False, "accepted"),
        ("bad_signature", "runbook.retry", tampered, False, "bad_signature"),
        ("unknown_key", "runbook.retry", signed(MALLORY, "runbook.retry"), False, "unknown_key"),
        ("revoked", "runbook.retry", signed(REX, "runbook.retry"), False, "revoked_key"),
        ("wrong_role", "runbook.retry", signed(OLIVIA, "runbook.retry"), False, "forbidden"),
        (
            "expired",
            "runbook.retry",
            signed(ALICE, "runbook.retry", issued=now() - 300, ttl=60),
            False,
            "expired",
        ),
        (
            "future",
            "runbook.retry",
            signed(ALICE, "runbook.retry", issued=now() + 3600),
            False,
            "future",
        ),
        ("replayed", "runbook.retry", valid, False, "replayed"),
        ("retained", "runbook.retry", signed(ALICE, "runbook.retry"), True, "retained"),
        (
            "wrong_rack",
            "runbook.retry",
            signed(ALICE, "runbook.retry", rack="rack-2"),
            False,
            "wrong_rack",
        ),
        ("one_signature", "power.down", dangerous, False, "approval_required"),
        ("same_key_twice", "power.down", approved(dangerous, BOB), False, "approval_invalid"),
        (
            "operator_cannot_approve",
            "power.down",
            approved(dangerous, ALICE),
            False,
            "approval_invalid",
        ),
        (
            "same_person_other_id",
            "power.down",
            approved(dangerous, BOB_AGAIN),
            False,
            "approval_invalid",
        ),
        (
            "ten_years",
            "runbook.retry",
            signed(ALICE, "runbook.retry", ttl=10 * 365 * 86400),
            False,
            "lifetime_too_long",
        ),
        (
            "old_but_unexpired",
            "runbook.retry",
            signed(ALICE, "runbook.retry", issued=now() - 400, ttl=500),
            False,
            "too_old",
        ),
        ("two_keys", "power.down", approved(dangerous, CAROL), False, "accepted"),
    ]
    # The events topic too: a refusal without a reply topic still shows as its audit event.
    replies = Subscriber(mosquitto.port, ["cleanroom/v1/ars/replies/#", f"{BASE}/events"])
    await replies.start()
    bus = Bus()
    async with Store(tmp_path / "s.db") as store:
        reporter = make_reporter(
            store,
            mosquitto.url,
            bus=bus,
            boot_id="boot-cmd",
            keyring=keyring([ALICE, BOB, CAROL, OLIVIA, REX, BOB_AGAIN]),
            handlers={"runbook.retry": mark, "power.down": mark},
            status_provider=lambda: Snapshot(state="operational"),
            settings=ReportSettings(command_max_skew=30, command_max_age=300, approval_window=600),
        )
        async with reporter:
            await replies.ready("cleanroom/v1/ars/replies/probe")
            async with asyncio.timeout(20):
                await reporter.wait_connected()
            for name, verb, env, retain, expected in cases:
                await publish(
                    mosquitto.port,
                    f"{BASE}/cmd/{verb}",
                    msgspec.json.encode(env),
                    retain=retain,
                    response_topic=f"cleanroom/v1/ars/replies/{name}",
                    correlation=f"corr-{name}",
                )
                # One at a time, so "replayed" follows "valid" and outcomes are attributable.
                final = "result" if expected == "accepted" else "refused"
                await replies.wait_for(
                    functools.partial(has_reply, f"cleanroom/v1/ars/replies/{name}", final),
                    what=f"reply to {name}",
                )
            # Garbage on a command topic is refused too, without a reply topic.
            await publish(mosquitto.port, f"{BASE}/cmd/runbook.retry", b"\xff not json")
            await replies.wait_for(
                lambda _ms: reporter.commands.refused >= 16,
                what=f"16 refusals ({reporter.commands.refused})",
            )
        entries = await store.call(audit.read_entries)
        report = await store.call(audit.verify)
    await replies.stop()

    schema = json_schemas()["Reply"]
    by_case: dict[str, list[dict[str, Any]]] = {}
    for message in replies.messages:
        if not message["topic"].startswith("cleanroom/v1/ars/replies/") or message[
            "topic"
        ].endswith("probe"):
            continue
        jsonschema.validate(message["json"], schema)
        name = message["topic"].rsplit("/", 1)[1]
        assert message["properties"]["correlation-data"] == f"corr-{name}"
        by_case.setdefault(name, []).append(message["json"])
    for name, _verb, _env, _retain, expected in cases:
        statuses = [r["status"] for r in by_case[name]]
        if expected == "accepted":
            assert statuses == ["accepted", "result"], name
        else:
            assert statuses == ["refused"], name
            assert by_case[name][0]["reason"] == expected, (name, by_case[name][0])
    assert by_case["status"][1]["result"]["state"] == "operational"
    assert by_case["two_keys"][1]["result"] == {"done": "power.down", "n": 2}
    # Exactly the two accepted domain commands ran, with who approved the dangerous one.
    assert [(c.verb, c.key_id, c.approved_by) for c in calls] == [
        ("runbook.retry", "alice", ()),
        ("power.down", "bob", ("carol",)),
    ]
    # Every refusal is in the audit chain with its reason, and the chain verifies.
    refusals = [e.detail["reason"] for e in entries if e.action == "command.refused"]
    expected_refusals = [c[4] for c in cases if c[4] != "accepted"] + ["malformed"]
    assert refusals == expected_refusals
    # Who is named: a refusal before the signature verified is unauthenticated (the key
    # id is only claimed); after it, the verified key.
    actors = {
        e.detail["reason"]: (e.actor, e.detail["claimed_key_id"], e.detail["verified"])
        for e in entries
        if e.action == "command.refused"
    }
    assert actors["bad_signature"] == ("unauthenticated", "alice", False)
    assert actors["unknown_key"] == ("unauthenticated", "mallory", False)
    assert actors["malformed"] == ("unauthenticated", "unknown", False)
    assert actors["expired"] == ("remote:alice", "alice", True)
    assert actors["replayed"] == ("remote:alice", "alice", True)
    assert actors["lifetime_too_long"] == ("remote:alice", "alice", True)
    assert [e.detail["verb"] for e in entries if e.action == "command.accepted"] == [
        "runbook.retry",
        "power.down",
    ]
    # The read (status.get) is counted, not audited one by one (test_report_reads).
    (reads,) = [e.detail for e in entries if e.action == "command.reads"]
    assert reads["reads"] == [
        {"actor": "remote:olivia", "verb": "status.get", "ok": 1, "failed": 0}
    ]
    assert report.ok, report.problems
    assert json.loads(json.dumps(report.entries)) == len(entries)


async def test_the_reporters_own_verbs_refuse_arguments_they_do_not_take(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """status.get, outbox.stats and audit.head run the registry's argument check too, as
    every verb a part serves does: an argument nobody reads is refused, not ignored."""
    async with Store(tmp_path / "s.db") as store:
        reporter = make_reporter(
            store, mosquitto.url, bus=Bus(), boot_id="boot-args", keyring=keyring([OLIVIA]),
            handlers={},
        )  # fmt: skip
        for verb, handler in reporter.builtin_handlers().items():
            with pytest.raises(PolicyRefusal, match=f"{verb}: no argument 'verbose'"):
                await handler(SimpleNamespace(verb=verb, args={"verbose": True}))  # type: ignore[arg-type]
