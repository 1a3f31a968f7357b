"""Outages: the broker goes away while events keep coming, the agent is SIGKILLed
mid-drain, and a long outage fills the outbox past its bound."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from agent.bus import Bus
from agent.report.outbox import Outbox
from agent.report.recorder import Recorder
from agent.report.reporter import ReportSettings
from agent.report.topics import Topics
from agent.store import Store
from tests.integration.report.broker import Mosquitto, require_broker
from tests.integration.report.report_helpers import (
    BASE,
    RACK,
    SITE,
    Subscriber,
    agent_command,
    make_reporter,
)

EVENTS = f"{BASE}/events"


def stream_of(sub: Subscriber, boot_id: str) -> list[dict[str, Any]]:
    return [
        m["json"]
        for m in sub.on(EVENTS)
        if isinstance(m["json"], dict) and m["json"]["boot_id"] == boot_id
    ]


def assert_complete_in_order(stream: list[dict[str, Any]], count: int) -> None:
    """Every seq 1..count arrived; first arrivals are in order; a duplicate is identical."""
    first: dict[int, dict[str, Any]] = {}
    order: list[int] = []
    for message in stream:
        seq = message["seq"]
        if seq in first:
            assert message == first[seq], f"seq {seq} arrived twice with different content"
            continue
        first[seq] = message
        order.append(seq)
    assert order == list(range(1, count + 1))


async def test_broker_restart_while_events_keep_coming(tmp_path: Path) -> None:
    require_broker()
    total = 600
    # The supervisor keeps a persistent session, and the broker persists it across its
    # restart, so what the agent replays while the supervisor reconnects waits for it.
    async with Mosquitto(persistence=True) as broker:
        sub = Subscriber(broker.port, [EVENTS], session="ars-supervisor")
        await sub.start()
        await sub.ready(EVENTS)
        bus = Bus()
        async with (
            Store(tmp_path / "s.db") as store,
            make_reporter(
                store,
                broker.url,
                bus=bus,
                boot_id="boot-outage",
            ) as reporter,
        ):
            for index in range(total):
                bus.emit("test.tick", "test", index=index)
                if index == 150:
                    await sub.wait_for(lambda ms: len(ms) > 50, what="first events")
                    await broker.stop()
                if index == 450:
                    assert reporter.outbox.stats().backlog > 0  # queued during the outage
                    await broker.start()
                await asyncio.sleep(0.002)
            await sub.wait_for(
                lambda ms: (
                    len(
                        {
                            m["json"]["seq"]
                            for m in ms
                            if isinstance(m["json"], dict)
                            and m["json"].get("boot_id") == "boot-outage"
                        }
                    )
                    >= total
                ),
                within=30,
                what=f"all {total} events",
            )
            assert reporter.connects >= 2
        await sub.stop()
    assert_complete_in_order(stream_of(sub, "boot-outage"), total)


async def test_sigkill_mid_drain_loses_nothing(mosquitto: Mosquitto, tmp_path: Path) -> None:
    total = 3000
    db = tmp_path / "s.db"
    # The first boot committed a backlog (a long outage) and died.
    async with Store(db) as store:
        outbox = Outbox(store, "boot-1", max_messages=100_000, telemetry_keep_every=4)
        await outbox.open()
        recorder = Recorder(outbox, Topics("cleanroom/v1", SITE, RACK))
        await store.transaction(
            lambda conn: [
                recorder.event_in(
                    conn,
                    kind="test.backlog",
                    source="test",
                    category="event",
                    data={"index": i},
                    ts=1.0,
                )
                for i in range(total)
            ]
        )
    sub = Subscriber(mosquitto.port, [EVENTS])
    await sub.start()
    await sub.ready(EVENTS)
    # Boot 2 starts draining it: kill it with SIGKILL in the middle of the drain.
    proc = await asyncio.create_subprocess_exec(
        *agent_command(db, mosquitto.url, "boot-2", "--window", "1"), stdout=asyncio.subprocess.PIPE
    )
    try:
        await sub.wait_for(lambda ms: len(ms) > 300, what="the drain to start")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    killed_at = len(sub.on(EVENTS))
    async with Store(db) as store:
        left = await store.call(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0])
    if left == 0:
        pytest.fail(f"the drain finished before SIGKILL ({killed_at} received); raise `total`")
    # Boot 3 finishes the drain.
    proc = await asyncio.create_subprocess_exec(
        *agent_command(db, mosquitto.url, "boot-3"), stdout=asyncio.subprocess.PIPE
    )
    try:
        await sub.wait_for(
            lambda ms: len({m["json"]["seq"] for m in ms if isinstance(m["json"], dict)}) >= total,
            within=30,
            what=f"all {total} backlog events",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        await sub.stop()
    assert_complete_in_order(stream_of(sub, "boot-1"), total)
    async with Store(db) as store:
        left = await store.call(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0])
    assert left == 0


async def test_long_outage_thins_telemetry_keeps_events(tmp_path: Path) -> None:
    require_broker()
    bus = Bus()
    settings = ReportSettings(outbox_max_messages=300, telemetry_keep_every=4, status_interval=3600)
    # The supervisor's persistent session exists before the outage, so what the agent
    # replays when the broker is back waits for it (see the broker-restart test).
    broker = Mosquitto(persistence=True)
    await broker.start()
    sub = Subscriber(broker.port, [f"{BASE}/#"], session="ars-long")
    await sub.start()
    await sub.ready(f"{BASE}/probe")
    await broker.stop()
    try:
        async with (
            Store(tmp_path / "s.db") as store,
            make_reporter(
                store,
                broker.url,
                bus=bus,
                boot_id="boot-long",
                settings=settings,
            ) as reporter,
        ):
            # No broker for the "day": 1200 telemetry batches from 3 devices, 200 events.
            for index in range(1200):
                bus.emit("telemetry.batch", f"pdu{index % 3}", category="telemetry", i=index)
                if index % 6 == 0:
                    bus.emit("test.event", "test", index=index // 6)
                if index % 100 == 0:
                    await asyncio.sleep(0)
            while reporter.outbox.committed < 1400:
                reporter.outbox.changed.clear()
                await reporter.outbox.changed.wait()
            stats = reporter.outbox.stats()
            assert stats.backlog <= 300
            assert stats.thinned > 0
            assert stats.backlog + stats.thinned == 1400
            # The broker comes back: every event arrives, with what is left of the
            # telemetry, and the birth reports the thinning.
            await broker.start()
            await sub.wait_for(
                lambda ms: len([m for m in ms if m["topic"] == EVENTS]) >= 200, what="200 events"
            )
            await sub.wait_for(
                lambda ms: (
                    len([m for m in ms if "/telemetry/" in m["topic"]]) >= 1200 - stats.thinned
                ),
                what="the kept telemetry",
            )
    finally:
        await sub.stop()
        broker.close()
    async with Store(tmp_path / "s.db") as store:
        left = await store.call(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0])
    assert left == 0
    events = [m["json"] for m in sub.on(EVENTS) if isinstance(m["json"], dict)]
    assert [e["data"]["index"] for e in events] == list(range(200))
    telemetry = [m["json"] for m in sub.messages if "/telemetry/" in m["topic"]]
    assert len(telemetry) == 1200 - stats.thinned
    per_device = {
        d: len([t for t in telemetry if t["device"] == d]) for d in ("pdu0", "pdu1", "pdu2")
    }
    assert max(per_device.values()) - min(per_device.values()) <= 2  # thinned evenly
    # Each stream is numbered on its own: events 1..200 without a gap, each device's
    # telemetry increasing with gaps exactly where it was thinned.
    assert [e["seq"] for e in events] == list(range(1, 201))
    for device in ("pdu0", "pdu1", "pdu2"):
        seqs = [t["seq"] for t in telemetry if t["device"] == device]
        assert seqs == sorted(set(seqs))
        assert seqs[-1] <= 400
    assert (
        sum(len([t for t in telemetry if t["device"] == d]) for d in ("pdu0", "pdu1", "pdu2"))
        + stats.thinned
        == 1200
    )
    births = [
        m["json"] for m in sub.messages if m["topic"] == f"{BASE}/status" and m["json"]["online"]
    ]
    birth = births[0]
    assert birth["outbox"]["backlog"] == stats.backlog
    assert birth["outbox"]["thinned"] == stats.thinned
    assert birth["outbox"]["max_messages"] == 300
    assert birth["outbox"]["telemetry_keep_every"] == 4
