"""The board's HTTP side: the only module that imports aiohttp.

Serves the page (static files, no build step), a JSON API and one server-sent event
stream per page. Login (a token or HTTP basic) is required whenever the board listens
beyond loopback or one is configured; POSTs must come from the board's own origin.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from agent.board.commands import BoardRefusal
from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.board.service import BoardService

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
KEEPALIVE_S = 15.0
COOKIE = "cleanroom_board"
SERVICE: web.AppKey[BoardService] = web.AppKey("service")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(data), status=status, content_type="application/json"
    )


def _refusal(text: str, status: int = 400) -> web.Response:
    return _json({"error": text}, status)


def _authorized(request: web.Request, service: BoardService) -> bool:
    settings = service.settings
    if not settings.needs_auth:
        return True
    token = settings.token
    if token:
        offered = request.cookies.get(COOKIE, "") or request.query.get("token", "")
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            offered = header[7:]
        if offered and hmac.compare_digest(offered.encode(), token.encode()):
            return True
    if settings.basic_user:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                ok_user = hmac.compare_digest(user.encode(), settings.basic_user.encode())
                ok_pass = hmac.compare_digest(password.encode(), settings.basic_password.encode())
                return ok_user and ok_pass
    return False


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    service = request.app[SERVICE]
    if not _authorized(request, service):
        headers = {}
        if service.settings.basic_user:
            headers["WWW-Authenticate"] = 'Basic realm="cleanroom board", charset="UTF-8"'
        return web.Response(
            status=401,
            text="login required: open the board's address with ?token=... once, "
            "or log in with the board's user and password\n",
            headers=headers,
        )
    if request.method == "POST":
        origin = request.headers.get("Origin")
        expected = f"{request.scheme}://{request.host}"
        if origin is not None and origin != expected:
            return _refusal(f"origin {origin!r} is not this board ({expected})", 403)
        if request.content_type != "application/json":
            return _refusal("send application/json", 415)
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    token = request.query.get("token")
    if token and service.settings.token and not isinstance(response, web.FileResponse):
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=True)
    return response


async def _index(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(STATIC / "index.html")
    service = request.app[SERVICE]
    token = request.query.get("token")
    if token and service.settings.token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=True)
    return response


async def _fleet(request: web.Request) -> web.StreamResponse:
    return _json(request.app[SERVICE].model.fleet())


async def _rack(request: web.Request) -> web.StreamResponse:
    key = (request.match_info["site"], request.match_info["rack"])
    picture = request.app[SERVICE].model.picture(key)
    if picture is None:
        return _refusal(f"rack {key[1]!r} at site {key[0]!r} has not reported to this board", 404)
    return _json(picture)


async def _verbs(request: web.Request) -> web.StreamResponse:
    return _json(request.app[SERVICE].forms())


async def _health(request: web.Request) -> web.StreamResponse:
    return _json(request.app[SERVICE].health())


async def _commands(request: web.Request) -> web.StreamResponse:
    return _json(request.app[SERVICE].commands.as_json())


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BoardRefusal(f"request body: not JSON ({exc})") from None


async def _submit(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    try:
        return _json(await service.submit(await _body(request)))
    except BoardRefusal as exc:
        return _refusal(str(exc))


async def _approve(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    try:
        return _json(await service.approve(request.match_info["id"], await _body(request)))
    except BoardRefusal as exc:
        return _refusal(str(exc))


def _event(name: str, data: bytes) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


async def _stream(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    wanted = request.query.get("rack", "")
    site, _, rack = wanted.partition("/")
    key = (site, rack) if site and rack else None
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    response.headers.update(SECURITY_HEADERS)
    await response.prepare(request)
    client = service.join(key)
    try:
        model = service.model
        await response.write(_event("hello", msgspec.json.encode(service.health())))
        await response.write(_event("fleet", msgspec.json.encode(model.fleet())))
        if key is not None:
            await response.write(_event("rack", msgspec.json.encode(model.picture(key))))
        await response.write(_event("commands", msgspec.json.encode(service.commands.as_json())))
        while not client.dropped:
            try:
                async with asyncio.timeout(KEEPALIVE_S):
                    name, data = await client.queue.get()
            except TimeoutError:
                await response.write(_event("health", json.dumps(service.health()).encode()))
                continue
            await response.write(_event(name, data))
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        service.leave(client)
    return response


def build_app(service: BoardService) -> web.Application:
    app = web.Application(middlewares=[_guard], client_max_size=64 * 1024)
    app[SERVICE] = service
    app.router.add_get("/", _index)
    app.router.add_get("/api/fleet", _fleet)
    app.router.add_get("/api/racks/{site}/{rack}", _rack)
    app.router.add_get("/api/verbs", _verbs)
    app.router.add_get("/api/health", _health)
    app.router.add_get("/api/commands", _commands)
    app.router.add_post("/api/commands", _submit)
    app.router.add_post("/api/commands/{id}/approvals", _approve)
    app.router.add_get("/api/stream", _stream)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    return app


def _tls(cert: str, key: str) -> ssl.SSLContext | None:
    if not cert:
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            [f"--tls-cert {cert} / --tls-key {key}: cannot load ({exc}); check both paths"]
        ) from exc
    return context


@contextlib.asynccontextmanager
async def serve(service: BoardService) -> AsyncIterator[str]:
    """Listen; yield the board's URL (with the real port when asked for port 0)."""
    settings = service.settings
    runner = web.AppRunner(build_app(service), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        tls = _tls(settings.tls_cert, settings.tls_key)
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=tls)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                [
                    f"--listen {settings.host}:{settings.port}: cannot listen ({exc}); "
                    "choose a free port or stop what uses it"
                ]
            ) from exc
        # aiohttp exposes the bound port only through its server's sockets.
        sockets = getattr(site._server, "sockets", None) or ()
        port = sockets[0].getsockname()[1] if sockets else settings.port
        host = settings.host if ":" not in settings.host else f"[{settings.host}]"
        yield f"{'https' if tls else 'http'}://{host}:{port}/"
    finally:
        await runner.cleanup()
