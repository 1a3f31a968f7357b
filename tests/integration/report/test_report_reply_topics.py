"""A requester chooses the reply topic, signed or not: junk whose response topic is the
rack's own status or events gets nothing published there (nor anywhere outside the reply
tree), and the refusal is audited as unauthenticated."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from agent.report import audit
from agent.report.envelope import sign_command
from agent.report.payloads import Snapshot
from agent.store import Store
from tests.integration.report.broker import Mosquitto
from tests.integration.report.report_helpers import (
    BASE,
    RACK,
    Signer,
    Subscriber,
    keyring,
    make_reporter,
    now,
    publish,
)

ALICE = Signer("alice", "operator")


async def test_replies_never_land_on_the_racks_own_topics(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async def ran(_command: object) -> str:
        return "ran"

    everything = Subscriber(mosquitto.port, ["#"])
    await everything.start()
    async with Store(tmp_path / "s.db") as store:
        reporter = make_reporter(
            store,
            mosquitto.url,
            keyring=keyring([ALICE]),
            handlers={"runbook.retry": ran},
            status_provider=lambda: Snapshot(state="operational"),
        )
        async with reporter:
            await everything.ready("probe/ready")
            async with asyncio.timeout(20):
                await reporter.wait_connected()
            signed = sign_command(
                ALICE.private,
                key_id="alice",
                verb="runbook.retry",
                args={"step": "s1"},
                rack=RACK,
                issued_at=now(),
                expires_at=now() + 60,
            )
            hostile = [
                (b"junk", f"{BASE}/status"),
                (b'{"verb": "x"}', f"{BASE}/events"),
                (msgspec.json.encode(signed), f"{BASE}/status"),  # signed, still refused
                (b"junk", "elsewhere/replies"),
            ]
            for payload, topic in hostile:
                await publish(
                    mosquitto.port,
                    f"{BASE}/cmd/runbook.retry",
                    payload,
                    response_topic=topic,
                    correlation="c",
                )
            await everything.wait_for(
                lambda _ms: reporter.commands.refused >= len(hostile), what="4 refusals"
            )
            # The same signed command with an allowed reply topic still runs: the refused
            # copy consumed no nonce.
            await publish(
                mosquitto.port,
                f"{BASE}/cmd/runbook.retry",
                msgspec.json.encode(signed),
                response_topic="cleanroom/v1/ars/replies/ok",
                correlation="ok",
            )
            await everything.wait_for(
                lambda ms: any(
                    m["topic"] == "cleanroom/v1/ars/replies/ok" and m["json"]["status"] == "result"
                    for m in ms
                ),
                what="the result on the allowed reply topic",
            )
        entries = await store.call(audit.read_entries)
    await everything.stop()
    for message in everything.messages:
        body = message["json"]
        if message["topic"] == f"{BASE}/status":
            assert isinstance(body, dict), message
            assert "online" in body, message  # a Status, never a reply
        else:
            assert message["topic"] != "elsewhere/replies", message
        if isinstance(body, dict) and body.get("status") in {"refused", "accepted", "result"}:
            assert message["topic"] == "cleanroom/v1/ars/replies/ok", message
    refusals = [e for e in entries if e.action == "command.refused"]
    assert [e.detail["reason"] for e in refusals] == ["bad_reply_topic"] * 4
    assert all(e.actor == "unauthenticated" for e in refusals)
    assert "inside this rack's own topics" in refusals[0].detail["detail"]
    assert "not under 'cleanroom/v1/ars/'" in refusals[3].detail["detail"]
