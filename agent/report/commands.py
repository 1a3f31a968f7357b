"""One inbound command, end to end: check, admit (nonce + audit), reply, run, reply.

Every refusal is answered on the response topic with its reason and audited: one by one
within a rate (`refusal_limit`), as a count past it. An
accepted command is answered ``accepted`` at once, then runs as its own task in the
Reporter's TaskGroup (a long action neither blocks the intake nor dies with a
connection); its outcome is audited and answered ``result`` or ``failed``.

A read (``read=True`` in agent/verbs.py) is checked the same way and its nonce spent, but
without an fsync and without audit entries of its own: it is counted (`agent.read_tally`)
and the count is audited as one ``command.reads`` entry per interval.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from agent.adapters.mqtt import Inbound
from agent.errors import AgentError, CommandRefused
from agent.read_tally import ReadTally
from agent.report.intake import Command, Intake
from agent.report.payloads import Reply, ReplyStatus
from agent.report.refusal_limit import RefusalLimiter
from agent.verbs import is_read

if TYPE_CHECKING:
    from agent.report.reporter import Reporter

log = logging.getLogger(__name__)


class CommandRunner:
    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.accepted = 0
        self.refused = 0
        settings = reporter.settings
        self.limiter = RefusalLimiter(
            settings.refusal_audit_burst, settings.refusal_audit_per_minute, wall=reporter.clock
        )
        self._summary: asyncio.Task[None] | None = None
        self.reads = ReadTally()
        self._reads_task: asyncio.Task[None] | None = None

    def _reply(
        self,
        *,
        verb: str,
        nonce: str,
        status: ReplyStatus,
        reason: str = "",
        detail: str = "",
        result: Any = None,
    ) -> bytes:
        rep = self.reporter
        return msgspec.json.encode(
            Reply(
                rack=rep.topics.rack,
                boot_id=rep.boot_id,
                as_of_seq=rep.outbox.last_seq,
                ts=rep.clock(),
                verb=verb,
                nonce=nonce,
                status=status,
                reason=reason,
                detail=detail,
                result=result,
            )
        )

    async def handle(self, inbound: Inbound, verb: str) -> None:
        rep = self.reporter
        intake: Intake = rep.intake
        try:
            checked = intake.check(
                topic_verb=verb,
                payload=inbound.payload,
                retain=inbound.retain,
                correlation=inbound.correlation,
                response_topic=inbound.response_topic,
            )
            command = checked.command
            now = rep.clock()

            if is_read(command.verb):
                # A read changes nothing: its nonce is spent (no replay) without an
                # fsync, and it is counted rather than audited (see _count_read).
                await rep.outbox.store.transaction(
                    lambda conn: Intake.admit(
                        conn, command.key_id, command.nonce, checked.expires_at, now
                    ),
                    durable=False,
                )
            else:
                await rep.record.commit_with(self._admit_action(command, checked.expires_at, now))
        except CommandRefused as refusal:
            await self._refuse(inbound, verb, refusal)
            return
        self.accepted += 1
        await rep.reply(inbound, self._reply(verb=verb, nonce=command.nonce, status="accepted"))
        rep.spawn(self._run(inbound, command), name=f"report.command.{verb}")

    def _admit_action(
        self, command: Command, expires_at: int, now: float
    ) -> Callable[[sqlite3.Connection], None]:
        """The nonce and the ``command.accepted`` audit entry, in one transaction."""
        rep = self.reporter

        def admit(conn: sqlite3.Connection) -> None:
            Intake.admit(conn, command.key_id, command.nonce, expires_at, now)
            rep.recorder.audit_in(
                conn,
                actor=f"remote:{command.key_id}",
                action="command.accepted",
                ts=now,
                detail={
                    "verb": command.verb,
                    "args": command.args,
                    "nonce": command.nonce,
                    "role": command.role,
                    "approved_by": list(command.approved_by),
                },
            )

        return admit

    async def _refuse(self, inbound: Inbound, verb: str, refusal: CommandRefused) -> None:
        rep = self.reporter
        self.refused += 1
        claimed, nonce = rep.intake.peek(inbound.payload)
        # Only a verified signature names the sender; before it, the key id is a claim.
        actor = "unauthenticated" if refusal.signer is None else f"remote:{refusal.signer}"
        log.warning(
            "report: refused command %r (%s, key %r): %s", verb[:64], actor, claimed, refusal
        )
        if self.limiter.allow(refusal.reason, claimed):
            await rep.record_audit(
                actor,
                "command.refused",
                {
                    "verb": verb[:128],
                    "reason": refusal.reason,
                    "detail": refusal.detail[:1000],
                    "claimed_key_id": claimed,
                    "verified": refusal.signer is not None,
                    "nonce": nonce,
                    "topic": inbound.topic[:256],
                    "response_topic": (inbound.response_topic or "")[:256],
                    "retained": inbound.retain,
                },
            )
        elif self._summary is None:
            self._summary = rep.spawn(self._write_summary(), name="report.refusal-summary")
        await rep.reply(
            inbound,
            self._reply(
                verb=verb[:128],
                nonce=nonce,
                status="refused",
                reason=refusal.reason,
                detail=refusal.detail,
            ),
        )

    async def _write_summary(self) -> None:
        """Audit the refusals counted past the rate, once the rate allows an entry; on
        the way out (agent stopping), at once: the count is in no other record."""
        try:
            while (summary := self.limiter.take_summary()) is None:
                await asyncio.sleep(self.limiter.wait_s())
        finally:
            self._summary = None
            summary = summary or self.limiter.take_summary(force=True)
            if summary is not None:
                log.warning(
                    "report: %d more refused commands (%s), audited as one count",
                    summary.count,
                    ", ".join(f"{r} x{n}" for r, n in summary.reasons.most_common()),
                )
                try:
                    await self.reporter.record_audit(
                        "agent", "command.refused.suppressed", summary.as_detail()
                    )
                except AgentError as exc:
                    # On the way out the store may already refuse; the log line stays.
                    log.error("report: could not audit the refusal count: %s", exc)  # noqa: TRY400 - the cause is ours, no traceback needed

    async def _run(self, inbound: Inbound, command: Command) -> None:
        rep = self.reporter
        handler = rep.intake.handlers[command.verb]
        status: ReplyStatus = "result"
        reason, detail, result = "", "", None
        try:
            result = await handler(command)
            msgspec.json.encode(result)  # a result we cannot send is the handler's bug
        except CommandRefused as exc:
            status, reason, detail = "failed", exc.reason, exc.detail
        except AgentError as exc:
            status, reason, detail = "failed", type(exc).__name__, str(exc)
        except Exception as exc:
            log.exception("report: handler for %r crashed", command.verb)
            status, reason, detail = "failed", "internal_error", f"{type(exc).__name__}: {exc}"
            result = None
        reply = self._reply(
            verb=command.verb,
            nonce=command.nonce,
            status=status,
            reason=reason,
            detail=detail,
            result=result,
        )
        if is_read(command.verb):
            self._count_read(command, ok=status == "result")
            await rep.reply(inbound, reply)
            return
        # The outcome is audited and answered at the same time: the requester need not
        # wait for the audit fsync, and the acceptance was made durable before acting.
        await asyncio.gather(
            rep.record_audit(
                f"remote:{command.key_id}",
                "command.result",
                {
                    "verb": command.verb,
                    "nonce": command.nonce,
                    "status": status,
                    "reason": reason,
                    "detail": detail[:1000],
                },
            ),
            rep.reply(inbound, reply),
        )

    def _count_read(self, command: Command, *, ok: bool) -> None:
        self.reads.add(f"remote:{command.key_id}", command.verb, ok=ok, ts=self.reporter.clock())
        if self._reads_task is None:
            self._reads_task = self.reporter.spawn(self._write_reads(), name="report.reads")

    async def _write_reads(self) -> None:
        """Audit the reads counted over one interval as one ``command.reads`` entry; on
        the way out (agent stopping), at once: the count is in no other record."""
        try:
            await asyncio.sleep(self.reporter.settings.read_audit_interval)
        finally:
            self._reads_task = None
            if (detail := self.reads.take()) is not None:
                try:
                    await self.reporter.record_audit("agent", "command.reads", detail)
                except AgentError as exc:
                    log.error("report: could not audit the read count: %s", exc)  # noqa: TRY400 - the cause is ours, no traceback needed
