"""Command intake: validate and authorise a command envelope, knowing nothing of the domain.

`Intake.check()` is pure (no I/O): it decodes the envelope and applies every rule except
the nonce, and returns either a `Command` or raises `CommandRefused(reason, detail)`. The
nonce is checked and recorded by `Intake.admit()` in the same transaction as the audit
entry, so two copies of one command racing in cannot both pass. What runs an accepted
command is the daemon's handler registry (`dict[verb, async handler]`).

Rules, in this order (the first that fails is the reason):
retained, malformed, verb_mismatch, wrong_rack, unknown_key, revoked_key, bad_signature,
expired, future, forbidden (role), unknown_verb (no handler), approval_required,
approval_invalid (bad/unknown/revoked/same key/wrong role/outside the window), replayed.
The signature is checked before anything that depends on trusting the content (times,
role, nonce), so an unsigned message cannot probe which of those would pass.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from agent.errors import CommandRefused
from agent.report import envelope
from agent.report.envelope import Keyring
from agent.report.payloads import CommandEnvelope
from agent.report.roles import is_dangerous, may_run

MAX_PAYLOAD = 64 * 1024
MAX_APPROVALS = 4


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


class Intake:
    def __init__(
        self,
        *,
        rack_id: str,
        keyring: Keyring,
        handlers: Handlers,
        max_skew: float,
        approval_window: float,
        clock: Callable[[], float],
    ) -> None:
        self.rack_id = rack_id
        self.keyring = keyring
        self.handlers = handlers
        self.max_skew = max_skew
        self.approval_window = approval_window
        self.clock = clock

    def peek(self, payload: bytes) -> tuple[str, str]:
        """Best-effort (key_id, nonce) of a payload, for auditing a refusal; never raises."""
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
        if len(payload) > MAX_PAYLOAD:
            raise CommandRefused(
                "malformed", f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}"
            )
        try:
            env = msgspec.json.decode(payload, type=CommandEnvelope)
        except ValueError as exc:  # DecodeError, ValidationError, UnicodeDecodeError
            raise CommandRefused("malformed", f"not a command envelope: {exc}") from None
        if not 8 <= len(env.nonce) <= 128:
            raise CommandRefused(
                "malformed", f"nonce of {len(env.nonce)} characters; use 8 to 128 random characters"
            )
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
        now = self.clock()
        if env.expires_at <= now:
            raise CommandRefused("expired", f"expired at {env.expires_at}, now is {int(now)}")
        if env.issued_at > now + self.max_skew:
            raise CommandRefused(
                "future",
                f"issued at {env.issued_at}, more than "
                f"{self.max_skew:g} s ahead of the rack's clock ({int(now)})",
            )
        if env.expires_at <= env.issued_at:
            raise CommandRefused("malformed", "expires_at is not after issued_at")
        if not may_run(key.role, env.verb):
            raise CommandRefused(
                "forbidden", f"role {key.role!r} of key {env.key_id!r} may not run {env.verb!r}"
            )
        if env.verb not in self.handlers:
            raise CommandRefused("unknown_verb", f"this agent has no handler for {env.verb!r}")
        approvers = self._check_approvals(env, now) if is_dangerous(env.verb) else ()
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

    def _check_approvals(self, env: CommandEnvelope, now: float) -> tuple[str, ...]:
        if not env.approvals:
            raise CommandRefused(
                "approval_required",
                f"{env.verb!r} is dangerous and needs an "
                "approval signed by a second key (`cleanroom approve`)",
            )
        if len(env.approvals) > MAX_APPROVALS:
            raise CommandRefused(
                "malformed", f"{len(env.approvals)} approvals, at most {MAX_APPROVALS}"
            )
        digest = envelope.command_digest(env)
        problems: list[str] = []
        for approval in env.approvals:
            key = self.keyring.get(approval.key_id)
            if approval.key_id == env.key_id:
                problems.append(f"approval by {approval.key_id!r} is by the command's own key")
            elif key is None or key.revoked:
                problems.append(f"approval key {approval.key_id!r} is unknown or revoked")
            elif approval.command_digest != digest:
                problems.append(f"approval by {approval.key_id!r} is for another command")
            elif not envelope.verify_approval(approval, key.public_key):
                problems.append(f"approval by {approval.key_id!r} has a bad signature")
            elif not may_run(key.role, env.verb):
                problems.append(
                    f"approval key {approval.key_id!r} has role {key.role!r}, "
                    f"which may not run {env.verb!r}"
                )
            elif not (now - self.approval_window <= approval.issued_at <= now + self.max_skew):
                problems.append(
                    f"approval by {approval.key_id!r} issued at "
                    f"{approval.issued_at} is outside the "
                    f"{self.approval_window:g} s window"
                )
            else:
                return (approval.key_id,)
        raise CommandRefused("approval_invalid", "; ".join(problems))

    @staticmethod
    def admit(
        conn: sqlite3.Connection, key_id: str, nonce: str, expires_at: int, now: float
    ) -> None:
        """Record the nonce (in the caller's transaction); `replayed` if already seen.

        Nonces are kept until their command's expiry: after it, the command is refused as
        expired anyway, so the table stays as small as the set of live commands.
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
            )
