"""The board's side of the broker: one MQTT 5 connection (agent/adapters/mqtt.py) that
subscribes to every rack's status, events and telemetry and to the board's own reply
topic, and publishes the commands browsers signed.

The connection keeps its broker session (``clean_start`` false, a stable client id):
a board restarted within the session expiry receives the events it missed, queued by
the broker, on top of the retained statuses every subscriber gets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import NoReturn

import msgspec

from agent.adapters.mqtt import BrokerSettings, Link, LinkDownError, run_sessions
from agent.board.commands import BoardRefusal, Record
from agent.errors import ConfigError
from agent.report.payloads import Reply
from agent.report.topics import Topics, fleet_filters

log = logging.getLogger(__name__)


class Relay:
    def __init__(
        self,
        settings: BrokerSettings,
        prefix: str,
        *,
        on_message: Callable[[str, bytes], None],
        on_reply: Callable[[str, Reply], None],
    ) -> None:
        self.settings = settings
        self.prefix = prefix
        self.reply_topic = f"{prefix}/ars/board/{settings.client_id}/replies"
        self.on_message = on_message
        self.on_reply = on_reply
        self.link: Link | None = None
        self.connected = asyncio.Event()
        self.down_reason = "not connected yet"
        self.received = 0

    async def run(self) -> NoReturn:
        await run_sessions(self.settings, self._session, on_down=self._down)

    def _down(self, reason: str) -> None:
        self.down_reason = reason

    async def _session(self, link: Link) -> None:
        status_filter, events_filter = fleet_filters(self.prefix)
        await link.subscribe(status_filter, qos=1)
        await link.subscribe(events_filter, qos=1)
        await link.subscribe(f"{self.prefix}/+/+/telemetry/+", qos=0)
        await link.subscribe(self.reply_topic, qos=1)
        self.link = link
        self.connected.set()
        log.info("board: subscribed on %s", link.url.text)
        try:
            async for message in link.messages():
                self.received += 1
                if message.topic == self.reply_topic:
                    self._reply(message.correlation, message.payload)
                else:
                    self.on_message(message.topic, message.payload)
        finally:
            self.link = None
            self.connected.clear()

    def _reply(self, correlation: bytes | None, payload: bytes) -> None:
        try:
            reply = msgspec.json.decode(payload, type=Reply)
            record_id = (correlation or b"").decode("ascii")
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            log.warning("board: unreadable reply on %s: %s", self.reply_topic, exc)
            return
        self.on_reply(record_id, reply)

    async def send(self, record: Record) -> None:
        env = record.envelope
        try:
            topic = Topics(self.prefix, record.site, env.rack).command(env.verb)
        except ConfigError as exc:
            raise BoardRefusal("; ".join(exc.problems)) from None
        link = self.link
        if link is None:
            raise BoardRefusal(
                f"broker: not connected ({self.down_reason}); the command was not sent, "
                "sign it again once the board shows the broker connected"
            )
        try:
            await link.publish(
                topic,
                msgspec.json.encode(env),
                qos=1,
                response_topic=self.reply_topic,
                correlation=record.record_id.encode("ascii"),
            )
        except LinkDownError as exc:
            raise BoardRefusal(f"broker: {exc}; the command was not sent, sign it again") from None
