"""The outbox stream's batch lane (agent/adapters/mqtt.py `_StreamClient`) against a real
Mosquitto, checked by an independent subscriber (``mosquitto_sub``): packets it encodes
by hand arrive intact, the broker's Receive Maximum is obeyed with paho's own publishes
sharing it, packet identifiers wrap without collisions, and a refused PUBACK is reported
and does not stall the rows behind it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.adapters.mqtt import Frame, Link, connect, encode_publish
from agent.report.outbox import Outbox
from agent.report.sender import Sender
from agent.sim.testing import free_port
from agent.store import Store
from tests.integration.report.broker import Mosquitto, require_broker
from tests.integration.report.report_helpers import Subscriber, broker_settings
from tests.integration.report.test_report_tls import make_pki


def fixed_payload(payload: bytes, _seq: int) -> bytes:
    return payload


async def fill(outbox: Outbox, rows: list[tuple[str, int, bool, bytes]]) -> None:
    def insert_all(conn: sqlite3.Connection) -> None:
        for topic, qos, retain, payload in rows:
            outbox.insert(
                conn,
                category="event",
                topic=topic,
                qos=qos,
                retain=retain,
                make=functools.partial(fixed_payload, payload),
            )

    await outbox.store.transaction(insert_all)


async def drain_until_empty(sender: Sender, link: Link) -> None:
    """Run the sender until every row is acknowledged and deleted."""
    task = asyncio.create_task(sender.drain(link), name="test.drain")
    try:
        async with asyncio.timeout(30):
            while sender.outbox.stats().backlog:
                if task.done():
                    await task  # raises what ended it
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def send_and_collect(
    broker: Mosquitto, sizes: list[int], topics: list[str], *, via_sub: bool
) -> tuple[list[tuple[str, int, str]], list[tuple[str, int, str]]]:
    """Stream one frame per size; return (expected, received) as (topic, qos, payload).

    The receiver is ``mosquitto_sub`` (whose JSON lines the test helper reads up to
    64 KiB) or, for larger payloads, a second connection through paho's decoder; both
    are independent of the hand-written encoder under test."""
    expected: list[tuple[str, int, str]] = []
    tokens: list[int] = []
    frames: list[Frame] = []
    for index, size in enumerate(sizes):
        topic = topics[index % len(topics)]
        payload = (f"{index:04d}" * (size // 4 + 1))[:size]
        qos = index % 2
        tokens.append(index)
        frames.append(encode_publish(topic, payload.encode(), qos, False))
        expected.append((topic, qos, payload))
    async with contextlib.AsyncExitStack() as stack:
        sub = Subscriber(broker.port, ["t/#"])
        reader = None
        if via_sub:
            await sub.start()
            await sub.ready("t/probe")
        else:
            reader = await stack.enter_async_context(connect(broker_settings(broker.url)))
            await reader.subscribe("t/#", qos=1)
        link = await stack.enter_async_context(connect(broker_settings(broker.url)))
        acked: list[int] = []
        link.open_stream(lambda done, _refused: acked.extend(done))
        # Within the broker's budget, in two writes, the second behind the first.
        link.stream_send(tokens[:5], frames[:5])
        link.stream_send(tokens[5:], frames[5:])
        received: list[tuple[str, int, str]] = []
        if reader is None:
            await sub.wait_for(lambda ms: len(ms) > len(sizes), what="every frame")
            await sub.stop()
            # mosquitto_sub writes an empty payload as null.
            received = [
                (m["topic"], m["qos"], m["payload"] or "")
                for m in sub.messages
                if m["topic"] != "t/probe"
            ]
        else:
            async with asyncio.timeout(20):
                async for message in reader.messages():
                    received.append((message.topic, message.qos, message.payload.decode()))
                    if len(received) == len(sizes):
                        break
        while len(acked) < len(tokens):
            await asyncio.sleep(0.01)
        assert sorted(acked) == tokens
    return expected, received


async def test_hand_encoded_packets_arrive_intact(mosquitto: Mosquitto) -> None:
    # Payload lengths straddle the 1-, 2- and 3-byte remaining-length fields.
    sizes = [0, 1, 100, 123, 124, 125, 16_370, 16_384, 40_000]
    topics = ["t/a", "t/é/ünïcode", "t/" + "x" * 300]
    expected, received = await send_and_collect(mosquitto, sizes, topics, via_sub=True)
    assert received == expected


async def test_large_packets_arrive_intact(mosquitto: Mosquitto) -> None:
    # The 4-byte remaining-length field, and writes larger than the socket takes at once.
    sizes = [2_097_140, 2_097_152, 10, 3_000_000]
    expected, received = await send_and_collect(mosquitto, sizes, ["t/big"], via_sub=False)
    assert received == expected


async def test_a_burst_of_acks_is_settled_without_further_traffic(mosquitto: Mosquitto) -> None:
    # The PUBACKs of one write come back in one or a few segments; every one of them is
    # settled from the read buffer, not left there until the next keepalive (60 s).
    async with connect(broker_settings(mosquitto.url, keepalive=60.0)) as link:
        acked: list[int] = []
        all_acked = asyncio.Event()

        def on_acks(tokens: list[int], _refused: list[tuple[int, int]]) -> None:
            acked.extend(tokens)
            if len(acked) == 20:
                all_acked.set()

        link.open_stream(on_acks)
        frame = encode_publish("t/burst", b"{}", 1, False)
        link.stream_send(list(range(20)), [frame] * 20)
        async with asyncio.timeout(20):
            await all_acked.wait()
    assert acked == list(range(20))


async def test_retain_flag_is_kept(mosquitto: Mosquitto) -> None:
    async with connect(broker_settings(mosquitto.url)) as link:
        done = asyncio.Event()
        link.open_stream(lambda tokens, _refused: done.set() if tokens else None)
        link.stream_send([1], [encode_publish("r/status", b'{"online":true}', 1, True)])
        await done.wait()
    # A subscriber arriving afterwards gets it as a retained message.
    sub = Subscriber(mosquitto.port, ["r/status"])
    await sub.start()
    await sub.wait_for(lambda ms: len(ms) == 1, what="the retained message")
    await sub.stop()
    assert sub.messages[0]["retain"] == 1
    assert sub.messages[0]["payload"] == '{"online":true}'


def test_encode_refuses_what_paho_would_refuse() -> None:
    for topic in ("", "a/+/b", "a/#"):
        with pytest.raises(ValueError, match="not a publishable MQTT topic"):
            encode_publish(topic, b"x", 1, False)
    with pytest.raises(ValueError, match="QoS 0 or 1"):
        encode_publish("a", b"x", 2, False)


async def test_receive_maximum_shared_with_control_publishes(tmp_path: Path) -> None:
    """A broker allowing 3 publishes in flight; the sender asks for 50, and the agent's
    own publishes (status, replies) go out through paho meanwhile."""
    require_broker()
    total = 3000
    async with (
        Mosquitto(extra_config=["max_inflight_messages 3"]) as broker,
        Store(tmp_path / "s.db") as store,
    ):
        sub = Subscriber(broker.port, ["replay/#"])
        await sub.start()
        await sub.ready("replay/probe")
        outbox = Outbox(store, "boot", max_messages=10 * total, telemetry_keep_every=4)
        await outbox.open()
        await fill(outbox, [("replay/stream", 1, False, b'{"i":%d}' % i) for i in range(total)])
        sender = Sender(outbox, window=50, batch=200)
        async with connect(broker_settings(broker.url, max_inflight=50)) as link:
            assert link.stream_room() == 3  # clamped to the broker's Receive Maximum
            rooms: list[int] = []
            send = link.stream_send

            def checked_send(tokens: Sequence[int], frames: Sequence[Frame]) -> None:
                send(tokens, frames)
                rooms.append(link.stream_room())

            link.stream_send = checked_send  # type: ignore[method-assign]
            drain = asyncio.create_task(drain_until_empty(sender, link))
            for index in range(30):
                # Each returns only after its own PUBACK, in a budget the stream fills.
                await link.publish("replay/control", b'{"c":%d}' % index, qos=1)
            await drain
        await sub.wait_for(lambda ms: len(ms) > total + 30, what="stream and control")
        await sub.stop()
    assert rooms
    assert min(rooms) >= 0  # never more in flight than the broker allows
    stream = [m["payload"] for m in sub.messages if m["topic"] == "replay/stream"]
    assert stream == [f'{{"i":{i}}}' for i in range(total)]
    control = [m["payload"] for m in sub.messages if m["topic"] == "replay/control"]
    assert control == [f'{{"c":{i}}}' for i in range(30)]


async def test_packet_identifiers_wrap_without_collision(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    total = 400
    sub = Subscriber(mosquitto.port, ["wrap/#"])
    await sub.start()
    await sub.ready("wrap/probe")
    async with Store(tmp_path / "s.db") as store:
        outbox = Outbox(store, "boot", max_messages=10 * total, telemetry_keep_every=4)
        await outbox.open()
        await fill(outbox, [("wrap/stream", 1, False, b"%d" % i) for i in range(total)])
        sender = Sender(outbox, window=20, batch=50)
        async with connect(broker_settings(mosquitto.url)) as link:
            # Start near the end of the 16-bit identifier space, with one of paho's own
            # publishes in flight across the wrap.
            link._paho._last_mid = 65_500
            drain = asyncio.create_task(drain_until_empty(sender, link))
            for index in range(40):
                await link.publish("wrap/control", b"c%d" % index, qos=1)
            await drain
            assert link._paho._last_mid < 65_500  # it did wrap
        left = await store.call(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0])
    await sub.wait_for(lambda ms: len(ms) > total + 40, what="stream and control")
    await sub.stop()
    assert left == 0
    assert [m["payload"] for m in sub.on("wrap/stream")] == [str(i) for i in range(total)]
    assert [m["payload"] for m in sub.on("wrap/control")] == [f"c{i}" for i in range(40)]


async def test_refused_message_is_reported_and_the_rest_flows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Mosquitto answers a publish its ACL denies with PUBACK reason 0x87."""
    require_broker()
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite ok/#\n", encoding="utf-8")
    async with (
        Mosquitto(extra_config=[f"acl_file {acl}"]) as broker,
        Store(tmp_path / "s.db") as store,
    ):
        sub = Subscriber(broker.port, ["ok/#"])
        await sub.start()
        await sub.ready("ok/probe")
        outbox = Outbox(store, "boot", max_messages=1000, telemetry_keep_every=4)
        await outbox.open()
        rows = [("ok/a", 1, False, b"1"), ("denied/x", 1, False, b"2"), ("ok/a", 1, False, b"3")]
        await fill(outbox, rows)
        sender = Sender(outbox, window=20)
        with caplog.at_level(logging.WARNING, logger="agent.report.sender"):
            async with connect(broker_settings(broker.url)) as link:
                await drain_until_empty(sender, link)
        await sub.wait_for(lambda ms: len(sub.on("ok/a")) == 2, what="the allowed rows")
        await sub.stop()
    assert [m["payload"] for m in sub.on("ok/a")] == ["1", "3"]
    assert sender.refused == 1
    assert "reason code 0x87" in caplog.text


