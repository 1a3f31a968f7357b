"""Signed command envelopes: canonical encoding, Ed25519 signing and verification.

The signature covers the canonical encoding of the command: every envelope field except
``sig`` and ``approvals``, as JSON with keys sorted at every depth, no whitespace, UTF-8,
prefixed by a domain string so a command signature can never be replayed as an approval
(or as anything else signed by the same key). Times in signed fields are integers: a
float's text differs between languages, an integer's does not.

An approval signs the SHA-256 digest of the command's canonical encoding, the approver's
key id and the approval time, under its own domain string.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from agent.errors import ConfigError
from agent.report.payloads import Approval, CommandEnvelope
from agent.report.roles import ROLES

COMMAND_DOMAIN = b"cleanroom/command/v1\n"
APPROVAL_DOMAIN = b"cleanroom/approval/v1\n"


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict base64 (no stray characters): a lenient decoder would accept two spellings
    of the same signature."""
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    # The last character may carry unused bits: "...A=" and "...B=" decode alike. Only
    # the canonical spelling is accepted, so one signature has exactly one text.
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError(f"non-canonical base64 {text[-4:]!r}")
    return raw


MAX_SAFE_INTEGER = 2**53 - 1
"""Signed integers stay within +-(2**53 - 1): every JSON parser (JavaScript's included)
reads them exactly, so every implementation signs the same text."""


def canonical(value: Any) -> bytes:
    """The canonical JSON of ``value`` (docs/protocol.md, "Canonical encoding"): object
    members sorted by the code points of their names at every depth, no whitespace,
    UTF-8, strings escaped only where JSON requires it."""
    return msgspec.json.encode(value, order="sorted")


def signable_problem(value: Any, where: str) -> str | None:
    """Why ``value`` has no canonical encoding (a float, an integer beyond 2**53 - 1,
    a non-text object name...), naming its place; None when it has one."""
    if value is None or isinstance(value, bool | str):
        return None
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return f"{where}: {value} is beyond +-(2^53-1); send it as text"
    if isinstance(value, list):
        for index, item in enumerate(value):
            if problem := signable_problem(item, f"{where}[{index}]"):
                return problem
        return None
    if isinstance(value, dict):
        for name, item in value.items():
            if problem := signable_problem(item, f"{where}.{name}"):
                return problem
        return None
    if isinstance(value, float):
        return (
            f"{where}: {value!r} is not an integer; signed numbers are integers "
            "(send a fraction as text or in smaller units)"
        )
    return f"{where}: a {type(value).__name__} cannot be signed"


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"member {twice[0]!r} appears twice in one object")
    return dict(pairs)


def duplicate_member(payload: bytes) -> str | None:
    """The complaint about an object member named twice in ``payload``, else None. JSON
    parsers disagree on which copy wins, so such a text has no single meaning."""
    try:
        json.loads(payload, object_pairs_hook=_refuse_duplicates)
    except ValueError as exc:
        return str(exc) if "appears twice" in str(exc) else None
    return None


def command_bytes(env: CommandEnvelope) -> bytes:
    signed = {
        "verb": env.verb,
        "args": env.args,
        "rack": env.rack,
        "issued_at": env.issued_at,
        "expires_at": env.expires_at,
        "nonce": env.nonce,
        "key_id": env.key_id,
    }
    return COMMAND_DOMAIN + canonical(signed)


def command_digest(env: CommandEnvelope) -> str:
    return hashlib.sha256(command_bytes(env)).hexdigest()


def approval_bytes(approval: Approval) -> bytes:
    signed = {
        "key_id": approval.key_id,
        "command_digest": approval.command_digest,
        "issued_at": approval.issued_at,
    }
    return APPROVAL_DOMAIN + canonical(signed)


def _verify(public_key: Ed25519PublicKey, sig_text: str, message: bytes) -> bool:
    try:
        public_key.verify(b64decode(sig_text), message)
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def verify_command(env: CommandEnvelope, public_key: Ed25519PublicKey) -> bool:
    return _verify(public_key, env.sig, command_bytes(env))


def verify_approval(approval: Approval, public_key: Ed25519PublicKey) -> bool:
    return _verify(public_key, approval.sig, approval_bytes(approval))


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def sign_command(
    private_key: Ed25519PrivateKey,
    *,
    key_id: str,
    verb: str,
    args: dict[str, Any],
    rack: str,
    issued_at: int,
    expires_at: int,
    nonce: str | None = None,
) -> CommandEnvelope:
    unsigned = CommandEnvelope(
        verb=verb,
        args=args,
        rack=rack,
        issued_at=issued_at,
        expires_at=expires_at,
        nonce=nonce or new_nonce(),
        key_id=key_id,
        sig="",
    )
    sig = private_key.sign(command_bytes(unsigned))
    return msgspec.structs.replace(unsigned, sig=b64encode(sig))


