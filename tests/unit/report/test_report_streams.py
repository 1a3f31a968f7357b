"""Sequence numbers per stream: a supervisor following status and events (as
`cleanroom watch` does) sees no gap on a healthy rack however much telemetry flows, sees
a real loss, and takes a re-sent message as a duplicate, by (boot_id, seq)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from agent.bus import Event
from agent.report.board import Board
from agent.report.outbox import Outbox
from agent.report.recorder import Recorder
from agent.report.topics import Topics
from agent.store import Store

TOPICS = Topics("cleanroom/v1", "chu", "rack-1")


async def committed(tmp_path: Path, boot: str, events: list[Event]) -> list[tuple[str, bytes]]:
    async with Store(tmp_path / "s.db") as store:
        outbox = Outbox(store, boot, max_messages=10_000, telemetry_keep_every=4)
        await outbox.open()
        await Recorder(outbox, TOPICS).record_events(events)
        rows = await outbox.fetch(0, 10_000)
        # Only this boot's rows: an earlier boot's unsent tail stays in the outbox.
        return [(r.topic, r.payload) for r in rows if json.loads(r.payload)["boot_id"] == boot]


def mixed(count: int) -> list[Event]:
    out = []
    for index in range(count):
        out.append(Event(kind="telemetry.batch", source="pdu-a", category="telemetry", data={}))
        out.append(Event(kind="telemetry.batch", source="ups", category="telemetry", data={}))
        if index % 5 == 0:
            out.append(Event(kind="test.tick", source="t", data={"i": index}))
    return out


async def test_each_stream_numbers_itself_and_watch_sees_no_false_gap(tmp_path: Path) -> None:
    rows = await committed(tmp_path, "boot-1", mixed(100))
    by_topic: dict[str, list[int]] = {}
    for topic, payload in rows:
        by_topic.setdefault(topic, []).append(json.loads(payload)["seq"])
    assert by_topic[TOPICS.events] == list(range(1, 21))
    assert by_topic[TOPICS.telemetry("pdu-a")] == list(range(1, 101))
    assert by_topic[TOPICS.telemetry("ups")] == list(range(1, 101))

    board = Board("cleanroom/v1")
    for topic, payload in rows:
        board.update(topic, payload)  # telemetry is not the board's: ignored
    (row,) = board.racks.values()
    assert (row.gaps, row.duplicates, row.last_seq) == (0, 0, 20)


async def test_a_lost_event_is_a_gap_and_a_resent_one_a_duplicate(tmp_path: Path) -> None:
    old = await committed(tmp_path, "boot-1", [Event(kind="a", source="t")] * 5)
    new = await committed(tmp_path, "boot-2", [Event(kind="b", source="t")] * 3)
    board = Board("cleanroom/v1")
    # boot-1's 1, 2, (3 lost), 4; boot-2 starts; boot-1's 4 and 5 re-sent after the
    # crash, interleaved with boot-2's stream.
    for topic, payload in [old[0], old[1], old[3], new[0], old[3], old[4], new[1], new[2]]:
        assert board.update(topic, payload)
    (row,) = board.racks.values()
    assert row.gaps == 1
    assert row.duplicates == 1
    assert (row.boot_id, row.last_seq) == ("boot-2", 3)


async def test_the_outbox_keeps_each_streams_counter_across_a_restart(tmp_path: Path) -> None:
    await committed(tmp_path, "boot-1", mixed(10))
    async with Store(tmp_path / "s.db") as store:
        again = Outbox(store, "boot-1", max_messages=100, telemetry_keep_every=4)
        await again.open()
        assert again.last_seq == 2
        assert again.seq_of(TOPICS.telemetry("ups")) == 10
        assert again.committed == 22

        def one(conn: sqlite3.Connection) -> int:
            return again.insert(
                conn, category="telemetry", topic=TOPICS.telemetry("ups"), qos=1,
                retain=False, make=lambda s: b"%d" % s,
            )  # fmt: skip

        assert await store.transaction(one) == 11
