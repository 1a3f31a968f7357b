"""The audit chain's anchor: the rack signs its head with its device key (public half in
the birth), publishes it on events and answers audit.head; a chain rewritten from an
entry on, every later hash recomputed, passes the plain verify but fails against the
heads an ARS kept."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import msgspec
import pytest

from agent.bus import Bus
from agent.cli.report import main
from agent.report import audit
from agent.report.envelope import sign_command
from agent.report.payloads import Snapshot
from agent.report.reporter import ReportSettings
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

OLIVIA = Signer("olivia", "observer")
REPLY = "cleanroom/v1/ars/replies/anchor"


def rewrite_from(db: Path, entry_id: int) -> None:
    """What an intruder with the store would do: change an entry and recompute every
    later hash and the recorded head, so the chain is self-consistent again."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET actor = 'nobody' WHERE id = ?", (entry_id,))
        rows = conn.execute(
            "SELECT id, ts, actor, action, detail FROM audit WHERE id >= ? ORDER BY id",
            (entry_id,),
        ).fetchall()
        prev = conn.execute("SELECT hash FROM audit WHERE id = ?", (entry_id - 1,)).fetchone()[0]
        for row_id, ts, actor, action, detail in rows:
            digest = audit.entry_hash(row_id, ts, actor, action, detail_json=detail, prev_hash=prev)
            conn.execute(
                "UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, row_id)
            )
            prev = digest
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = ?",
            (json.dumps({"id": rows[-1][0], "hash": prev}), audit.HEAD_KEY),
        )


async def test_a_rewritten_chain_fails_against_kept_heads(
    mosquitto: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "agent.db"
    sub = Subscriber(mosquitto.port, [f"{BASE}/events", f"{BASE}/status", REPLY])
    await sub.start()
    bus = Bus()
    async with Store(db) as store:
        reporter = make_reporter(
            store,
            mosquitto.url,
            bus=bus,
            keyring=keyring([OLIVIA]),
            status_provider=lambda: Snapshot(state="operational"),
            settings=ReportSettings(audit_head_interval=0.2),
        )
        async with reporter:
            await sub.ready(REPLY)
            async with asyncio.timeout(20):
                await reporter.wait_connected()
            for outlet in range(4):
                bus.emit("outlet.switched", "power", category="audit", actor="local:x", o=outlet)
            await sub.wait_for(
                lambda ms: any(
                    (m["json"] or {}).get("kind") == "audit.head"
                    and m["json"]["data"]["id"] == 4
                    for m in ms
                ),
                what="the signed head of entry 4",
            )  # fmt: skip
            env = sign_command(
                OLIVIA.private, key_id="olivia", verb="audit.head", args={}, rack=RACK,
                issued_at=now(), expires_at=now() + 60,
            )  # fmt: skip
            await publish(
                mosquitto.port, f"{BASE}/cmd/audit.head", msgspec.json.encode(env),
                response_topic=REPLY, correlation="c",
            )  # fmt: skip
            await sub.wait_for(
                lambda ms: any(
                    m["topic"] == REPLY and (m["json"] or {}).get("status") == "result" for m in ms
                ),
                what="audit.head result",
            )
    await sub.stop()
    births = [m["json"] for m in sub.on(f"{BASE}/status") if m["json"]["online"]]
    device_key = births[0]["device_key"]
    assert len(device_key) == 44
    heads = [m["json"] for m in sub.on(f"{BASE}/events") if m["json"]["kind"] == "audit.head"]
    (reply,) = [m["json"] for m in sub.on(REPLY) if (m["json"] or {}).get("status") == "result"]
    assert reply["result"]["id"] == 4  # a read (audit.head) is counted, not audited itself
    kept = tmp_path / "heads.jsonl"
    kept.write_text("".join(json.dumps(h) + "\n" for h in [*heads, reply]))

    async def cli(*argv: str) -> tuple[int, dict[str, object]]:
        capsys.readouterr()
        status = await asyncio.to_thread(
            main, ["audit", "verify", "--store", str(db), "--json", *argv]
        )
        return status, json.loads(capsys.readouterr().out)

    status, out = await cli("--heads", str(kept), "--device-key", device_key)
    assert status == 0, out
    assert out["heads_checked"] == len(heads) + 1

    rewrite_from(db, 2)
    status, out = await cli()
    assert status == 0, out  # the chain alone cannot tell: it is self-consistent
    status, out = await cli("--heads", str(kept), "--device-key", device_key)
    assert status == 1
    problems = "\n".join(out["problems"])  # type: ignore[arg-type]
    assert "the log was rewritten" in problems

    # A forged head (signed by another key) is not taken as one of the rack's.
    forged = dict(heads[-1]["data"], hash="0" * 64)
    kept.write_text(json.dumps(forged) + "\n")
    status, out = await cli("--heads", str(kept), "--device-key", device_key)
    assert status == 1
    assert "does not verify with the device key" in "\n".join(out["problems"])  # type: ignore[arg-type]
