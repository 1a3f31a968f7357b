"""Command intake: validate and authorise a command envelope, knowing nothing of the domain.

`Intake.check()` is pure (no I/O): it decodes the envelope and applies every rule except
the nonce, and returns either a `Command` or raises `CommandRefused(reason, detail)`. The
nonce is checked and recorded by `Intake.admit()` in the same transaction as the audit
entry, so two copies of one command racing in cannot both pass. What runs an accepted
command is the daemon's handler registry (`dict[verb, async handler]`).

The rules, in order, are those of docs/protocol.md ("Checks, in order"); the first that
fails is the reason. The signature is checked before anything that depends on trusting
the content (times, role, nonce), so an unsigned message cannot probe which of those
would pass; a refusal up to and including the signature check carries no signer (the
sender is unauthenticated, whatever key id it claims).
"""

from __future__ import annotations

import sqlite3
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from agent.errors import CommandRefused
from agent.report import envelope
from agent.report.envelope import KeyEntry, Keyring
from agent.report.payloads import CommandEnvelope
from agent.report.roles import is_dangerous, may_run

MAX_PAYLOAD = 64 * 1024
MAX_APPROVALS = 4
NONCE_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")


@dataclass(frozen=True, slots=True)
class Limits:
    """The time bounds of a command and where its replies may go (docs/protocol.md)."""

    max_skew: float = 30.0
    """A command's or approval's issue time may be this far ahead of the rack's clock."""
    max_lifetime: float = 600.0
    """``expires_at - issued_at`` at most: no command usable for years."""
    max_age: float = 600.0
    """``now - issued_at`` at most: an old, still unexpired command is refused."""
    approval_window: float = 900.0
    """An approval's issue time may be this far in the past."""
    reply_prefix: str = "cleanroom/v1/ars"
    """Replies go only to topics under ``reply_prefix/``."""
    own_tree: str = ""
    """The rack's own topics (``prefix/site/rack``): never a reply topic."""


def reply_topic_problem(topic: str | None, limits: Limits) -> str | None:
    """Why the agent will not publish a reply on ``topic``, or None (no topic is fine:
    the requester asked for no reply). Whoever published the command chose the topic,
    signed or not: a reply must never land on the rack's own status or events, nor
    anywhere outside the tree the ARS set aside for replies."""
    if topic is None:
        return None
    if not topic or len(topic) > 1024 or any(char in topic for char in "+#\x00"):
        return "the response topic is empty, longer than 1024 or holds a wildcard or NUL"
    own = limits.own_tree
    if own and (topic == own or topic.startswith(own + "/")):
        return f"the response topic {topic[:128]!r} is inside this rack's own topics"
    if not topic.startswith(limits.reply_prefix + "/"):
        return f"the response topic {topic[:128]!r} is not under {limits.reply_prefix + '/'!r}"
    return None


@dataclass(frozen=True, slots=True)
class Command:
    """An accepted command, as handlers see it."""

    verb: str
    args: dict[str, Any]
    key_id: str
    role: str
    nonce: str
    approved_by: tuple[str, ...] = ()
    correlation: bytes | None = None
    response_topic: str | None = None


Handler = Callable[[Command], Awaitable[Any]]
Handlers = Mapping[str, Handler]


@dataclass(frozen=True, slots=True)
class Checked:
    command: Command
    expires_at: int


