"""The board as one long-lived resource: ``async with BoardService(settings) as board:``
runs the broker relay, the push hub and the web server in one TaskGroup (named tasks),
and holds the fleet model and the command records they share."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from agent.adapters.mqtt import BrokerSettings
from agent.board import verbs
from agent.board.commands import BoardRefusal, Commands, decode_approval, decode_envelope
from agent.board.hub import Client, Hub
from agent.board.layout import RackLayout
from agent.board.model import FleetModel, RackKey
from agent.board.relay import Relay
from agent.errors import ConfigError
from agent.report.payloads import Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BoardSettings:
    broker: BrokerSettings
    prefix: str = "cleanroom/v1"
    host: str = "127.0.0.1"
    port: int = 8080
    token: str = ""
    basic_user: str = ""
    basic_password: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    layouts: dict[RackKey, RackLayout] = field(default_factory=dict)

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def needs_auth(self) -> bool:
        return not self.loopback or bool(self.token or self.basic_user)

    def check(self) -> None:
        """Refuse an exposed board before it opens a socket."""
        problems = []
        if not self.loopback and not (self.token or self.basic_user):
            problems.append(
                f"--listen {self.host}:{self.port}: not a loopback address, so the board "
                "needs a login; set CLEANROOM_BOARD_TOKEN or --basic-user with "
                "CLEANROOM_BOARD_PASSWORD (or listen on 127.0.0.1)"
            )
        if not self.loopback and not (self.tls_cert and self.tls_key):
            problems.append(
                f"--listen {self.host}:{self.port}: browsers sign with WebCrypto only on "
                "HTTPS or loopback pages, and a login must not cross the network in clear; "
                "give --tls-cert and --tls-key (or listen on 127.0.0.1 behind a TLS proxy)"
            )
        if self.basic_user and not self.basic_password:
            problems.append(
                f"--basic-user {self.basic_user}: no password; set CLEANROOM_BOARD_PASSWORD"
            )
        if problems:
            raise ConfigError(problems)


class BoardService:
    def __init__(self, settings: BoardSettings) -> None:
        settings.check()
        self.settings = settings
        self.model = FleetModel(settings.prefix, settings.layouts)
        self.commands = Commands()
        self.hub = Hub(self.model)
        self.relay = Relay(
            settings.broker, settings.prefix, on_message=self._message, on_reply=self._reply
        )
        self.url = ""
        self._tasks: list[asyncio.Task[Any]] = []
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        from agent.board.server import serve  # noqa: PLC0415 - aiohttp only when serving

        await self._stack.__aenter__()
        try:
            tg = await self._stack.enter_async_context(asyncio.TaskGroup())
            self._tasks = [
                tg.create_task(self.relay.run(), name="board.relay"),
                tg.create_task(self.hub.run(self.commands), name="board.hub"),
            ]
            self.url = await self._stack.enter_async_context(serve(self))
        except BaseException:
            await self._stop()
            raise
        log.info("board: serving %s", self.url)
        return self

    async def _stop(self) -> None:
        for task in self._tasks:  # they run forever: stopping is cancelling them
            task.cancel()
        await self._stack.__aexit__(None, None, None)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    # --- from the broker -----------------------------------------------------------------

    def _message(self, topic: str, payload: bytes) -> None:
        key = self.model.update(topic, payload)
        if key is not None:
            self.hub.changed(key)

    def _reply(self, record_id: str, reply: Reply) -> None:
        if self.commands.reply(record_id, reply) is not None:
            self.hub.commands_changed()

    # --- for the web server --------------------------------------------------------------

    def join(self, rack: RackKey | None) -> Client:
        return self.hub.join(rack)

    def leave(self, client: Client) -> None:
        self.hub.leave(client)

    def forms(self) -> list[dict[str, Any]]:
        return verbs.forms()

    def health(self) -> dict[str, Any]:
        return {
            "broker": self.relay.link is not None,
            "broker_note": "" if self.relay.link else self.relay.down_reason,
            "racks": len(self.model.rows.racks),
            "received": self.relay.received,
        }

    async def submit(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("site"), str):
            raise BoardRefusal('request: send {"site": ..., "envelope": {...}} as JSON')
        env = decode_envelope(body.get("envelope"))
        site = body["site"]
        if (site, env.rack) not in self.model.rows.racks:
            raise BoardRefusal(
                f"rack {env.rack!r} at site {site!r} has never reported to this board; "
                "pick a rack from the fleet view"
            )
        record = self.commands.add(site, env)
        if record.state == "sending":
            await self._send(record)
        self.hub.commands_changed()
        return record.as_json()

    async def approve(self, record_id: str, body: Any) -> dict[str, Any]:
        approval = decode_approval(body.get("approval") if isinstance(body, dict) else None)
        record = self.commands.approve(record_id, approval)
        await self._send(record)
        self.hub.commands_changed()
        return record.as_json()

    async def _send(self, record: Any) -> None:
        try:
            await self.relay.send(record)
        except BoardRefusal as exc:
            self.commands.failed_to_send(record, str(exc))
            self.hub.commands_changed()
            raise
        record.state = "sent" if record.state == "sending" else record.state
