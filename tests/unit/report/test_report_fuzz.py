"""Hostile input to the command intake: never a crash, never a state change."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.adapters.mqtt import BrokerSettings, Inbound
from agent.bus import Bus
from agent.errors import CommandRefused
from agent.report import audit
from agent.report.envelope import KeyEntry, Keyring, public_b64, public_key_from_b64, sign_command
from agent.report.intake import Command, Intake, Limits
from agent.report.reporter import Reporter, ReportSettings
from agent.store import Store

NOW = 1_800_000_000.0
KEY = Ed25519PrivateKey.generate()
RING = Keyring([KeyEntry("admin1", "admin", public_key_from_b64("k", public_b64(KEY)))])
VALID = msgspec.to_builtins(
    sign_command(
        KEY,
        key_id="admin1",
        verb="runbook.retry",
        args={"step": "s1"},
        rack="rack-1",
        issued_at=int(NOW),
        expires_at=int(NOW) + 60,
        nonce="n" * 16,
    )
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def mutated(draw_value: Any, field: str) -> dict[str, Any]:
    env = dict(VALID)
    env[field] = draw_value
    return env


def make_intake(handlers: dict[str, Any] | None = None) -> Intake:
    async def never(_command: Command) -> None:
        raise AssertionError("a handler ran on fuzzed input")

    return Intake(
        rack_id="rack-1",
        keyring=RING,
        handlers=handlers or {"runbook.retry": never},
        limits=Limits(max_skew=30, approval_window=600),
        clock=lambda: NOW,
    )


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=300), retain=st.booleans(), verb=st.text(max_size=20))
def test_random_bytes_are_refused(payload: bytes, retain: bool, verb: str) -> None:
    try:
        make_intake().check(topic_verb=verb, payload=payload, retain=retain)
    except CommandRefused as refusal:
        assert refusal.reason
    else:
        raise AssertionError("random bytes were accepted")


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(VALID)), value=json_values)
def test_any_field_changed_is_refused(field: str, value: Any) -> None:
    env = mutated(value, field)
    if env == VALID:
        return
    try:
        make_intake().check(
            topic_verb="runbook.retry", payload=msgspec.json.encode(env), retain=False
        )
    except CommandRefused as refusal:
        assert refusal.reason
    else:
        raise AssertionError(f"a command with {field}={value!r} was accepted")


@settings(max_examples=200, deadline=None)
@given(doc=json_values)
def test_random_json_is_refused(doc: Any) -> None:
    try:
        make_intake().check(
            topic_verb="runbook.retry", payload=msgspec.json.encode(doc), retain=False
        )
    except CommandRefused:
        return
    raise AssertionError("random JSON was accepted")


CANDIDATES: tuple[Any, ...] = (None, 1, -1, "x", [], {}, 1e308, True)


def random_payloads(rng: random.Random, count: int) -> list[bytes]:
    out: list[bytes] = []
    base = msgspec.json.encode(VALID)
    for index in range(count):
        kind = index % 4
        if kind == 0:
            out.append(rng.randbytes(rng.randrange(0, 200)))
        elif kind == 1:  # flip bytes of a valid envelope
            raw = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                at = rng.randrange(len(raw))
                raw[at] = (raw[at] + rng.randrange(1, 256)) % 256  # always a change
            out.append(bytes(raw))
        elif kind == 2:  # truncate it
            out.append(base[: rng.randrange(len(base))])
        else:  # valid JSON of the wrong shape
            field = rng.choice(sorted(VALID))
            value = rng.choice([v for v in CANDIDATES if v != VALID[field]])
            out.append(msgspec.json.encode(dict(VALID, **{field: value})))
    return out


async def test_fuzz_through_the_runner_changes_nothing(tmp_path: Path) -> None:
    rng = random.Random(1234)
    async with Store(tmp_path / "s.db") as store:
        reporter = Reporter(
            store,
            Bus(),
            BrokerSettings(urls=("mqtt://127.0.0.1:1",), client_id="fuzz"),
            rack_id="rack-1",
            site="site",
            boot_id="boot",
            version="t",
            config_digest="d",
            keyring=RING,
            handlers={},
            clock=lambda: NOW,
            # Every refusal gets its own entry here; the rate limit has its own tests.
            settings=ReportSettings(refusal_audit_burst=1000),
        )
        reporter.intake = make_intake()
        await reporter.outbox.open()
        payloads = random_payloads(rng, 400)
        for payload in payloads:
            inbound = Inbound(
                topic="cleanroom/v1/site/rack-1/cmd/runbook.retry",
                payload=payload,
                qos=1,
                retain=rng.random() < 0.1,
            )
            await reporter.commands.handle(inbound, "runbook.retry")

        def state(conn: sqlite3.Connection) -> tuple[int, list[str]]:
            nonces = conn.execute("SELECT count(*) FROM nonces").fetchone()[0]
            actions = [r[0] for r in conn.execute("SELECT DISTINCT action FROM audit")]
            return int(nonces), actions

        nonces, actions = await store.call(state)
        report = await store.call(audit.verify)
    assert reporter.commands.accepted == 0
    assert reporter.commands.refused == len(payloads)
    assert nonces == 0
    assert actions == ["command.refused"]
    assert report.ok
    assert report.entries == len(payloads)


def test_a_second_spelling_of_the_same_signature_is_refused() -> None:
    sig = VALID["sig"]
    # Flip an unused low bit of the last base64 character before the padding.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = sig.rstrip("=")[-1]
    twin = alphabet[alphabet.index(last) ^ 1]
    env = dict(VALID, sig=sig.rstrip("=")[:-1] + twin + "=" * (len(sig) - len(sig.rstrip("="))))
    try:
        make_intake().check(
            topic_verb="runbook.retry", payload=msgspec.json.encode(env), retain=False
        )
    except CommandRefused as refusal:
        assert refusal.reason == "bad_signature"
    else:
        raise AssertionError("a non-canonical spelling of a valid signature was accepted")
