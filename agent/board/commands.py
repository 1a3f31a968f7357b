"""Commands the board relays, and proposals waiting for a second person.

The board signs nothing: a browser posts an envelope it signed (agent.report.payloads
CommandEnvelope); a dangerous verb without an approval becomes a *proposal* that every
board page shows; another operator's browser posts an approval signed over the command's
digest, and the board sends the envelope with it. The rack decides (signature, role,
expiry, nonce, approval by a different key) and its replies are attached to the record.
The board checks only what it must to relay honestly: the envelope decodes, it is for a
rack the board has seen, and an approval names this command's digest.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from agent.errors import AgentError
from agent.report.envelope import command_digest
from agent.report.payloads import Approval, CommandEnvelope, Reply
from agent.report.roles import is_dangerous

KEEP = 200


class BoardRefusal(AgentError):
    """A request the board will not relay; the text says why and what to do."""


@dataclass(slots=True)
class Record:
    record_id: str
    site: str
    envelope: CommandEnvelope
    digest: str
    created: float
    state: str = "proposed"
    replies: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        env = self.envelope
        return {
            "id": self.record_id,
            "site": self.site,
            "rack": env.rack,
            "verb": env.verb,
            "args": env.args,
            "key_id": env.key_id,
            "digest": self.digest,
            "issued_at": env.issued_at,
            "expires_at": env.expires_at,
            "approvals": [a.key_id for a in env.approvals],
            "dangerous": is_dangerous(env.verb),
            "state": self.state,
            "replies": self.replies,
            "created": self.created,
            "envelope": msgspec.to_builtins(env),
        }


def decode_envelope(body: Any) -> CommandEnvelope:
    try:
        return msgspec.convert(body, type=CommandEnvelope)
    except msgspec.ValidationError as exc:
        raise BoardRefusal(
            f"envelope: {exc}; the page builds it from the form, reload the page"
        ) from None


def decode_approval(body: Any) -> Approval:
    try:
        return msgspec.convert(body, type=Approval)
    except msgspec.ValidationError as exc:
        raise BoardRefusal(f"approval: {exc}; reload the page and approve again") from None


class Commands:
    """Records by id, newest last, at most `KEEP` (the oldest finished ones go first)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.records: OrderedDict[str, Record] = OrderedDict()
        self.clock = clock
        self._ids = itertools.count(1)
        self._prefix = f"{int(clock()):x}"

    def add(self, site: str, env: CommandEnvelope) -> Record:
        if env.expires_at <= self.clock():
            raise BoardRefusal(
                f"{env.verb}: expired at {env.expires_at}; check this computer's clock "
                "and sign again"
            )
        record = Record(
            f"{self._prefix}-{next(self._ids)}", site, env, command_digest(env), self.clock()
        )
        record.state = "proposed" if is_dangerous(env.verb) and not env.approvals else "sending"
        self.records[record.record_id] = record
        while len(self.records) > KEEP:
            oldest = next(iter(self.records))
            del self.records[oldest]
        return record

    def get(self, record_id: str) -> Record:
        record = self.records.get(record_id)
        if record is None:
            raise BoardRefusal(
                f"proposal {record_id!r}: unknown (expired, or the board restarted); "
                "ask the proposer to propose again"
            )
        return record

    def approve(self, record_id: str, approval: Approval) -> Record:
        record = self.get(record_id)
        if record.state != "proposed":
            raise BoardRefusal(
                f"proposal {record_id}: already {record.state}; it can be approved only once"
            )
        if approval.command_digest != record.digest:
            raise BoardRefusal(
                f"proposal {record_id}: the approval signs digest {approval.command_digest[:16]}"
                f"..., this command's is {record.digest[:16]}...; reload the page and approve again"
            )
        if record.envelope.expires_at <= self.clock():
            record.state = "expired"
            raise BoardRefusal(
                f"proposal {record_id}: expired at {record.envelope.expires_at}; "
                "ask the proposer to propose again"
            )
        record.envelope = msgspec.structs.replace(
            record.envelope, approvals=[*record.envelope.approvals, approval]
        )
        record.state = "sending"
        return record

    def reply(self, record_id: str, reply: Reply) -> Record | None:
        record = self.records.get(record_id)
        if record is None:
            return None
        record.replies.append(
            {
                "status": reply.status,
                "reason": reply.reason,
                "detail": reply.detail,
                "result": reply.result,
                "ts": reply.ts,
            }
        )
        record.state = reply.status
        return record

    def failed_to_send(self, record: Record, why: str) -> None:
        record.state = "unsent"
        record.replies.append(
            {"status": "unsent", "reason": "broker", "detail": why, "result": None, "ts": 0}
        )

    def as_json(self) -> list[dict[str, Any]]:
        return [r.as_json() for r in self.records.values()]
