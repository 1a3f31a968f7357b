"""The ARS side: send a signed command and wait for its replies; watch the fleet."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Callable
from typing import TextIO

import msgspec

from agent.adapters.mqtt import BrokerSettings, connect
from agent.errors import DeviceUnreachable
from agent.report.board import Board
from agent.report.payloads import CommandEnvelope, Reply
from agent.report.topics import Topics, fleet_filters

FINAL = frozenset({"refused", "result", "failed"})


async def send_command(
    settings: BrokerSettings,
    topics: Topics,
    env: CommandEnvelope,
    *,
    wait: float = 30.0,
    on_reply: Callable[[Reply], None] = lambda _r: None,
) -> list[Reply]:
    """Publish ``env`` and return its replies up to the final one (refused/result/failed).

    The reply topic is private to this call and the correlation data random, so replies
    to anyone else's command are never mistaken for ours.
    """
    token = secrets.token_hex(12)
    reply_topic = f"{topics.prefix}/ars/replies/{token}"
    correlation = token.encode()
    replies: list[Reply] = []
    async with connect(settings) as link:
        await link.subscribe(reply_topic, qos=1)
        await link.publish(
            topics.command(env.verb),
            msgspec.json.encode(env),
            qos=1,
            response_topic=reply_topic,
            correlation=correlation,
        )
        try:
            async with asyncio.timeout(wait):
                async for message in link.messages():
                    if message.topic != reply_topic or message.correlation != correlation:
                        continue
                    reply = msgspec.json.decode(message.payload, type=Reply)
                    replies.append(reply)
                    on_reply(reply)
                    if reply.status in FINAL:
                        break
        except TimeoutError:
            got = ", ".join(r.status for r in replies) or "nothing"
            raise DeviceUnreachable(
                f"rack {topics.rack}",
                f"no final reply to {env.verb!r} within {wait:g} s (got {got}); the rack may "
                "be offline (see `cleanroom watch`) or its clock far from ours",
            ) from None
    return replies


async def watch(
    settings: BrokerSettings,
    prefix: str,
    *,
    duration: float | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
) -> Board:
    """Print the board on every change (for ``duration`` seconds, or until cancelled)."""
    out = out or sys.stdout  # looked up now: tests and callers may swap sys.stdout
    board = Board(prefix)
    deadline = None if duration is None else time.monotonic() + duration
    async with connect(settings) as link:
        for topic_filter in fleet_filters(prefix):
            await link.subscribe(topic_filter, qos=1)
        messages = link.messages()
        while deadline is None or time.monotonic() < deadline:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                async with asyncio.timeout(remaining):
                    message = await anext(messages)
            except TimeoutError:
                break
            if not board.update(message.topic, message.payload) or as_json:
                continue
            if out.isatty():
                out.write("\x1b[H\x1b[2J")  # clear the terminal: a live board, not a log
                out.write(board.render() + "\n")
                out.flush()
            elif duration is None:
                out.write(board.render() + "\n\n")
                out.flush()
    if as_json:
        out.write(msgspec.json.encode(board.as_json()).decode() + "\n")
    elif duration is not None and not out.isatty():
        out.write(board.render() + "\n")
    return board
