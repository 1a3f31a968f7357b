"""A minimal HTTP/1.1 server on asyncio streams, for the Redfish BMC simulator only.

Why by hand rather than sushy-tools or aiohttp: sushy-tools' fake driver runs on Flask
(a synchronous WSGI stack plus requests, tenacity, bcrypt, WebOb and pbr) and has no notion
of a BMC that loses its outlet power, stops listening, boots late, hangs a graceful
shutdown or answers garbage on demand; bending it to that would cost more than the ~150
lines below. aiohttp would work but would be a runtime dependency used by the simulator
alone. The server speaks just what Redfish clients send: a request line, headers, a
``Content-Length`` body (no chunked uploads), persistent connections, Basic auth.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

_MAX_HEADER_LINES = 100
_MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def basic_auth(self) -> tuple[str, str] | None:
        """The (user, password) of an ``Authorization: Basic`` header, if well formed."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, document: dict[str, Any]) -> Response:
        return cls(
            status,
            json.dumps(document).encode(),
            {"Content-Type": "application/json; charset=utf-8", "OData-Version": "4.0"},
        )


Handler = Callable[[Request], Awaitable[Response]]


class BadRequestError(Exception):
    """The client sent something this server cannot parse; answered with 400."""


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None when the client closed the connection between requests."""
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequestError(f"malformed request line {line!r}")
    method, target, _version = parts
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADER_LINES):
        raw = await reader.readline()
        text = raw.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, sep, value = text.partition(":")
        if not sep:
            raise BadRequestError(f"malformed header line {raw!r}")
        headers[name.strip().lower()] = value.strip()
    else:
        raise BadRequestError(f"more than {_MAX_HEADER_LINES} header lines")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadRequestError("chunked request bodies are not supported by this simulator")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError as exc:
        raise BadRequestError(f"bad Content-Length {headers['content-length']!r}") from exc
    if not 0 <= length <= _MAX_BODY:
        raise BadRequestError(f"Content-Length {length} out of range 0..{_MAX_BODY}")
    body = await reader.readexactly(length) if length else b""
    path = target.split("?", 1)[0]
    return Request(method.upper(), path, headers, body)


def encode_response(response: Response, *, keep_alive: bool) -> bytes:
    reason = HTTPStatus(response.status).phrase
    headers = dict(response.headers)
    headers["Content-Length"] = str(len(response.body))
    headers["Connection"] = "keep-alive" if keep_alive else "close"
    head = f"HTTP/1.1 {response.status} {reason}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("latin-1") + b"\r\n" + response.body


class HttpServer:
    """Serves ``handler`` on host:port until :meth:`stop`; can be restarted on the same
    port (a BMC that loses power and boots again keeps its address)."""

    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        # Port 0 picks a free port the first time; later restarts reuse it.
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection, as a BMC losing power does."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away mid-request: nothing to answer
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while self._server is not None:
            try:
                request = await read_request(reader)
            except BadRequestError as exc:
                error = Response.json(
                    400, {"error": {"code": "Base.1.0.MalformedJSON", "message": str(exc)}}
                )
                writer.write(encode_response(error, keep_alive=False))
                await writer.drain()
                return
            if request is None:
                return
            response = await self._handler(request)
            keep_alive = request.headers.get("connection", "").lower() != "close"
            writer.write(encode_response(response, keep_alive=keep_alive))
            await writer.drain()
            if not keep_alive:
                return
