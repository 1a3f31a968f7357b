"""An ARS client written from docs/protocol.md alone: it must not import anything of
``agent`` (a test checks), so a wrong byte in the agent or in the document shows up here
instead of being mirrored.

It signs commands and approvals (the "Signed bytes" and "Canonical encoding" sections),
reads PKCS#8 PEM keys ("Key files"), and talks MQTT 5 through Mosquitto's own command
line clients, as a team without our Python would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

COMMAND_PREFIX = b"cleanroom/command/v1\n"
APPROVAL_PREFIX = b"cleanroom/approval/v1\n"
SAFE = 2**53 - 1
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


class NotSignable(ValueError):
    pass


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _SHORT:
            out.append(_SHORT[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            raise NotSignable("a lone surrogate has no UTF-8 form")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def canonical(value: Any) -> bytes:
    """The document's canonical JSON, written out rule by rule."""
    return _canonical(value).encode("utf-8")


def _canonical(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if not -SAFE <= value <= SAFE:
            raise NotSignable(f"{value} is beyond 2^53-1")
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        # Python compares str by code point, which is the document's order.
        members = sorted(value.items(), key=lambda kv: [ord(c) for c in kv[0]])
        return "{" + ",".join(_string(k) + ":" + _canonical(v) for k, v in members) + "}"
    raise NotSignable(f"a {type(value).__name__} cannot be signed")


SIGNED_FIELDS = ("verb", "args", "rack", "issued_at", "expires_at", "nonce", "key_id")


def command_bytes(env: dict[str, Any]) -> bytes:
    return COMMAND_PREFIX + canonical({name: env[name] for name in SIGNED_FIELDS})


def command_digest(env: dict[str, Any]) -> str:
    return hashlib.sha256(command_bytes(env)).hexdigest()


def approval_bytes(approval: dict[str, Any]) -> bytes:
    fields = ("key_id", "command_digest", "issued_at")
    return APPROVAL_PREFIX + canonical({name: approval[name] for name in fields})


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def load_key(path: Path) -> tuple[str, Ed25519PrivateKey]:
    """(key id, key) of a PKCS#8 PEM file: the id is the file name without ``.pem``."""
    key = load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return path.name.removesuffix(".pem"), key


def sign_command(
    key: Ed25519PrivateKey,
    key_id: str,
    verb: str,
    args: dict[str, Any],
    rack: str,
    issued_at: int,
    expires_at: int,
    nonce: str | None = None,
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "verb": verb,
        "args": args,
        "rack": rack,
        "issued_at": issued_at,
        "expires_at": expires_at,
        "nonce": nonce or secrets.token_urlsafe(16),
        "key_id": key_id,
    }
    env["sig"] = b64(key.sign(command_bytes(env)))
    env["approvals"] = []
    return env


def sign_approval(
    key: Ed25519PrivateKey, key_id: str, env: dict[str, Any], issued_at: int
) -> dict[str, Any]:
    approval: dict[str, Any] = {
        "key_id": key_id,
        "command_digest": command_digest(env),
        "issued_at": issued_at,
    }
    approval["sig"] = b64(key.sign(approval_bytes(approval)))
    return approval


async def request(
    port: int, base: str, env: dict[str, Any], reply_topic: str, *, within: float = 20.0
) -> list[dict[str, Any]]:
    """Publish ``env`` on ``{base}/cmd/{verb}`` (QoS 1, not retained) with an MQTT 5
    response topic and correlation data; return the replies up to the final one."""
    correlation = secrets.token_hex(8)
    sub = await asyncio.create_subprocess_exec(
        *("mosquitto_sub", "-V", "mqttv5", "-h", "127.0.0.1", "-p", str(port)),
        *("-q", "1", "-t", reply_topic, "-F", "%j"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert sub.stdout is not None
    replies: list[dict[str, Any]] = []
    try:
        await asyncio.sleep(0.3)  # let the subscription settle before the request
        pub = await asyncio.create_subprocess_exec(
            *("mosquitto_pub", "-V", "mqttv5", "-h", "127.0.0.1", "-p", str(port), "-q", "1"),
            *("-t", f"{base}/cmd/{env['verb']}", "-m", json.dumps(env)),
            *("-D", "publish", "response-topic", reply_topic),
            *("-D", "publish", "correlation-data", correlation),
        )
        await pub.wait()
        async with asyncio.timeout(within):
            while line := await sub.stdout.readline():
                message = json.loads(line)
                if message.get("properties", {}).get("correlation-data") != correlation:
                    continue
                reply = json.loads(message["payload"])
                replies.append(reply)
                if reply["status"] in {"refused", "result", "failed"}:
                    break
    finally:
        sub.terminate()
        await sub.wait()
    return replies
