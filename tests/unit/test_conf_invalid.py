"""Every kind of bad config is refused with the TOML path and a message that says the fix.

Each case mutates the demo rack (a known-good config) in one way and names the problem
it must produce. The whole list of problems is checked, so a mutation that also breaks
something unrelated shows up.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from agent.conf import parse_config
from agent.errors import ConfigError

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo-rack.toml"
BASE: dict[str, Any] = tomllib.loads(DEMO.read_text())

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a value by a dotted path with [i] indices: 'pdu[0].outlets'."""

    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        parts = path.replace("[", ".[").split(".")
        for part in parts[:-1]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        last = parts[-1]
        if last.startswith("["):
            node[int(last[1:-1])] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        parts = path.replace("[", ".[").split(".")
        for part in parts[:-1]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        del node[parts[-1]]

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        for m in mutations:
            m(doc)

    return mutate


def _append_step(**step: Any) -> Mutation:
    return lambda doc: doc["runbook"]["step"].append(step)


CASES: list[tuple[str, Mutation, list[str]]] = [
    (
        "management address without prefix",
        _set("controller.management_address", "192.0.2.10"),
        ["controller.management_address: '192.0.2.10' needs its prefix length"],
    ),
    (
        "unknown top-level key",
        _set("racks", {}),
        ["rack.toml: racks: unknown top-level key", "did you mean `rack`?"],
    ),
    (
        "unknown key in a PDU",
        _set("pdu[0].outlet", 24),
        ["pdu[0].outlet: unknown key (did you mean `outlets`?)"],
    ),
    ("missing required key", _delete("pdu[1].host"), ["pdu[1].host: required key is missing"]),
    ("wrong type", _set("pdu[0].outlets", "24"), ["pdu[0].outlets: Expected `int`, got `str`"]),
    (
        "bad duration",
        _set("health.interval", "10 parsecs"),
        ["health.interval: '10 parsecs' is not a duration"],
    ),
    ("duration without unit", _set("ups[0].low_runtime", 600), ["ups[0].low_runtime"]),
    ("missing rack table", _delete("rack"), ["[rack]: required table is missing"]),
    (
        "outlet beyond the PDU",
        _set("server[1].power[0].outlet", 25),
        ["server[1].power[0].outlet: pdu 'pdu-a' has no outlet 25 (it has 24)"],
    ),
    (
        "outlet of an unknown PDU",
        _set("server[1].power[0].pdu", "pdu-z"),
        ["server[1].power[0].pdu: no PDU has id 'pdu-z'"],
    ),
    (
        "one outlet feeding two devices",
        _set("server[2].power[0].outlet", 3),
        ["server[2].power[0]: outlet 3 of pdu 'pdu-a' already feeds server[1].power[0]"],
    ),
    (
        "duplicate device id",
        _set("server[2].id", "hv-1"),
        ["device id 'hv-1' is used by server[1], server[2]"],
    ),
    (
        "port in two roles",
        lambda d: d["switch"][0]["ports"].append({"number": 1, "role": "uplink"}),
        ["port 1 of 'tor-1' is listed 2 times (roles server, uplink)"],
    ),
    (
        "port beyond the switch",
        _set("switch[0].ports[5].number", 48),
        ["switch[0].ports[5].number: switch 'tor-1' has no port 48 (it has 24)"],
    ),
    (
        "two hospital uplinks",
        _set("switch[0].ports[6].role", "uplink"),
        ["2 ports have role 'uplink'"],
    ),
    (
        "server port without device",
        _delete("switch[0].ports[0].device"),
        ["switch[0].ports[0].device: a server port must name the device"],
    ),
    (
        "port wired to unknown device",
        _set("switch[0].ports[0].device", "hv-9"),
        ["switch[0].ports[0].device: no device has id 'hv-9'"],
    ),
    (
        "VLAN 1 used for a role",
        _set("vlans.quarantine", 1),
        ["vlans.quarantine: 1 is not a usable VLAN id"],
    ),
    (
        "two roles share a VLAN",
        _set("vlans.clean", 999),
        ["vlans: clean, quarantine share VLAN 999"],
    ),
    (
        "unknown credentials",
        _set("pdu[0].credentials", "nope"),
        ["pdu[0].credentials: 'nope' is not defined in [credentials]"],
    ),
    (
        "v3 without priv key",
        _delete("credentials.pdu-v3.priv_key"),
        ["credentials.pdu-v3: SNMP v3 here is authPriv only"],
    ),
    (
        "v3 key too short",
        _set("credentials.pdu-v3.auth_key", "short"),
        ["credentials.pdu-v3.auth_key: shorter than 8 characters"],
    ),
    (
        "bad enum value",
        _set("credentials.pdu-v3.priv_protocol", "ROT13"),
        ["credentials.pdu-v3.priv_protocol: Invalid enum value 'ROT13' (allowed: 'AES', "],
    ),
    (
        "power group with unknown member",
        _set("power_group[2].members[0]", "hv-9"),
        ["power_group[2].members[0]: 'hv-9' is not a device id"],
    ),
    (
        "device in two power groups",
        lambda d: d["power_group"][1]["members"].append("hv-1"),
        ["power_group[2].members[0]: 'hv-1' is already in group 'storage'"],
    ),
    (
        "powered device in no group",
        lambda d: d["power_group"][2]["members"].remove("bkp-1"),
        ["device 'bkp-1' has outlets but is in no power group"],
    ),
    (
        "hysteresis on the wrong side",
        _set("threshold[0].clear_at", 70.0),
        ["threshold[0]: clear_at 70.0 is on the wrong side of raise_at 60.0"],
    ),
    (
        "bad MQTT URL",
        _set("mqtt.urls", ["http://broker:1883"]),
        ["mqtt.urls[0]: 'http://broker:1883' is not mqtt://host:port"],
    ),
    (
        "bad public key",
        _set("key[0].public_key", "bm90IGEga2V5"),
        ["key[0].public_key: not the base64 of a 32-byte Ed25519 public key"],
    ),
    (
        "one public key under two admin ids",
        _set("key[3].public_key", "unaPUZszTDO8rkfX7bahS636HqkXx+NzEIfqkMgAiAw="),
        [
            "key[3].public_key: ids 'ars-admin-1' and 'ars-admin-2' have the same public key, "
            "so one person would count as two for the two-person rule"
        ],
    ),
    (
        "command lifetime of a year",
        _set("mqtt.command_max_lifetime", "365d"),
        ["mqtt.command_max_lifetime: 31536000s is out of range; give more than 0s to 86400s"],
    ),
    (
        "replies inside the rack's own topics",
        _set("mqtt.reply_prefix", "cleanroom/v1/chu-demo"),
        ["mqtt.reply_prefix: 'cleanroom/v1/chu-demo' overlaps the rack's own topics"],
    ),
    (
        "step needs an unknown step",
        _set("runbook.step[1].needs", ["verify-nothing"]),
        ["runbook.step[1].needs: 'verify-nothing' is not a step id"],
    ),
    (
        "runbook cycle",
        _set("runbook.step[1].needs", ["up-identity"]),
        [
            "the needs form a cycle: verify-identity -> up-identity -> start-identity -> "
            "restore-identity -> verify-identity"
        ],
    ),
    (
        "restore of an unverified image",
        _set("runbook.step[2].args.verified_by", "net-restore"),
        ["runbook.step[2].args.verified_by: 'net-restore' is not a verify_image step"],
    ),
    (
        "step args of the wrong kind",
        _set("runbook.step[4].args", {"port": 19001}),
        ["runbook.step[4].args: Object missing required field `host`"],
    ),
    (
        "runbook step enters connected",
        _append_step(id="x", kind="vlan", args={"phase": "connected"}),
        ["args.phase: 'connected' joins the hospital network"],
    ),
    (
        "duplicate step id",
        _append_step(id="net-restore", kind="prompt", args={"message": "go"}),
        ["runbook.step: id 'net-restore' is used twice"],
    ),
    (
        "step for an unknown application",
        _set("runbook.step[1].app", "payroll"),
        ["runbook.step[1].app: no application has id 'payroll'"],
    ),
    (
        "bad sha256",
        _set("runbook.step[1].args.sha256", "abc"),
        ["runbook.step[1].args.sha256: expected 64 lowercase hex digits"],
    ),
    (
        "secret not defined",
        _set("credentials.pdu-v3.auth_key", "secret:pdu-auth"),
        ["credentials.pdu-v3.auth_key: secret 'pdu-auth' is not defined"],
    ),
]


