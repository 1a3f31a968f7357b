"""The local console: the operator at the rack can always act, and always isolate.

A unix socket beside the store (``console.sock``, mode 0660, so only root and the
``cleanroom`` group reach it) takes one JSON line per request, ``{"verb": ..., "args":
{...}}``, and answers one line, ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error": "..."}``. No signature is asked: the file permissions and the kernel's peer
credentials (SO_PEERCRED) identify the local user, who is recorded in the audit log as
``local:<user>``. The verbs are the same as the signed MQTT commands (lifecycle/verbs.py).

Every action is audited (``console.command``, then ``console.refused`` if it fails); a
read (``read=True`` in agent/verbs.py, what ``cleanroom status`` or ``health`` poll) is
counted instead and the count audited as one ``console.reads`` entry per interval and
when the console closes; a read that fails is audited as ``console.refused`` as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pwd
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from agent.bus import Bus
from agent.errors import AgentError, EnvironmentMissing
from agent.read_tally import READ_AUDIT_INTERVAL, ReadTally
from agent.verbs import is_read

log = logging.getLogger(__name__)

_MAX_LINE = 65536


@dataclass(frozen=True)
class LocalCommand:
    verb: str
    args: dict[str, Any]
    key_id: str
    role: str = "admin"
    nonce: str = ""
    approved_by: tuple[str, ...] = ()
    correlation: bytes | None = None
    response_topic: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _peer(writer: asyncio.StreamWriter) -> str:
    sock = writer.get_extra_info("socket")
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        return f"local:{pwd.getpwuid(uid).pw_name}"
    except (OSError, KeyError):
        return "local:unknown"


def _parse(line: bytes) -> tuple[str, dict[str, Any]] | str:
    """The request's verb and args, or why it is malformed."""
    try:
        request = json.loads(line)
    except ValueError as exc:
        return f'not JSON ({exc}); send one line {{"verb": "...", "args": {{...}}}}'
    if not isinstance(request, dict):
        return "the request must be a JSON object with a verb"
    verb, args = request.get("verb"), request.get("args", {})
    if not isinstance(verb, str) or not isinstance(args, dict):
        return "verb must be a string and args an object"
    return verb, args


class Console:
    """``async with Console(path, handlers, bus):`` serves the local console socket."""

    def __init__(
        self,
        path: Path,
        handlers: Mapping[str, Any],
        bus: Bus,
        *,
        read_interval: float = READ_AUDIT_INTERVAL,
    ) -> None:
        self.path = path
        self.handlers = handlers
        self.bus = bus
        self.read_interval = read_interval
        self.reads = ReadTally()
        self._reads_task: asyncio.Task[None] | None = None
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a killed agent
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.path), limit=_MAX_LINE
        )
        self.path.chmod(0o660)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._reads_task is not None:
            self._reads_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reads_task
        self._emit_reads()  # what was counted since the last entry is in no other record
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        actor = _peer(writer)
        try:
            line = await reader.readline()
            answer = await self._answer(line, actor)
            writer.write(json.dumps(answer, default=str).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            log.warning("console: %s: bad request: %s", actor, exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer(self, line: bytes, actor: str) -> dict[str, Any]:
        parsed = _parse(line)
        if isinstance(parsed, str):
            return {"ok": False, "error": parsed}
        verb, args = parsed
        handler = self.handlers.get(verb)
        if handler is None:
            return {
                "ok": False,
                "error": f"unknown verb {verb!r}; known: {', '.join(sorted(self.handlers))}",
            }
        read = is_read(verb)
        if not read:
            self.bus.emit(
                "console.command", "console", category="audit", actor=actor, verb=verb, args=args
            )
        try:
            result = await handler(LocalCommand(verb=verb, args=args, key_id=actor))
        except AgentError as exc:
            self.bus.emit(
                "console.refused",
                "console",
                category="audit",
                actor=actor,
                verb=verb,
                reason=str(exc),
            )
            return {"ok": False, "error": str(exc)}
        if read:
            self._count_read(actor, verb)
        return {"ok": True, "result": result}

    def _count_read(self, actor: str, verb: str) -> None:
        self.reads.add(actor, verb, ok=True, ts=time.time())
        if self._reads_task is None:
            self._reads_task = asyncio.create_task(self._reads_later(), name="console.reads")

    async def _reads_later(self) -> None:
        await asyncio.sleep(self.read_interval)
        self._reads_task = None
        self._emit_reads()

    def _emit_reads(self) -> None:
        detail = self.reads.take()
        if detail is not None:
            self.bus.emit("console.reads", "console", category="audit", actor="console", **detail)


async def request(path: Path, verb: str, args: dict[str, Any], timeout: float = 30.0) -> Any:  # noqa: ASYNC109 - a CLI call's own budget
    """Send one request to a running agent's console; returns the result or raises."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_unix_connection(str(path), limit=_MAX_LINE)
            writer.write(json.dumps({"verb": verb, "args": args}).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise EnvironmentMissing(
            f"{path}: no agent is listening; is `cleanroom run` (the "
            "cleanroom-agent service) running with this config?"
        ) from exc
    except TimeoutError as exc:
        raise AgentError(f"{path}: the agent did not answer {verb} within {timeout:g}s") from exc
    answer = json.loads(line)
    if not answer.get("ok"):
        raise AgentError(str(answer.get("error")))
    return answer.get("result")
