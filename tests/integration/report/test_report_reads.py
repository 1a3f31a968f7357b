"""Reads do not grow the record: a polling supervisor's reads are counted and audited as
one ``command.reads`` entry per interval, while actions and refusals (reads included)
are audited as before, and a read's nonce is spent all the same."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import msgspec

from agent.bus import Bus
from agent.report import audit
from agent.report.intake import Command
from agent.report.payloads import Snapshot
from agent.report.reporter import ReportSettings
from agent.store import Store
from tests.integration.report.broker import Mosquitto
from tests.integration.report.report_helpers import (
    BASE,
    Subscriber,
    keyring,
    make_reporter,
    publish,
)
from tests.integration.report.test_report_commands import ALICE, OLIVIA, has_reply, signed

REPLIES = "cleanroom/v1/ars/replies"


async def test_reads_are_counted_actions_and_refusals_audited(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async def retry(command: Command) -> dict[str, Any]:
        return {"step": command.args["step"]}

    replies = Subscriber(mosquitto.port, [f"{REPLIES}/#", f"{BASE}/events"])
    await replies.start()
    async with Store(tmp_path / "s.db") as store:
        reporter = make_reporter(
            store,
            mosquitto.url,
            bus=Bus(),
            keyring=keyring([ALICE, OLIVIA]),
            handlers={"runbook.retry": retry},
            status_provider=lambda: Snapshot(state="operational"),
            settings=ReportSettings(read_audit_interval=2.0),
        )

        async def send(name: str, verb: str, env: Any, final: str) -> None:
            await publish(
                mosquitto.port,
                f"{BASE}/cmd/{verb}",
                msgspec.json.encode(env),
                response_topic=f"{REPLIES}/{name}",
            )
            await replies.wait_for(
                functools.partial(has_reply, f"{REPLIES}/{name}", final), what=name
            )

        async with reporter:
            await replies.ready(f"{REPLIES}/probe")
            async with asyncio.timeout(20):
                await reporter.wait_connected()
            head = await store.call(audit.read_entries)
            first_read = signed(OLIVIA, "status.get")
            await send("read-0", "status.get", first_read, "result")
            for index in range(1, 12):
                await send(f"read-{index}", "status.get", signed(OLIVIA, "status.get"), "result")
            await send("outbox", "outbox.stats", signed(OLIVIA, "outbox.stats"), "result")
            # A read is refused like any command, and the refusal is audited.
            await send("replayed", "status.get", first_read, "refused")
            await send("forbidden", "runbook.retry", signed(OLIVIA, "runbook.retry"), "refused")
            action = signed(ALICE, "runbook.retry", args={"step": "s1"})
            await send("action", "runbook.retry", action, "result")
            # Once the interval has passed: one entry counts the reads.
            await replies.wait_for(
                lambda ms: any(
                    m["topic"] == f"{BASE}/events" and m["json"]["kind"] == "audit.command.reads"
                    for m in ms
                ),
                what="the audited read count",
            )
            await send("late", "status.get", signed(OLIVIA, "status.get"), "result")
        entries = await store.call(audit.read_entries)
        chain = await store.call(audit.verify)
    await replies.stop()

    new = [
        (e.action, e.detail.get("verb"), e.detail.get("reason"))
        for e in entries[len(head) :]
        if e.action != "command.reads"
    ]
    # Fourteen reads answered and none audited one by one; the refusals and the action are.
    assert new == [
        ("command.refused", "status.get", "replayed"),
        ("command.refused", "runbook.retry", "forbidden"),
        ("command.accepted", "runbook.retry", None),
        ("command.result", "runbook.retry", ""),
    ]
    counts = [e for e in entries if e.action == "command.reads"]
    assert [c.actor for c in counts] == ["agent", "agent"]
    assert counts[0].detail["count"] == 13
    assert counts[0].detail["reads"] == [
        {"actor": "remote:olivia", "verb": "outbox.stats", "ok": 1, "failed": 0},
        {"actor": "remote:olivia", "verb": "status.get", "ok": 12, "failed": 0},
    ]
    # The read after the last interval is audited when the agent stops.
    assert counts[1].detail["count"] == 1
    assert chain.ok, chain.problems
