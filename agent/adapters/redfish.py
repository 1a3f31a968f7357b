"""Redfish over HTTP: the only module that imports httpx.

Returns our types (:class:`Document`) and raises our exceptions:
:class:`~agent.errors.DeviceUnreachable` when the BMC does not answer (refused, reset,
timed out), :class:`~agent.errors.NegativeReply` with the HTTP status and the Redfish
error message for any 4xx/5xx, :class:`~agent.errors.ProtocolError` for a body that is
not a JSON object or lacks a property the schema requires.

TLS is verified by default against the system store or ``ca_file``; it is off only when
the configuration says ``verify_tls = false`` explicitly (BMCs ship self-signed
certificates, and some sites accept that on an isolated management VLAN).
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from agent.errors import DeviceUnreachable, NegativeReply, ProtocolError

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RedfishEndpoint:
    """Where and how to reach one BMC."""

    device: str  # the inventory name, used in every error message
    base_url: str  # scheme://host[:port], without /redfish/v1
    username: str
    password: str
    verify_tls: bool = True
    ca_file: Path | None = None
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Document:
    """One Redfish resource, with typed accessors whose errors name the property."""

    device: str
    path: str
    data: JsonObject

    def _fail(self, key: str, expected: str) -> ProtocolError:
        got = self.data.get(key, "<missing>")
        return ProtocolError(
            self.device,
            f"{self.path}: property {key!r} should be {expected}, got {got!r}; the BMC does "
            "not follow the Redfish schema: check its firmware version against the baseline",
        )

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def optional_str(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string or null")
        return value

    def optional_number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number or null")
        return float(value)

    def child(self, key: str) -> Document:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self._fail(key, "an object")
        return Document(self.device, f"{self.path}#{key}", value)

    def children(self, key: str) -> list[Document]:
        """The objects of an array property (Members, Temperatures, Fans...)."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self._fail(key, "an array of objects")
        return [Document(self.device, f"{self.path}#{key}/{i}", v) for i, v in enumerate(value)]

    def link(self, key: str) -> str:
        """The ``@odata.id`` of a navigation property ``{"@odata.id": ...}``."""
        return self.child(key).text("@odata.id")

    def links(self, key: str) -> list[str]:
        """The ``@odata.id`` of each entry of an array of navigation properties."""
        return [entry.text("@odata.id") for entry in self.children(key)]

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "an array of strings")
        return list(value)


@functools.cache
def _tls_context(verify_tls: bool, ca_file: Path | None) -> ssl.SSLContext:
    """One TLS context per trust setting, shared by every BMC client of the process.

    httpx builds a context per client and loads the CA bundle into each, even for an
    ``http://`` BMC: 12-25 ms a client, a quarter of the agent's start on the demo rack
    (ten BMC clients: power and health each hold one per server). A context is meant to
    be shared; the bundle is read once per process (a changed CA file needs a restart).
    """
    if not verify_tls:
        return httpx.create_ssl_context(verify=False)
    if ca_file is not None:
        return ssl.create_default_context(cafile=str(ca_file))
    return httpx.create_ssl_context()  # httpx's own default: SSL_CERT_FILE/DIR or certifi


def _redfish_message(response: httpx.Response) -> str:
    """The most specific message of a Redfish error body, or the start of the raw body."""
    try:
        body = response.json()
        error = body["error"]
        infos = error.get("@Message.ExtendedInfo") or []
        if infos and isinstance(infos[0], dict) and infos[0].get("Message"):
            return str(infos[0]["Message"])
        return str(error["message"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.text[:200] or response.reason_phrase


class RedfishClient:
    """An HTTP session to one BMC; an async context manager.

    It runs no background task (httpx's pool needs none), so it holds no TaskGroup.
    Requests are serialised per BMC: BMCs have tiny web servers and some refuse
    concurrent sessions, and the drivers never need parallel requests to one BMC.
    """

    def __init__(self, endpoint: RedfishEndpoint) -> None:
        self.endpoint = endpoint
        self.device = endpoint.device
        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        ep = self.endpoint
        self._client = httpx.AsyncClient(
            base_url=ep.base_url,
            auth=httpx.BasicAuth(ep.username, ep.password),
            verify=_tls_context(ep.verify_tls, ep.ca_file),
            timeout=httpx.Timeout(ep.timeout_s),
            headers={"Accept": "application/json", "OData-Version": "4.0"},
        )
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(exc_type, exc, tb)

    async def get(self, path: str) -> Document:
        response = await self._request("GET", path, None)
        return self._document(path, response)

    async def post(self, path: str, body: JsonObject) -> Document | None:
        """POST a JSON body; the reply document, or None for 202/204 and empty bodies."""
        response = await self._request("POST", path, body)
        if response.status_code in (202, 204) or not response.content:
            return None
        return self._document(path, response)

    async def _request(self, method: str, path: str, body: JsonObject | None) -> httpx.Response:
        if self._client is None:
            raise RuntimeError("RedfishClient used outside its 'async with' block")
        where = f"{method} {self.endpoint.base_url}{path}"
        try:
            async with self._lock, asyncio.timeout(self.endpoint.timeout_s):
                response = await self._client.request(method, path, json=body)
        except TimeoutError as exc:
            raise DeviceUnreachable(
                self.device,
                f"{where}: no reply within {self.endpoint.timeout_s} s; check the BMC's "
                "outlet power and its management network link",
            ) from exc
        except httpx.TransportError as exc:
            raise DeviceUnreachable(
                self.device,
                f"{where}: {type(exc).__name__}: {exc or 'connection lost'}; check the "
                "BMC's outlet power, its address in the rack config and the management VLAN",
            ) from exc
        if response.status_code >= 400:
            hint = (
                "check the BMC user name and password in the rack config"
                if response.status_code in (401, 403)
                else "see the BMC's message"
            )
            raise NegativeReply(
                self.device,
                f"{where}: HTTP {response.status_code}: {_redfish_message(response)}; {hint}",
                status=str(response.status_code),
            )
        return response

    def _document(self, path: str, response: httpx.Response) -> Document:
        try:
            data = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProtocolError(
                self.device,
                f"GET {path}: reply is not JSON ({exc}); body starts "
                f"{response.content[:60]!r}: the BMC's web service is misbehaving, "
                "reset the BMC or update its firmware",
            ) from exc
        if not isinstance(data, dict):
            raise ProtocolError(
                self.device,
                f"{path}: reply is JSON {type(data).__name__}, not an object; "
                "the BMC does not follow the Redfish schema",
            )
        return Document(self.device, path, data)
