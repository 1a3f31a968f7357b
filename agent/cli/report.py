"""Command-line entry points of remote supervision: ``keys``, ``send``, ``approve``,
``watch`` and ``audit verify``. ``register(subparsers)`` adds them to ``cleanroom``'s
parser; each handler takes the parsed arguments and returns the exit status.

The two-person rule, from the command line::

    cleanroom send power.down --rack r1 --site chu --key bob.key --prepare cmd.json
    cleanroom approve cmd.json --key carol.key          # on Carol's machine
    cleanroom send --envelope cmd.json --broker mqtts://broker:8883 --site chu
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.adapters.mqtt import BrokerSettings
from agent.cli.args import duration
from agent.errors import AgentError, ConfigError
from agent.report import anchor, audit
from agent.report.envelope import (
    command_digest,
    key_id_of,
    public_key_from_b64,
    read_key_file,
    sign_approval,
    sign_command,
    write_key_file,
)
from agent.report.payloads import CommandEnvelope, Reply
from agent.report.roles import is_dangerous
from agent.report.tools import send_command, watch
from agent.report.topics import Topics
from agent.store import Store

DEFAULT_PREFIX = "cleanroom/v1"


def _broker_args(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--broker",
        action="append",
        required=required,
        metavar="URL",
        help="mqtt://host:1883 or mqtts://host:8883 (repeat to try several)",
    )
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--username", default="")
    parser.add_argument(
        "--password-env",
        default="CLEANROOM_MQTT_PASSWORD",
        help="environment variable holding the broker password",
    )
    parser.add_argument("--ca-file", default="")
    parser.add_argument("--cert-file", default="")
    parser.add_argument("--cert-key-file", default="", help="private key of --cert-file")


def _settings(args: argparse.Namespace, role: str) -> BrokerSettings:
    return BrokerSettings(
        urls=tuple(args.broker),
        client_id=f"cleanroom-{role}-{uuid.uuid4().hex[:8]}",
        username=args.username,
        password=os.environ.get(args.password_env, ""),
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.cert_key_file,
    )


def register(subparsers: Any) -> None:
    """Add ``keys``, ``send``, ``approve``, ``watch`` and ``audit`` to ``cleanroom``."""
    keys = subparsers.add_parser("keys", help="Ed25519 key pairs for signing commands")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    new = keys_sub.add_parser(
        "new", help="create an Ed25519 private key file (PKCS#8 PEM, mode 0600)"
    )
    new.add_argument("--id", required=True, help="key id, as in the rack config [[key]] id")
    new.add_argument("--out", type=Path, help="the file (default ID.pem); its name is the key id")
    new.add_argument("--json", action="store_true")
    new.set_defaults(handler=cmd_keys_new)
    show = keys_sub.add_parser("show", help="print the public part to paste in a rack config")
    show.add_argument("file", type=Path)
    show.add_argument("--key-id", help="the key id (default: the file name without .pem)")
    show.add_argument("--role", default="operator", choices=["observer", "operator", "admin"])
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_keys_show)

    send = subparsers.add_parser("send", help="sign and send a command, print the replies")
    send.add_argument("verb", nargs="?", help="e.g. status.get, runbook.retry, power.down")
    send.add_argument("--rack", help="rack id (from the rack config [rack] id)")
    send.add_argument("--site", required=True)
    send.add_argument(
        "--key", type=Path, help="your PKCS#8 PEM key file (cleanroom keys new, openssl)"
    )
    send.add_argument("--key-id", help="your key id (default: the key file name without .pem)")
    send.add_argument("--args", default="{}", help="JSON object of arguments")
    send.add_argument(
        "--ttl", type=duration, default=300.0, help="how long the command stays valid (5min)"
    )
    send.add_argument("--prepare", type=Path, help="write the signed envelope here, send nothing")
    send.add_argument("--envelope", type=Path, help="send this prepared (approved) envelope")
    send.add_argument(
        "--wait", type=duration, default=60.0, help="how long to wait for the result (60s)"
    )
    send.add_argument("--json", action="store_true")
    _broker_args(send, required=False)
    send.set_defaults(handler=cmd_send)

    approve = subparsers.add_parser("approve", help="add your approval to a prepared command")
    approve.add_argument("envelope", type=Path)
    approve.add_argument("--key", type=Path, required=True, help="your PKCS#8 PEM key file")
    approve.add_argument("--key-id", help="your key id (default: the key file name)")
    approve.add_argument("--out", type=Path, help="write here instead of in place")
    approve.add_argument("--json", action="store_true")
    approve.set_defaults(handler=cmd_approve)

    watch_parser = subparsers.add_parser("watch", help="live board of every rack on a broker")
    _broker_args(watch_parser)
    watch_parser.add_argument(
        "--for",
        dest="duration",
        type=duration,
        help="stop after this long (6s, 2min) and print the board",
    )
    watch_parser.add_argument("--json", action="store_true")
    watch_parser.set_defaults(handler=cmd_watch)

    audit_parser = subparsers.add_parser("audit", help="the hash-chained audit log")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the whole chain; exit 1 if broken")
    verify.add_argument("--store", type=Path, required=True, help="the agent's SQLite store")
    verify.add_argument(
        "--heads",
        type=Path,
        help="signed audit heads the ARS kept (JSON lines or a JSON array: the data of "
        "audit.head events or the result of the audit.head verb)",
    )
    verify.add_argument(
        "--device-key",
        help="the rack's device public key (base64, from its birth); default: the one in "
        "the store, which proves less (whoever rewrote the store could replace it)",
    )
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=cmd_audit_verify)


def _print(args: argparse.Namespace, data: Any, human: str) -> None:
    print(json.dumps(data, indent=2) if args.json else human)


def cmd_keys_new(args: argparse.Namespace) -> int:
    out: Path = args.out or Path(f"{args.id}.pem")
    if key_id_of(out) != args.id:
        raise ConfigError(
            [
                f"--out {out}: the file name is the key id, and {key_id_of(out)!r} is not "
                f"{args.id!r}; write it to {args.id}.pem"
            ]
        )
    record = write_key_file(out, Ed25519PrivateKey.generate())
    _print(
        args,
        {"key_id": record.key_id, "public_key": record.public_key, "file": str(out)},
        f"wrote {out} (PKCS#8 PEM; keep it private)\npublic key of {record.key_id!r}: "
        f"{record.public_key}\nshow the config block with: cleanroom keys show {out}",
    )
    return 0


def cmd_keys_show(args: argparse.Namespace) -> int:
    record, _ = read_key_file(args.file, args.key_id)
    block = (
        f'[[key]]\nid = "{record.key_id}"\nrole = "{args.role}"\n'
        f'public_key = "{record.public_key}"\nrevoked = false'
    )
    _print(
        args,
        {
            "key_id": record.key_id,
            "public_key": record.public_key,
            "public_pem": record.public_pem,
        },
        block,
    )
    return 0


def _load_envelope(path: Path) -> CommandEnvelope:
    try:
        return msgspec.json.decode(path.read_bytes(), type=CommandEnvelope)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc})"]) from exc
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(
            [
                f"{path}: not a command envelope ({exc}); create one with "
                "`cleanroom send VERB --prepare FILE`"
            ]
        ) from exc


def _write_envelope(path: Path, env: CommandEnvelope) -> None:
    path.write_text(json.dumps(msgspec.to_builtins(env), indent=2) + "\n", encoding="utf-8")


def _describe(reply: Reply) -> str:
    text = f"{reply.status}"
    if reply.reason:
        text += f" ({reply.reason})"
    if reply.detail:
        text += f": {reply.detail}"
    if reply.result is not None:
        text += "\n" + json.dumps(reply.result, indent=2)
    return text


def cmd_send(args: argparse.Namespace) -> int:
    if args.envelope:
        env = _load_envelope(args.envelope)
    else:
        if not (args.verb and args.rack and args.key):
            raise ConfigError(
                [
                    "cleanroom send: give VERB, --rack and --key (or --envelope "
                    "FILE for a prepared command)"
                ]
            )
        try:
            cmd_args = json.loads(args.args)
        except ValueError as exc:
            raise ConfigError(
                [f'--args: not JSON ({exc}); e.g. --args \'{{"step": "s1"}}\'']
            ) from exc
        if not isinstance(cmd_args, dict):
            raise ConfigError(['--args: must be a JSON object, e.g. {"group": "all"}'])
        record, private = read_key_file(args.key, args.key_id)
        now = int(time.time())
        env = sign_command(
            private,
            key_id=record.key_id,
            verb=args.verb,
            args=cmd_args,
            rack=args.rack,
            issued_at=now,
            expires_at=now + int(args.ttl),
        )
    if args.prepare:
        _write_envelope(args.prepare, env)
        note = (
            " it is dangerous: have another admin run `cleanroom approve` on it"
            if is_dangerous(env.verb)
            else ""
        )
        _print(
            args,
            {"file": str(args.prepare), "digest": command_digest(env)},
            f"wrote {args.prepare} (digest {command_digest(env)[:16]}...);{note}",
        )
        return 0
    if not args.broker:
        raise ConfigError(["cleanroom send: --broker URL is required to send"])
    topics = Topics(args.prefix, args.site, env.rack)
    printer = (lambda _r: None) if args.json else (lambda r: print(_describe(r), flush=True))
    replies = asyncio.run(
        send_command(_settings(args, "send"), topics, env, wait=args.wait, on_reply=printer)
    )
    if args.json:
        print(json.dumps([msgspec.to_builtins(r) for r in replies], indent=2))
    return 0 if replies and replies[-1].status == "result" else 1


def cmd_approve(args: argparse.Namespace) -> int:
    env = _load_envelope(args.envelope)
    record, private = read_key_file(args.key, args.key_id)
    if record.key_id == env.key_id:
        raise ConfigError(
            [
                f"{args.key}: you signed this command ({env.key_id!r}); the "
                "approval must come from a second person's key"
            ]
        )
    approval = sign_approval(private, key_id=record.key_id, command=env, issued_at=int(time.time()))
    approved = msgspec.structs.replace(env, approvals=[*env.approvals, approval])
    out = args.out or args.envelope
    _write_envelope(out, approved)
    _print(
        args,
        {"file": str(out), "approved_by": record.key_id, "digest": approval.command_digest},
        f"approved {env.verb} {json.dumps(env.args)} on rack {env.rack} signed by "
        f"{env.key_id}, valid until {time.ctime(env.expires_at)}\nwrote {out}",
    )
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        asyncio.run(
            watch(_settings(args, "watch"), args.prefix, duration=args.duration, as_json=args.json)
        )
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    if not args.store.exists():
        raise ConfigError(
            [
                f"--store {args.store}: no such file; give the agent's store "
                "(state directory, e.g. /var/lib/cleanroom/agent.db)"
            ]
        )

    heads = _read_heads(args.heads) if args.heads else []

    async def run() -> tuple[audit.VerifyReport, anchor.HeadCheck]:
        async with Store(args.store) as store:
            report = await audit.verify_store(store)
            if not heads:
                return report, anchor.HeadCheck()
            if args.device_key:
                public = public_key_from_b64("--device-key", args.device_key)
            else:
                public = (await store.transaction(anchor.device_key_in)).public_key()
            return report, await store.call(lambda c: anchor.check_heads(c, heads, public))

    report, anchored = asyncio.run(run())
    report.problems.extend(anchored.problems)
    human = (
        f"audit log OK: {report.entries} entries, head {report.head_hash[:16]}..."
        + (f", {anchored.checked} kept heads match" if heads else "")
        if report.ok
        else "audit log BROKEN:\n  " + "\n  ".join(report.problems)
    )
    _print(
        args,
        {
            "ok": report.ok,
            "entries": report.entries,
            "head": report.head_hash,
            "heads_checked": anchored.checked,
            "problems": report.problems,
        },
        human,
    )
    return 0 if report.ok else 1


def _read_heads(path: Path) -> list[dict[str, Any]]:
    """Heads from a file of JSON lines or one JSON array; each item a head, or an
    ``audit.head`` event (head in ``data``) or a reply (head in ``result``)."""
    try:
        text = path.read_text(encoding="utf-8")
        items = json.loads(text) if text.lstrip().startswith("[") else [
            json.loads(line) for line in text.splitlines() if line.strip()
        ]  # fmt: skip
    except (OSError, ValueError) as exc:
        raise ConfigError([f"--heads {path}: cannot read the kept heads ({exc})"]) from exc
    heads = []
    for index, raw in enumerate(items):
        item = (raw.get("data") or raw.get("result") or raw) if isinstance(raw, dict) else raw
        if not isinstance(item, dict) or not {"rack", "id", "hash", "ts", "sig"} <= set(item):
            raise ConfigError(
                [f"--heads {path}: item {index + 1} is not an audit head (rack, id, hash, ts, sig)"]
            )
        heads.append(item)
    return heads


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m agent.cli.report``) until agent/cli/__init__.py
    calls `register`."""
    parser = argparse.ArgumentParser(prog="cleanroom")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