async def test_stream_over_tls(tmp_path: Path) -> None:
    """TLS writes are partial and TLS reads are decrypted a record at a time: the lane's
    single large writes and buffered reads must still deliver every row, in order."""
    require_broker()
    pki = make_pki(tmp_path)
    config = [
        f"cafile {pki['ca']}",
        f"certfile {pki['server_cert']}",
        f"keyfile {pki['server_key']}",
    ]
    rows = [("tls/stream", 1, False, b"%d" % i) for i in range(2000)]
    rows.insert(1000, ("tls/stream", 1, False, b"big:" + b"x" * 3_000_000))
    async with (
        Mosquitto(port=free_port(), extra_config=config) as broker,
        Store(tmp_path / "s.db") as store,
    ):
        url = f"mqtts://localhost:{broker.port}"
        settings = broker_settings(url, ca_file=str(pki["ca"]))
        outbox = Outbox(store, "boot", max_messages=10_000, telemetry_keep_every=4)
        await outbox.open()
        await fill(outbox, rows)
        sender = Sender(outbox, window=20)
        async with connect(broker_settings(url, ca_file=str(pki["ca"]))) as reader:
            await reader.subscribe("tls/#", qos=1)
            async with connect(settings) as link:
                await drain_until_empty(sender, link)
            received: list[bytes] = []
            async with asyncio.timeout(30):
                async for message in reader.messages():
                    received.append(message.payload)
                    if len(received) == len(rows):
                        break
    assert received == [payload for _, _, _, payload in rows]