def sign_approval(
    private_key: Ed25519PrivateKey, *, key_id: str, command: CommandEnvelope, issued_at: int
) -> Approval:
    unsigned = Approval(
        key_id=key_id, command_digest=command_digest(command), issued_at=issued_at, sig=""
    )
    sig = private_key.sign(approval_bytes(unsigned))
    return msgspec.structs.replace(unsigned, sig=b64encode(sig))


# --- keys -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One ``[[key]]`` of the rack config: who may sign commands, and with which role."""

    key_id: str
    role: str
    public_key: Ed25519PublicKey
    revoked: bool = False

    @property
    def raw(self) -> bytes:
        """The 32 bytes of the public key: what identifies a person, whatever the id."""
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_from_b64(place: str, text: str) -> Ed25519PublicKey:
    try:
        raw = b64decode(text.strip())
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise ConfigError(
            [
                f"{place}: public_key is not valid base64 ({exc}); paste the "
                "value printed by `cleanroom keys show`"
            ]
        ) from exc
    if len(raw) != 32:
        raise ConfigError(
            [
                f"{place}: public_key decodes to {len(raw)} bytes, an Ed25519 "
                "public key has 32; paste the value printed by `cleanroom keys show`"
            ]
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def key_entry(place: str, key_id: str, role: str, public_key: str, revoked: bool) -> KeyEntry:
    if role not in ROLES:
        raise ConfigError([f"{place}: role {role!r} is not one of {list(ROLES)}"])
    if not key_id:
        raise ConfigError([f"{place}: id is empty; name the key after its holder"])
    return KeyEntry(key_id, role, public_key_from_b64(place, public_key), revoked)


class Keyring:
    """The keys of the rack config, by id. Duplicate ids are a config error. One public
    key under two ids is refused by the config checks (agent/conf/checks.py) and again
    by the intake, which compares approvers by public key, not by id."""

    def __init__(self, entries: list[KeyEntry]) -> None:
        self._keys: dict[str, KeyEntry] = {}
        problems = []
        for index, entry in enumerate(entries):
            if entry.key_id in self._keys:
                problems.append(
                    f"key[{index}]: id {entry.key_id!r} is used twice; give each key its own id"
                )
            self._keys[entry.key_id] = entry
        if problems:
            raise ConfigError(problems)

    def get(self, key_id: str) -> KeyEntry | None:
        return self._keys.get(key_id)

    def __len__(self) -> int:
        return len(self._keys)


# --- private key files (ARS side) -----------------------------------------------------
#
# One format: an Ed25519 private key as PKCS#8 PEM ("BEGIN PRIVATE KEY"), what
# `openssl genpkey -algorithm ed25519` writes and what a browser's WebCrypto imports. The
# file holds no key id: the key id is the file's name without its extension
# (ars-admin-1.pem signs as ars-admin-1), as the board reads it too, unless given.


@dataclass(frozen=True, slots=True)
class KeyFile:
    key_id: str
    public_key: str
    """Base64 of the raw 32-byte public key: what a rack config's [[key]] lists."""
    public_pem: str
    """The same public key as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY")."""


def public_b64(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return b64encode(raw)


def _key_file(key_id: str, private_key: Ed25519PrivateKey) -> KeyFile:
    pem = private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return KeyFile(key_id, public_b64(private_key), pem.decode("ascii"))


def key_id_of(path: Path) -> str:
    """A key file's key id: its name without a ``.pem`` or ``.key`` extension."""
    name = path.name
    return name[: -len(path.suffix)] if path.suffix.lower() in {".pem", ".key"} else name


def write_key_file(path: Path, private_key: Ed25519PrivateKey) -> KeyFile:
    """Write a new PKCS#8 PEM key file readable by its owner only; never overwrite one."""
    pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(
            [f"{path}: already exists; choose another file name or delete the old key on purpose"]
        ) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot create the key file ({exc})"]) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return _key_file(key_id_of(path), private_key)


def read_key_file(path: Path, key_id: str | None = None) -> tuple[KeyFile, Ed25519PrivateKey]:
    """Read a PKCS#8 PEM Ed25519 private key; its key id is ``key_id`` or the file name."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [f"{path}: cannot read the key file ({exc}); create one with `cleanroom keys new`"]
        ) from exc
    if data.lstrip().startswith(b"{"):
        raise ConfigError(
            [
                f"{path}: a JSON key file of an older cleanroom; keys are PKCS#8 PEM now: "
                "create one with `cleanroom keys new` and put its public key in the rack "
                "config in place of the old one"
            ]
        )
    try:
        private_key = load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise ConfigError(
            [
                f"{path}: the private key is encrypted; write it unencrypted for this "
                "tool (`openssl pkey -in ENCRYPTED -out FILE`) and keep the file mode 0600"
            ]
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            [
                f"{path}: not a PKCS#8 PEM private key ({exc}); create one with "
                "`cleanroom keys new` or `openssl genpkey -algorithm ed25519`"
            ]
        ) from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ConfigError(
            [
                f"{path}: a {type(private_key).__name__.removeprefix('_')} key, commands "
                "are signed with Ed25519; create one with `cleanroom keys new`"
            ]
        )
    return _key_file(key_id or key_id_of(path), private_key), private_key
