"""Helpers for the remote-supervision integration tests: an independent subscriber
(``mosquitto_sub``), an independent publisher (``mosquitto_pub``), keys, and a Reporter
wired to a real broker."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.adapters.mqtt import BrokerSettings
from agent.bus import Bus
from agent.report.envelope import KeyEntry, Keyring, public_b64, public_key_from_b64
from agent.report.reporter import Reporter
from agent.store import Store

PREFIX = "cleanroom/v1"
SITE = "chu-test"
RACK = "rack-1"
BASE = f"{PREFIX}/{SITE}/{RACK}"
AGENT_PROC = Path(__file__).with_name("agent_proc.py")


def broker_settings(url: str, **overrides: Any) -> BrokerSettings:
    values: dict[str, Any] = {
        "urls": (url,),
        "client_id": f"agent-{uuid.uuid4().hex[:8]}",
        "keepalive": 5.0,
        "backoff_min": 0.05,
        "backoff_max": 0.5,
        "connect_timeout": 5.0,
        "publish_timeout": 10.0,
    }
    values.update(overrides)
    return BrokerSettings(**values)


@dataclass
class Signer:
    key_id: str
    role: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    revoked: bool = False

    def entry(self) -> KeyEntry:
        return KeyEntry(
            self.key_id,
            self.role,
            public_key_from_b64(self.key_id, public_b64(self.private)),
            self.revoked,
        )

    def as_config(self) -> dict[str, Any]:
        return {
            "id": self.key_id,
            "role": self.role,
            "public_key": public_b64(self.private),
            "revoked": self.revoked,
        }


def make_reporter(store: Store, url: str, *, bus: Bus | None = None, **overrides: Any) -> Reporter:
    """A Reporter of rack RACK at SITE, on the broker at ``url``, with no keys and no
    handlers; each test overrides what it is about."""
    values: dict[str, Any] = {
        "rack_id": RACK,
        "site": SITE,
        "boot_id": "boot-test",
        "version": "t",
        "config_digest": "d",
        "keyring": Keyring([]),
        "handlers": {},
    }
    values.update(overrides)
    return Reporter(store, bus or Bus(), broker_settings(url), **values)


def keyring(keys: Sequence[Signer]) -> Keyring:
    return Keyring([key.entry() for key in keys])


class Subscriber:
    """``mosquitto_sub -F %j``: every message as a JSON line, parsed."""

    def __init__(
        self, port: int, topics: Sequence[str], *, session: str | None = None, qos: int = 1
    ) -> None:
        self.port = port
        self.topics = list(topics)
        self.session = session
        self.qos = qos
        self.messages: list[dict[str, Any]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        args = [
            "mosquitto_sub",
            "-V",
            "mqttv5",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-q",
            str(self.qos),
            "-F",
            "%j",
        ]
        if self.session:
            # A persistent session: the broker queues for us while we are away.
            args += ["-i", self.session, "-c", "-x", "3600"]
        for topic in self.topics:
            args += ["-t", topic]
        self._proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        self._reader = asyncio.create_task(self._read(), name="test.mosquitto_sub")

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            record = json.loads(line)
            try:
                record["json"] = json.loads(record["payload"])
            except (ValueError, TypeError):
                record["json"] = None
            self.messages.append(record)
            self._changed.set()

    async def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        within: float = 20.0,
        what: str = "",
    ) -> None:
        try:
            async with asyncio.timeout(within):
                while not predicate(self.messages):
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            tail = [(m["topic"], m["payload"][:200]) for m in self.messages[-5:]]
            raise AssertionError(
                f"mosquitto_sub: {what or predicate} not seen within "
                f"{within} s; {len(self.messages)} messages, last: {tail}"
            ) from None

    async def ready(self, probe_topic: str) -> None:
        """Publish probes until this subscriber sees one: it is subscribed from then on."""
        marker = uuid.uuid4().hex
        async with asyncio.timeout(20):
            while True:
                await publish(self.port, probe_topic, marker)
                try:
                    async with asyncio.timeout(0.5):
                        while not any(m["payload"] == marker for m in self.messages):
                            self._changed.clear()
                            await self._changed.wait()
                    return
                except TimeoutError:
                    continue

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["topic"] == topic]

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()
        if self._reader is not None:
            await self._reader


async def publish(
    port: int,
    topic: str,
    payload: str | bytes,
    *,
    retain: bool = False,
    response_topic: str | None = None,
    correlation: str | None = None,
    qos: int = 1,
) -> None:
    """One message through ``mosquitto_pub`` (an independent MQTT 5 client)."""
    args = [
        "mosquitto_pub",
        "-V",
        "mqttv5",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-q",
        str(qos),
        "-t",
        topic,
        "-s",
    ]
    if retain:
        args.append("-r")
    if response_topic:
        args += ["-D", "publish", "response-topic", response_topic]
    if correlation:
        args += ["-D", "publish", "correlation-data", correlation]
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    data = payload.encode() if isinstance(payload, str) else payload
    _, err = await proc.communicate(data)
    if proc.returncode != 0:
        raise AssertionError(f"mosquitto_pub failed ({proc.returncode}): {err.decode()}")


def agent_command(store: Path, url: str, boot_id: str, *extra: str) -> list[str]:
    """argv of the agent stand-in process (agent_proc.py) used for SIGKILL tests."""
    return [
        sys.executable,
        str(AGENT_PROC),
        "--store",
        str(store),
        "--url",
        url,
        "--boot",
        boot_id,
        "--site",
        SITE,
        "--rack",
        RACK,
        *extra,
    ]


def now() -> int:
    return int(time.time())
