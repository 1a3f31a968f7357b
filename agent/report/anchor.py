"""The audit chain's anchor: signed heads the ARS keeps.

A hash chain alone can be rewritten from any entry on, every later hash recomputed, and
still verify. So the agent signs its chain's head (the newest entry's id and hash) with
its own Ed25519 *device key*, generated at first start and kept in the store; its public
half is in every birth (``Status.device_key``). The head is published on ``events``
(kind ``audit.head``) at a regular interval when it moved, and returned by the
``audit.head`` verb. An ARS keeps the heads it saw; ``cleanroom audit verify --heads``
then checks a store against them: an entry rewritten at or before a kept head no longer
has the hash the rack signed.

Signed bytes (docs/protocol.md): ``cleanroom/audit-head/v1\\n`` followed by the
canonical JSON of ``{"hash", "id", "rack", "ts"}`` (``ts`` in integer seconds).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from agent.report import audit
from agent.report.envelope import b64decode, b64encode, canonical

HEAD_DOMAIN = b"cleanroom/audit-head/v1\n"
DEVICE_KEY = "device.key"


def device_key_in(conn: sqlite3.Connection) -> Ed25519PrivateKey:
    """The rack's device key, created on first use (call inside a transaction)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (DEVICE_KEY,)).fetchone()
    if row is not None:
        key = load_pem_private_key(str(row[0]).encode("ascii"), None)
        if isinstance(key, Ed25519PrivateKey):
            return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (DEVICE_KEY, pem),
    )
    return key


def head_bytes(head: dict[str, Any]) -> bytes:
    signed = {k: head[k] for k in ("rack", "id", "hash", "ts")}
    return HEAD_DOMAIN + canonical(signed)


def signed_head(
    conn: sqlite3.Connection, key: Ed25519PrivateKey, rack: str, ts: int
) -> dict[str, Any]:
    """The chain's current head, signed: ``{rack, id, hash, ts, entries, sig}``."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (audit.HEAD_KEY,)).fetchone()
    head: dict[str, Any] = (
        json.loads(row[0]) if row is not None else {"id": 0, "hash": audit.GENESIS}
    )
    out: dict[str, Any] = {"rack": rack, "id": int(head["id"]), "hash": str(head["hash"]), "ts": ts}
    out["sig"] = b64encode(key.sign(head_bytes(out)))
    out["entries"] = int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
    return out


@dataclass(slots=True)
class HeadCheck:
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def check_heads(
    conn: sqlite3.Connection, heads: list[dict[str, Any]], public_key: Ed25519PublicKey
) -> HeadCheck:
    """Hold the store's chain against heads an ARS kept: each must carry the device
    key's signature, and the store's entry of that id must still have that hash."""
    result = HeadCheck()
    for index, head in enumerate(heads):
        where = f"head {index + 1} (entry {head.get('id')!r})"
        try:
            public_key.verify(b64decode(str(head["sig"])), head_bytes(head))
        except (KeyError, ValueError, TypeError) as exc:
            result.problems.append(f"{where}: not a signed audit head ({exc})")
            continue
        except InvalidSignature:
            result.problems.append(
                f"{where}: its signature does not verify with the device key; it was not "
                "signed by this rack or was altered"
            )
            continue
        result.checked += 1
        if head["id"] == 0:
            continue
        row = conn.execute("SELECT hash FROM audit WHERE id = ?", (head["id"],)).fetchone()
        if row is None:
            result.problems.append(
                f"{where}: the store has no entry {head['id']}; the log was cut after the "
                "rack signed this head"
            )
        elif row[0] != head["hash"]:
            result.problems.append(
                f"{where}: the store's entry {head['id']} has hash {str(row[0])[:12]}..., "
                f"the rack signed {str(head['hash'])[:12]}... at {head['ts']}; the log was "
                "rewritten"
            )
    return result