def decode(payload: bytes) -> CommandEnvelope:
    """The envelope in ``payload``, or `malformed` naming what is wrong."""
    if len(payload) > MAX_PAYLOAD:
        raise CommandRefused("malformed", f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        env = msgspec.json.decode(payload, type=CommandEnvelope)
    except ValueError as exc:  # DecodeError, ValidationError, UnicodeDecodeError
        raise CommandRefused("malformed", f"not a command envelope: {exc}") from None
    if (twice := envelope.duplicate_member(payload)) is not None:
        raise CommandRefused("malformed", twice)
    if not 8 <= len(env.nonce) <= 128 or not NONCE_ALPHABET.issuperset(env.nonce):
        raise CommandRefused(
            "malformed",
            f"nonce of {len(env.nonce)} characters; use 8 to 128 characters of "
            "A-Z a-z 0-9 - _ (16 random bytes in base64url)",
        )
    signed = {"args": env.args, "issued_at": env.issued_at, "expires_at": env.expires_at}
    if (problem := envelope.signable_problem(signed, "envelope")) is not None:
        raise CommandRefused("malformed", problem)
    if len(env.approvals) > MAX_APPROVALS:
        raise CommandRefused(
            "malformed", f"{len(env.approvals)} approvals, at most {MAX_APPROVALS}"
        )
    for index, approval in enumerate(env.approvals):
        where = f"approvals[{index}].issued_at"
        if (problem := envelope.signable_problem(approval.issued_at, where)) is not None:
            raise CommandRefused("malformed", problem)
    return env


class Intake:
    def __init__(
        self,
        *,
        rack_id: str,
        keyring: Keyring,
        handlers: Handlers,
        limits: Limits,
        clock: Callable[[], float],
    ) -> None:
        self.rack_id = rack_id
        self.keyring = keyring
        self.handlers = handlers
        self.limits = limits
        self.clock = clock

    def peek(self, payload: bytes) -> tuple[str, str]:
        """Best-effort (key_id, nonce) a payload claims, for auditing a refusal; never
        raises. Nothing here is verified: the audit marks it as claimed."""
        try:
            raw = msgspec.json.decode(payload[:MAX_PAYLOAD])
        except (msgspec.DecodeError, UnicodeDecodeError):
            return "unknown", ""
        if not isinstance(raw, dict):
            return "unknown", ""
        key_id, nonce = raw.get("key_id"), raw.get("nonce")
        return (
            key_id[:64] if isinstance(key_id, str) and key_id else "unknown",
            nonce[:64] if isinstance(nonce, str) else "",
        )

    def check(
        self,
        *,
        topic_verb: str,
        payload: bytes,
        retain: bool,
        correlation: bytes | None = None,
        response_topic: str | None = None,
    ) -> Checked:
        if retain:
            raise CommandRefused(
                "retained",
                "commands must not be retained; publish it again "
                "with retain off and clear the retained message",
            )
        if (problem := reply_topic_problem(response_topic, self.limits)) is not None:
            raise CommandRefused("bad_reply_topic", problem + "; no reply is sent")
        env = decode(payload)
        key = self._authenticate(env, topic_verb)
        try:
            approvers = self._authorise(env, key)
        except CommandRefused as refusal:
            raise CommandRefused(refusal.reason, refusal.detail, signer=env.key_id) from None
        command = Command(
            verb=env.verb,
            args=env.args,
            key_id=env.key_id,
            role=key.role,
            nonce=env.nonce,
            approved_by=approvers,
            correlation=correlation,
            response_topic=response_topic,
        )
        return Checked(command, env.expires_at)

    def _authenticate(self, env: CommandEnvelope, topic_verb: str) -> KeyEntry:
        if env.verb != topic_verb:
            raise CommandRefused(
                "verb_mismatch",
                f"envelope verb {env.verb!r} was published on the topic of {topic_verb!r}",
            )
        if env.rack != self.rack_id:
            raise CommandRefused(
                "wrong_rack", f"addressed to rack {env.rack!r}, this is {self.rack_id!r}"
            )
        key = self.keyring.get(env.key_id)
        if key is None:
            raise CommandRefused("unknown_key", f"key {env.key_id!r} is not in this rack's config")
        if key.revoked:
            raise CommandRefused("revoked_key", f"key {env.key_id!r} is revoked")
        if not envelope.verify_command(env, key.public_key):
            raise CommandRefused(
                "bad_signature", f"the signature does not verify with key {env.key_id!r}"
            )
        return key

    def _authorise(self, env: CommandEnvelope, key: KeyEntry) -> tuple[str, ...]:
        """The checks after the signature verified; returns who approved."""
        now = self.clock()
        self._check_times(env, now)
        if not may_run(key.role, env.verb):
            raise CommandRefused(
                "forbidden", f"role {key.role!r} of key {env.key_id!r} may not run {env.verb!r}"
            )
        if env.verb not in self.handlers:
            raise CommandRefused("unknown_verb", f"this agent has no handler for {env.verb!r}")
        return self._check_approvals(env, key, now) if is_dangerous(env.verb) else ()

    def _check_times(self, env: CommandEnvelope, now: float) -> None:
        limits = self.limits
        if env.expires_at <= env.issued_at:
            raise CommandRefused("malformed", "expires_at is not after issued_at")
        if env.expires_at - env.issued_at > limits.max_lifetime:
            raise CommandRefused(
                "lifetime_too_long",
                f"valid for {env.expires_at - env.issued_at} s, at most "
                f"{limits.max_lifetime:g} s; sign it again with a nearer expiry",
            )
        if env.expires_at <= now:
            raise CommandRefused("expired", f"expired at {env.expires_at}, now is {int(now)}")
        if env.issued_at > now + limits.max_skew:
            raise CommandRefused(
                "future",
                f"issued at {env.issued_at}, more than "
                f"{limits.max_skew:g} s ahead of the rack's clock ({int(now)})",
            )
        if env.issued_at < now - limits.max_age:
            raise CommandRefused(
                "too_old",
                f"issued at {env.issued_at}, more than {limits.max_age:g} s before the "
                f"rack's clock ({int(now)}); sign it again",
            )

    def _check_approvals(
        self, env: CommandEnvelope, signer: KeyEntry, now: float
    ) -> tuple[str, ...]:
        if not env.approvals:
            raise CommandRefused(
                "approval_required",
                f"{env.verb!r} is dangerous and needs an "
                "approval signed by a second key (`cleanroom approve`)",
            )
        digest = envelope.command_digest(env)
        limits = self.limits
        problems: list[str] = []
        for approval in env.approvals:
            key = self.keyring.get(approval.key_id)
            if approval.key_id == env.key_id:
                problems.append(f"approval by {approval.key_id!r} is by the command's own key")
            elif key is None or key.revoked:
                problems.append(f"approval key {approval.key_id!r} is unknown or revoked")
            elif key.raw == signer.raw:
                # The same person under another id: check-config refuses such a config,
                # and this holds even for a keyring built without it.
                problems.append(
                    f"approval key {approval.key_id!r} has the same public key as the "
                    f"command's key {env.key_id!r}; one person cannot approve their own command"
                )
            elif approval.command_digest != digest:
                problems.append(f"approval by {approval.key_id!r} is for another command")
            elif not envelope.verify_approval(approval, key.public_key):
                problems.append(f"approval by {approval.key_id!r} has a bad signature")
            elif not may_run(key.role, env.verb):
                problems.append(
                    f"approval key {approval.key_id!r} has role {key.role!r}, "
                    f"which may not run {env.verb!r}"
                )
            elif not now - limits.approval_window <= approval.issued_at <= now + limits.max_skew:
                problems.append(
                    f"approval by {approval.key_id!r} issued at {approval.issued_at} is "
                    f"outside the window [now - {limits.approval_window:g} s, "
                    f"now + {limits.max_skew:g} s]"
                )
            else:
                return (approval.key_id,)
        raise CommandRefused("approval_invalid", "; ".join(problems))

    @staticmethod
    def admit(
        conn: sqlite3.Connection, key_id: str, nonce: str, expires_at: int, now: float
    ) -> None:
        """Record the nonce (in the caller's transaction); `replayed` if already seen.

        Nonces are kept per key id until their command's expiry: after it, the command is
        refused as expired anyway, so the table stays as small as the set of live commands.
        """
        conn.execute("DELETE FROM nonces WHERE expires < ?", (now,))
        cursor = conn.execute(
            "INSERT OR IGNORE INTO nonces(key_id, nonce, expires) VALUES (?, ?, ?)",
            (key_id, nonce, expires_at),
        )
        if cursor.rowcount == 0:
            raise CommandRefused(
                "replayed",
                f"nonce {nonce!r} of key {key_id!r} was already used; sign a new command",
                signer=key_id,
            )
