"""Outbox: seq assigned at commit, per boot; thinning per topic; events never dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.report.outbox import Outbox
from agent.store import Store


def add(outbox: Outbox, conn: sqlite3.Connection, category: str, topic: str) -> int:
    return outbox.insert(
        conn,
        category=category,
        topic=topic,
        qos=1,
        retain=False,
        make=lambda seq: b'{"seq":%d}' % seq,
    )


async def test_seq_is_per_boot_and_survives_reopen(tmp_path: Path) -> None:
    async with Store(tmp_path / "o.db") as store:
        first = Outbox(store, "boot-1", max_messages=100, telemetry_keep_every=4)
        await first.open()
        seqs = [
            await first.add(
                category="event", topic="t/events", qos=1, retain=False, make=lambda s: b"%d" % s
            )
            for _ in range(3)
        ]
        assert seqs == [1, 2, 3]
        # A failed transaction consumes no seq.
        with pytest.raises(RuntimeError):
            await first.store.transaction(
                lambda c: (add(first, c, "event", "t"), (_ for _ in ()).throw(RuntimeError()))
            )
        await first.reload()
        assert (
            await first.add(
                category="event", topic="t", qos=1, retain=False, make=lambda s: b"%d" % s
            )
            == 4
        )
    async with Store(tmp_path / "o.db") as store:
        same = Outbox(store, "boot-1", max_messages=100, telemetry_keep_every=4)
        await same.open()
        assert same.last_seq == 4
        new = Outbox(store, "boot-2", max_messages=100, telemetry_keep_every=4)
        await new.open()
        assert new.last_seq == 0
        assert new.stats().backlog == 4
        rows = await new.fetch(0, 10)
        assert [r.seq for r in rows] == [1, 2, 3, 4]
        await new.delete([rows[0].id, rows[2].id])
        assert [r.seq for r in await new.fetch(0, 10)] == [2, 4]


async def test_thinning_keeps_events_and_thins_each_device_evenly(tmp_path: Path) -> None:
    async with Store(tmp_path / "o.db") as store:
        outbox = Outbox(store, "b", max_messages=100, telemetry_keep_every=4)
        await outbox.open()

        def fill(conn: sqlite3.Connection) -> None:
            for index in range(400):
                add(outbox, conn, "telemetry", f"t/telemetry/dev{index % 2}")
                if index % 10 == 0:
                    add(outbox, conn, "event", "t/events")

        await store.transaction(fill)
        rows = await outbox.fetch(0, 10_000)
    stats = outbox.stats()
    assert len(rows) == stats.backlog <= 100
    assert stats.thinned == 440 - len(rows)
    assert [r.category for r in rows].count("event") == 40
    dev0 = sum(r.topic.endswith("dev0") for r in rows)
    dev1 = sum(r.topic.endswith("dev1") for r in rows)
    assert dev0 > 0
    assert abs(dev0 - dev1) <= 1
    assert not stats.over_bound


async def test_only_events_may_exceed_the_bound_and_say_so(tmp_path: Path) -> None:
    async with Store(tmp_path / "o.db") as store:
        outbox = Outbox(store, "b", max_messages=10, telemetry_keep_every=2)
        await outbox.open()
        await store.transaction(lambda c: [add(outbox, c, "audit", "t/events") for _ in range(15)])
        assert outbox.stats().backlog == 15
        assert outbox.stats().over_bound


def test_bad_bounds_are_config_errors(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    with pytest.raises(ConfigError) as err:
        Outbox(store, "b", max_messages=0, telemetry_keep_every=1)
    assert len(err.value.problems) == 2
