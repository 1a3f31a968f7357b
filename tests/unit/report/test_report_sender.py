"""Sender: the window, prefix-only deletion under out-of-order acknowledgements, refused
messages, a silent broker; and the adapter pieces it relies on (packet encoding, packet
identifiers kept clear of the stream's).

Mosquitto always acknowledges in order and never goes silent on a live connection, so
those cases use `AckingLink`, a stand-in for the link whose acknowledgements the test
hands out; everything the real link does is covered in
tests/integration/report/test_report_replay.py against a real broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import pytest

from agent.adapters.mqtt import (
    AckCallback,
    BrokerSettings,
    BrokerURL,
    Frame,
    Link,
    LinkDownError,
    _make_client,
    _StreamClient,
    _varint,
    encode_publish,
)
from agent.report.outbox import Outbox
from agent.report.sender import Sender
from agent.store import Store


class AckingLink:
    """Records what the sender streams; the test acknowledges it at will."""

    def __init__(self, room: int = 1000) -> None:
        self.url = BrokerURL("mqtt://fake", "fake", 1883, False)
        self.room = room
        self.sent: list[int] = []
        self.frames: list[Frame] = []
        self.on_acks: AckCallback | None = None
        self.changed = asyncio.Event()

    def open_stream(self, on_acks: AckCallback) -> None:
        self.on_acks = on_acks

    def stream_room(self) -> int:
        return self.room

    def stream_send(self, tokens: Sequence[int], frames: Sequence[Frame]) -> None:
        self.sent += tokens
        self.frames += frames
        self.room -= len(tokens)  # all QoS 1 here, like the real link's budget
        self.changed.set()

    def ack(self, tokens: list[int], refused: list[tuple[int, int]] = []) -> None:  # noqa: B006
        assert self.on_acks is not None
        self.room += len(tokens)
        self.on_acks(tokens, refused)

    async def wait_sent(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.sent) < count:
                self.changed.clear()
                await self.changed.wait()


async def backlog(store: Store, count: int) -> Outbox:
    outbox = Outbox(store, "boot", max_messages=1000, telemetry_keep_every=4)
    await outbox.open()
    for _ in range(count):
        await outbox.add(
            category="event",
            topic="t/events",
            qos=1,
            retain=False,
            make=lambda seq: b'{"seq":%d}' % seq,
        )
    return outbox


async def rows_left(store: Store) -> list[int]:
    rows = await store.call(lambda c: c.execute("SELECT id FROM outbox ORDER BY id").fetchall())
    return [int(row[0]) for row in rows]


async def test_window_and_prefix_deletion(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.db") as store:
        outbox = await backlog(store, 10)
        ids = await rows_left(store)
        sender = Sender(outbox, window=4, flush_interval=3600)  # flushed by hand below
        link = AckingLink()
        drain = asyncio.create_task(sender.drain(cast(Link, link)))
        await link.wait_sent(4)
        await asyncio.sleep(0.05)  # give it every chance to overrun the window
        assert link.sent == ids[:4]
        # The 2nd and 3rd are acknowledged, the 1st is not: nothing may be deleted yet,
        # and the window still spans from the 1st.
        link.ack([ids[1], ids[2]])
        await sender.flush()
        assert await rows_left(store) == ids
        await asyncio.sleep(0.05)
        assert link.sent == ids[:4]
        # The 1st arrives: the prefix up to the 3rd goes, three more are sent.
        link.ack([ids[0]])
        await sender.flush()
        assert await rows_left(store) == ids[3:]
        await link.wait_sent(7)
        assert link.sent == ids[:7]
        link.ack(ids[3:7])
        await link.wait_sent(10)
        link.ack(ids[7:])
        await sender.flush()
        assert await rows_left(store) == []
        assert outbox.stats().backlog == 0
        assert (sender.published, sender.acknowledged) == (10, 10)
        drain.cancel()
        await asyncio.gather(drain, return_exceptions=True)


async def test_link_room_limits_the_window(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.db") as store:
        outbox = await backlog(store, 5)
        sender = Sender(outbox, window=20)
        link = AckingLink(room=2)  # the broker's Receive Maximum, say
        drain = asyncio.create_task(sender.drain(cast(Link, link)))
        await link.wait_sent(2)
        await asyncio.sleep(0.05)
        assert len(link.sent) == 2
        link.room += 3
        link.ack([])  # room grew: one of paho's own publishes was acknowledged
        await link.wait_sent(5)
        assert link.sent == await rows_left(store)
        drain.cancel()
        await asyncio.gather(drain, return_exceptions=True)


async def test_refused_message_is_counted_logged_and_not_resent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with Store(tmp_path / "s.db") as store:
        outbox = await backlog(store, 2)
        ids = await rows_left(store)
        sender = Sender(outbox, window=20)
        link = AckingLink()
        drain = asyncio.create_task(sender.drain(cast(Link, link)))
        await link.wait_sent(2)
        with caplog.at_level(logging.WARNING, logger="agent.report.sender"):
            link.ack(ids, refused=[(ids[0], 0x87)])
        await sender.flush()
        assert await rows_left(store) == []
        assert sender.refused == 1
        assert f"refused outbox row {ids[0]} with reason code 0x87" in caplog.text
        drain.cancel()
        await asyncio.gather(drain, return_exceptions=True)


async def test_silent_broker_takes_the_link_down(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.db") as store:
        outbox = await backlog(store, 3)
        sender = Sender(outbox, window=2, ack_timeout=0.2)
        with pytest.raises(ExceptionGroup) as caught:
            await sender.drain(cast(Link, AckingLink()))
        assert caught.group_contains(LinkDownError, match="2 publishes unacknowledged")
        assert len(await rows_left(store)) == 3


def test_remaining_length_encoding() -> None:
    # The boundary values of MQTT 5.0 section 1.5.5's table.
    assert _varint(0) == b"\x00"
    assert _varint(127) == b"\x7f"
    assert _varint(128) == b"\x80\x01"
    assert _varint(16_383) == b"\xff\x7f"
    assert _varint(16_384) == b"\x80\x80\x01"
    assert _varint(2_097_151) == b"\xff\xff\x7f"
    assert _varint(2_097_152) == b"\x80\x80\x80\x01"
    assert _varint(268_435_455) == b"\xff\xff\xff\x7f"


def test_publish_frame_layout() -> None:
    head, tail, qos = encode_publish("a/b", b"xyz", 1, True)
    # PUBLISH, QoS 1, retain; remaining length 2+3 (topic) + 2 (id) + 1 (props) + 3.
    assert head == b"\x33\x0b\x00\x03a/b"
    assert tail == b"\x00xyz"
    assert qos == 1
    head, tail, qos = encode_publish("a", b"", 0, False)
    assert head == b"\x30\x04\x00\x01a"  # no packet identifier at QoS 0
    assert (tail, qos) == (b"\x00", 0)


async def test_paho_never_reuses_an_identifier_the_stream_holds() -> None:
    client = _make_client(
        BrokerSettings(urls=("mqtt://127.0.0.1:1",), client_id="t"),
        BrokerURL("mqtt://127.0.0.1:1", "127.0.0.1", 1, False),
        None,
    )
    paho_client = client._client
    assert isinstance(paho_client, _StreamClient)
    paho_client.stream_acks.update({65_535: 1, 1: 2, 3: 3})
    paho_client._last_mid = 65_534
    assert [paho_client._mid_generate() for _ in range(3)] == [2, 4, 5]
