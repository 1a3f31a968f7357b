"""Envelopes, topics, roles and backoff: the pure parts."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from agent.adapters.mqtt import Backoff, parse_url
from agent.errors import ConfigError
from agent.report import envelope
from agent.report.envelope import (
    command_bytes,
    read_key_file,
    sign_approval,
    sign_command,
    verify_approval,
    verify_command,
    write_key_file,
)
from agent.report.intake import Limits, reply_topic_problem
from agent.report.payloads import CommandEnvelope
from agent.report.roles import is_dangerous, may_run
from agent.report.topics import Topics, split_rack_topic


def test_canonical_encoding_is_order_independent_and_domain_separated() -> None:
    key = Ed25519PrivateKey.generate()
    env = sign_command(
        key,
        key_id="k",
        verb="power.on",
        args={"b": 1, "a": {"y": 2, "x": 1}},
        rack="r",
        issued_at=10,
        expires_at=20,
        nonce="abcdefgh",
    )
    assert command_bytes(env).startswith(envelope.COMMAND_DOMAIN)
    assert b'"args":{"a":{"x":1,"y":2},"b":1}' in command_bytes(env)
    wire = msgspec.json.decode(msgspec.json.encode(env), type=CommandEnvelope)
    assert verify_command(wire, key.public_key())
    assert not verify_command(msgspec.structs.replace(wire, expires_at=21), key.public_key())
    # A command signature is no approval signature, even over the same bytes' digest.
    approval = sign_approval(key, key_id="k", command=env, issued_at=12)
    assert verify_approval(approval, key.public_key())
    forged = msgspec.structs.replace(approval, sig=env.sig)
    assert not verify_approval(forged, key.public_key())


def test_key_files_are_pkcs8_pem_round_trip_and_are_private(tmp_path: Path) -> None:
    path = tmp_path / "alice.pem"
    key = Ed25519PrivateKey.generate()
    record = write_key_file(path, key)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    # What openssl and WebCrypto read: standard PKCS#8, the same key.
    loaded = load_pem_private_key(path.read_bytes(), None)
    assert isinstance(loaded, Ed25519PrivateKey)
    assert envelope.public_b64(loaded) == record.public_key
    read, private = read_key_file(path)
    assert read == record
    assert read.key_id == "alice"
    assert read.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert read_key_file(path, "alice-2")[0].key_id == "alice-2"
    assert envelope.public_b64(private) == record.public_key
    with pytest.raises(ConfigError, match="already exists"):
        write_key_file(path, Ed25519PrivateKey.generate())
    with pytest.raises(ConfigError, match="public_key"):
        envelope.key_entry("key[0]", "x", "admin", "AAAA", False)
    with pytest.raises(ConfigError, match="role"):
        envelope.key_entry("key[0]", "x", "root", record.public_key, False)
    old = tmp_path / "old.key"
    old.write_text('{"key_id": "old", "private_key": "x", "public_key": "y"}')
    with pytest.raises(ConfigError, match="JSON key file of an older cleanroom"):
        read_key_file(old)
    rsa = tmp_path / "rsa.pem"
    rsa.write_bytes(
        generate_private_key(65537, 2048).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    with pytest.raises(ConfigError, match="RSAPrivateKey key, commands are signed with Ed25519"):
        read_key_file(rsa)


def test_the_shipped_demo_keys_are_read_and_match_the_demo_rack() -> None:
    demo = Path(__file__).resolve().parents[3] / "config"
    text = (demo / "demo-rack.toml").read_text()
    for pem in sorted((demo / "demo" / "keys").glob("*.pem")):
        record, _ = read_key_file(pem)
        assert f'id = "{record.key_id}"' in text
        assert f'public_key = "{record.public_key}"' in text, pem


def test_topics_refuse_wildcards_and_parse_back() -> None:
    topics = Topics("cleanroom/v1", "chu", "rack-1")
    assert topics.command("power.on") == "cleanroom/v1/chu/rack-1/cmd/power.on"
    assert topics.verb_of("cleanroom/v1/chu/rack-1/cmd/power.on") == "power.on"
    assert topics.verb_of("cleanroom/v1/chu/rack-2/cmd/power.on") is None
    assert split_rack_topic("cleanroom/v1", topics.status) == ("chu", "rack-1", "status")
    for bad in ("a+b", "#", "a/b", ""):
        with pytest.raises(ConfigError):
            Topics("cleanroom/v1", "chu", bad)


def test_roles_are_cumulative_and_dangerous_verbs_admin_only() -> None:
    assert may_run("observer", "status.get")
    assert not may_run("observer", "power.on")
    assert may_run("operator", "power.on")
    assert may_run("operator", "status.get")
    assert not may_run("operator", "power.down")
    assert may_run("admin", "power.down")
    assert not may_run("intruder", "status.get")
    assert is_dangerous("network.connect")
    assert not is_dangerous("power.on")


def test_backoff_grows_with_jitter_and_resets() -> None:
    backoff = Backoff(0.5, 30.0, random.Random(1))
    delays = [backoff.next() for _ in range(12)]
    assert all(0.25 <= d <= 30.0 for d in delays)
    assert max(delays[8:]) > max(delays[:2])
    backoff.reset()
    assert backoff.next() <= 0.5


def test_broker_urls() -> None:
    assert parse_url("u", "mqtts://broker.example").port == 8883
    assert parse_url("u", "mqtt://10.0.0.1:1884").port == 1884
    with pytest.raises(ConfigError, match="mqtt://host:1883"):
        parse_url("mqtt.urls[0]", "http://x")


def test_reply_topics_chosen_by_a_requester_are_checked() -> None:
    limits = Limits(reply_prefix="cleanroom/v1/ars", own_tree="cleanroom/v1/chu/rack-1")
    assert reply_topic_problem(None, limits) is None  # no reply asked for
    assert reply_topic_problem("cleanroom/v1/ars/replies/abc", limits) is None
    bad = {
        "": "empty",
        "cleanroom/v1/ars/#": "wildcard",
        "cleanroom/v1/ars/+/x": "wildcard",
        "cleanroom/v1/ars/a\x00b": "NUL",
        "cleanroom/v1/ars/" + "x" * 2000: "1024",
        "cleanroom/v1/chu/rack-1/status": "own topics",
        "cleanroom/v1/chu/rack-1/events": "own topics",
        "cleanroom/v1/chu/rack-1": "own topics",
        "cleanroom/v1/arsenal/x": "not under",
        "cleanroom/v1/ars": "not under",
        "ars/replies/abc": "not under",
    }
    for topic, why in bad.items():
        assert why in (reply_topic_problem(topic, limits) or ""), topic
    # A reply tree that would hold the rack's tree does not open it either.
    wide = Limits(reply_prefix="cleanroom/v1", own_tree="cleanroom/v1/chu/rack-1")
    assert "own topics" in (reply_topic_problem("cleanroom/v1/chu/rack-1/status", wide) or "")
