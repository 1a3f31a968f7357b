"""`wait_tcp` and `wait_http`: wait until a restored service answers.

Both poll until the step's timeout (a scope set by the engine) ends them; ``check`` is a
single probe, so a resumed step whose service already answers is done at once.
"""

from __future__ import annotations

import asyncio
import contextlib

from agent.adapters import http
from agent.conf.schema import Step
from agent.conf.steps import WaitHttpArgs, WaitTcpArgs, parse_args
from agent.errors import AgentError

_CONNECT_TIMEOUT = 2.0


async def tcp_answers(host: str, port: int) -> bool:
    """One connection attempt, bounded so a black-holed port does not stall the poll."""
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class WaitTcp:
    async def check(self, step: Step) -> bool:
        args = parse_args(step.args, WaitTcpArgs)
        return await tcp_answers(args.host, args.port)

    async def run(self, step: Step) -> str:
        args = parse_args(step.args, WaitTcpArgs)
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not await tcp_answers(args.host, args.port):
            await asyncio.sleep(args.interval)
        return f"{args.host}:{args.port} answers after {loop.time() - started:.1f}s"


class WaitHttp:
    async def _once(self, args: WaitHttpArgs) -> str | None:
        """None when the URL answers as expected, else why not."""
        try:
            status, body = await http.probe(args.url, io_timeout=5.0)
        except AgentError as exc:
            return str(exc)
        if status != args.status:
            return f"{args.url} answered {status}, expected {args.status}"
        if args.contains and args.contains not in body:
            return f"{args.url} answered {status} without {args.contains!r}"
        return None

    async def check(self, step: Step) -> bool:
        return await self._once(parse_args(step.args, WaitHttpArgs)) is None

    async def run(self, step: Step) -> str:
        args = parse_args(step.args, WaitHttpArgs)
        # The engine's timeout scope ends this loop; its error then says "timed out".
        while await self._once(args) is not None:
            await asyncio.sleep(args.interval)
        return f"{args.url} answers {args.status}"