@pytest.mark.parametrize(("name", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_config_is_refused_with_path_and_fix(
    name: str, mutate: Mutation, expected: list[str]
) -> None:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    with pytest.raises(ConfigError) as info:
        parse_config(tomli_w.dumps(doc), path="rack.toml")
    text = "\n".join(info.value.problems)
    for fragment in expected:
        assert fragment in text, f"{name}: expected {fragment!r} in:\n{text}"
    assert all(p.startswith("rack.toml: ") for p in info.value.problems), text


def test_several_problems_are_reported_at_once() -> None:
    doc = copy.deepcopy(BASE)
    _both(
        _set("pdu[0].outlet", 1),
        _set("server[3].power[0].outlet", 99),
        _set("vlans.clean", 1),
        _set("mqtt.urls", ["ftp://x"]),
    )(doc)
    with pytest.raises(ConfigError) as info:
        parse_config(tomli_w.dumps(doc), path="rack.toml")
    text = "\n".join(info.value.problems)
    for fragment in (
        "pdu[0].outlet: unknown key",
        "vlans.clean: 1 is not a usable",
        "mqtt.urls[0]",
    ):
        assert fragment in text
    # The PDU failed to decode, so its outlets cannot be checked, but the rest still are.
    assert len(info.value.problems) >= 3


def test_not_toml_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[rack\nid = 1", path="rack.toml")
    assert "rack.toml: not valid TOML" in info.value.problems[0]
    assert "line 1" in info.value.problems[0]


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('pdu-auth = "a-long-auth-key"\n')
    secrets.chmod(0o644)
    doc = copy.deepcopy(BASE)
    doc["secrets_file"] = "secrets.toml"
    doc["credentials"]["pdu-v3"]["auth_key"] = "secret:pdu-auth"
    text = tomli_w.dumps(doc)
    with pytest.raises(ConfigError) as info:
        parse_config(text, path=tmp_path / "rack.toml")
    assert "is readable by group or others (mode 0644); run `chmod 600" in info.value.problems[0]
    secrets.chmod(0o600)
    config = parse_config(text, path=tmp_path / "rack.toml")
    key = config.credentials["pdu-v3"].auth_key
    assert key is not None
    assert key.reveal() == "a-long-auth-key"
    assert "a-long-auth-key" not in repr(config)
