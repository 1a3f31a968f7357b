"""Benchmark of remote supervision against references measured in the same run.

1. Outbox replay: 50,000 messages committed to the outbox, then drained to a real
   Mosquitto at QoS 1 (deleted only after PUBACK), against ``mosquitto_pub -q 1 -l``
   publishing 50,000 lines of the same size to the same broker. Target: >= 0.75x.
2. Signed command round trip on loopback: publish -> ``accepted`` and -> ``result`` with
   a handler that does nothing (the action itself excluded). Target: p99 < 20 ms.

Run: ``make bench`` (pytest -m bench -s) or ``.venv/bin/python tests/bench/bench_mqtt.py``.
Prints ratios and percentiles; asserts nothing about time.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2]))

from agent.adapters.mqtt import BrokerSettings, connect  # noqa: E402
from agent.bus import Bus  # noqa: E402
from agent.report.envelope import (  # noqa: E402
    KeyEntry,
    Keyring,
    public_b64,
    public_key_from_b64,
    sign_command,
)
from agent.report.intake import Command  # noqa: E402
from agent.report.outbox import Outbox  # noqa: E402
from agent.report.reporter import Reporter  # noqa: E402
from agent.report.sender import Sender  # noqa: E402
from agent.report.topics import Topics  # noqa: E402
from agent.store import Store  # noqa: E402
from tests.integration.report.broker import Mosquitto, clients_present, mosquitto_path  # noqa: E402

MESSAGES = 50_000
PAYLOAD = b'{"boot_id":"00000000-0000-0000-0000-000000000000","seq":%06d,"kind":"bench"}'
ROUND_TRIPS = 300


async def outbox_rate(broker: Mosquitto, folder: Path) -> float:
    async with Store(folder / "bench.db") as store:
        outbox = Outbox(store, "bench", max_messages=10 * MESSAGES, telemetry_keep_every=4)
        await outbox.open()
        await store.transaction(
            lambda conn: [
                outbox.insert(
                    conn,
                    category="event",
                    topic="bench/outbox",
                    qos=1,
                    retain=False,
                    make=lambda seq: PAYLOAD % seq,
                )
                for _ in range(MESSAGES)
            ]
        )
        sender = Sender(outbox, window=20)
        settings = BrokerSettings(urls=(broker.url,), client_id="bench-outbox")
        async with connect(settings) as link:
            start = time.perf_counter()
            task = asyncio.create_task(sender.drain(link), name="bench.drain")
            while outbox.stats().backlog:
                outbox.changed.clear()
                await asyncio.sleep(0.005)
            elapsed = time.perf_counter() - start
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert sender.acknowledged >= MESSAGES
        return MESSAGES / elapsed


def mosquitto_pub_rate(broker: Mosquitto) -> float:
    lines = b"".join(PAYLOAD % i + b"\n" for i in range(MESSAGES))
    start = time.perf_counter()
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            "bench/pub",
            "-l",
        ],
        input=lines,
        check=True,
    )
    return MESSAGES / (time.perf_counter() - start)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def command_round_trips(broker: Mosquitto, folder: Path) -> tuple[list[float], list[float]]:
    key = Ed25519PrivateKey.generate()
    ring = Keyring([KeyEntry("bench", "admin", public_key_from_b64("k", public_b64(key)))])

    async def noop(_command: Command) -> None:
        return None

    settings = BrokerSettings(urls=(broker.url,), client_id="bench-agent")
    topics = Topics("cleanroom/v1", "bench", "rack-b")
    accepted: list[float] = []
    results: list[float] = []
    async with (
        Store(folder / "rtt.db") as store,
        Reporter(
            store,
            Bus(),
            settings,
            rack_id="rack-b",
            site="bench",
            boot_id="b",
            version="b",
            config_digest="b",
            keyring=ring,
            handlers={"bench.noop": noop},
        ) as reporter,
    ):
        await reporter.wait_connected()
        client = BrokerSettings(urls=(broker.url,), client_id="bench-ars")
        async with connect(client) as link:
            await link.subscribe("bench/replies", qos=1)
            messages = link.messages()
            for index in range(ROUND_TRIPS + 20):
                now = int(time.time())
                env = sign_command(
                    key,
                    key_id="bench",
                    verb="bench.noop",
                    args={},
                    rack="rack-b",
                    issued_at=now,
                    expires_at=now + 60,
                )
                payload = msgspec.json.encode(env)
                start = time.perf_counter()
                await link.publish(
                    topics.command("bench.noop"),
                    payload,
                    qos=1,
                    response_topic="bench/replies",
                    correlation=b"%d" % index,
                )
                got_accept = got_result = 0.0
                while not got_result:
                    message = await anext(messages)
                    status = msgspec.json.decode(message.payload)["status"]
                    if status == "accepted":
                        got_accept = time.perf_counter() - start
                    else:
                        got_result = time.perf_counter() - start
                if index >= 20:  # warm-up excluded
                    accepted.append(got_accept * 1000)
                    results.append(got_result * 1000)
    return accepted, results


async def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        # Mosquitto leaves Nagle on for its clients by default: a lone reply then waits
        # for the peer's delayed ACK (~40 ms). An ARS broker serving commands sets this.
        async with Mosquitto(extra_config=["set_tcp_nodelay true"]) as broker:
            reference = await asyncio.to_thread(mosquitto_pub_rate, broker)
            ours = await outbox_rate(broker, Path(tmp))
            reference_again = await asyncio.to_thread(mosquitto_pub_rate, broker)
            accepted, results = await command_round_trips(broker, Path(tmp))
    reference = max(reference, reference_again)
    lines = [
        f"outbox replay, {MESSAGES} messages at QoS 1: {ours:,.0f} msg/s",
        f"mosquitto_pub -q 1 -l, same broker:       {reference:,.0f} msg/s (best of 2)",
        f"ratio: {ours / reference:.2f}x (target >= 0.75x)",
        f"signed command -> accepted: p50 {statistics.median(accepted):.2f} ms, "
        f"p99 {percentile(accepted, 0.99):.2f} ms",
        f"signed command -> result:   p50 {statistics.median(results):.2f} ms, "
        f"p99 {percentile(results, 0.99):.2f} ms (target p99 < 20 ms), {len(results)} runs",
    ]
    return "\n".join(lines)


@pytest.mark.bench
async def test_bench_mqtt() -> None:
    if mosquitto_path() is None or not clients_present():
        pytest.skip(
            "mosquitto and mosquitto-clients are needed: apt-get install mosquitto "
            "mosquitto-clients"
        )
    print("\n" + await run())


if __name__ == "__main__":
    print(asyncio.run(run()))
