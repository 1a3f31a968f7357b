"""The MQTT adapter: the only module that imports aiomqtt (2.x) and paho-mqtt.

It speaks MQTT 5 and returns our own types: a `Link` is one live connection (publish,
subscribe, iterate inbound messages), `connect()` opens one by trying the configured
broker URLs in order, and `run_sessions()` keeps reconnecting with jittered exponential
backoff for as long as the agent runs. Library exceptions become `BrokerUnreachableError`
(no broker would take us) or `LinkDownError` (an established connection died).

How aiomqtt 2.x behaves, read from its source (client.py), which shapes the sender:
- ``publish(qos=1)`` returns only once paho's ``on_publish`` fired, i.e. after the
  broker's PUBACK; QoS 0 returns once written. The PUBACK reason code is not surfaced.
- A publish awaiting its PUBACK is *not* failed when the connection drops: it waits for
  its timeout. So every session runs its tasks in one TaskGroup with the inbound reader,
  which raises `LinkDownError` as soon as the connection is lost and so cancels the rest.
- paho sends at most ``max_inflight_messages`` QoS>0 publishes at once and queues the
  others in memory; it ignores the broker's MQTT 5 Receive Maximum (Mosquitto's
  default 20), so our window must not exceed what the broker accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from agent.errors import ConfigError, DeviceUnreachable

log = logging.getLogger(__name__)


class BrokerUnreachableError(DeviceUnreachable):
    """No configured broker accepted a connection (each URL's error is listed)."""


class LinkDownError(DeviceUnreachable):
    """An established broker connection was lost or stopped acknowledging."""


@dataclass(frozen=True, slots=True)
class BrokerURL:
    text: str
    host: str
    port: int
    tls: bool


def parse_url(place: str, text: str) -> BrokerURL:
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]``."""
    parts = urlsplit(text)
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise ConfigError(
            [f"{place}: {text!r} is not a broker URL; write mqtt://host:1883 or mqtts://host:8883"]
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError([f"{place}: {text!r} has an invalid port ({exc})"]) from exc
    tls = parts.scheme == "mqtts"
    return BrokerURL(text, parts.hostname, port or (8883 if tls else 1883), tls)


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """The ``[mqtt]`` connection settings (plain values; see agent/conf for the TOML)."""

    urls: tuple[str, ...]
    client_id: str
    username: str = ""
    password: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    keepalive: float = 30.0
    session_expiry: int = 300
    connect_timeout: float = 10.0
    publish_timeout: float = 30.0
    max_inflight: int = 20
    backoff_min: float = 0.5
    backoff_max: float = 30.0

    def parsed_urls(self) -> list[BrokerURL]:
        if not self.urls:
            raise ConfigError(
                [
                    "mqtt.urls: empty; list at least one broker, "
                    'e.g. urls = ["mqtts://broker.ars.example:8883"]'
                ]
            )
        return [parse_url(f"mqtt.urls[{i}]", url) for i, url in enumerate(self.urls)]


@dataclass(frozen=True, slots=True)
class WillMessage:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message received from the broker, in our words."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    response_topic: str | None = None
    correlation: bytes | None = None


def _tls_context(settings: BrokerSettings) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=settings.ca_file or None)
        if settings.cert_file:
            context.load_cert_chain(settings.cert_file, settings.key_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            [
                f"mqtt.ca_file / cert_file / key_file: cannot load "
                f"({settings.ca_file!r}, {settings.cert_file!r}, "
                f"{settings.key_file!r}): {exc}; check the paths and that the key "
                "matches the certificate"
            ]
        ) from exc
    return context


def _properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho has no hints here


def _publish_properties(
    content_type: str | None, response_topic: str | None, correlation: bytes | None
) -> Properties:
    props = _properties(PacketTypes.PUBLISH)
    if content_type:
        props.ContentType = content_type
    if response_topic:
        props.ResponseTopic = response_topic
    if correlation is not None:
        props.CorrelationData = correlation
    return props


class _AckHook:
    """Stands in for the asyncio.Event aiomqtt sets when a publish is acknowledged."""

    __slots__ = ("_callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    def set(self) -> None:
        self._callback()


class Link:
    """One live MQTT 5 connection. Created by `connect()`; do not keep it past its scope."""

    def __init__(self, client: aiomqtt.Client, url: BrokerURL, publish_timeout: float) -> None:
        self._client = client
        self.url = url
        self._publish_timeout = publish_timeout

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        content_type: str | None = "application/json",
        response_topic: str | None = None,
        correlation: bytes | None = None,
    ) -> None:
        """Return once the broker acknowledged (QoS 1) or the bytes were written (QoS 0)."""
        props = _publish_properties(content_type, response_topic, correlation)
        try:
            await self._client.publish(
                topic,
                payload,
                qos=qos,
                retain=retain,
                properties=props,
                timeout=self._publish_timeout,
            )
        except aiomqtt.MqttError as exc:
            raise LinkDownError(
                self.url.text,
                f"publish to {topic!r} failed: {exc}; the "
                "message stays in the outbox and is sent after reconnecting",
            ) from exc

    def start_publish(
        self, topic: str, payload: bytes, *, qos: int, retain: bool, on_ack: Callable[[], None]
    ) -> None:
        """Hand one publish to the client without waiting; ``on_ack()`` runs on the event
        loop when the broker acknowledged it (QoS 1) or it was written (QoS 0).

        The outbox sender's fast path. ``publish()`` costs a task, an Event and a
        ``wait_for`` per message and halves the replay rate, so this calls paho's
        ``publish`` directly and parks a hook where aiomqtt's own ``on_publish``
        callback looks for the waiter of that message id (``_pending_publishes``, whose
        values it only ever ``.set()``). No MQTT 5 properties are sent: packing them
        costs as much as the rest of the publish, and the stream's payloads are JSON by
        contract (docs/asyncapi.yaml).
        """
        try:
            info = self._client._client.publish(topic, payload, qos, retain)
            pending = self._client._pending_publishes
        except AttributeError as exc:  # pragma: no cover - only with an incompatible aiomqtt
            raise RuntimeError(
                f"aiomqtt {aiomqtt.__version__}: its internals changed ({exc}); the outbox "
                "sender needs aiomqtt 2.x as pinned in pyproject.toml"
            ) from exc
        if info.rc != 0:
            raise LinkDownError(
                self.url.text,
                f"publish to {topic!r} refused by the client "
                f"(rc {info.rc}); the connection is going down, the message "
                "stays in the outbox",
            )
        hook = _AckHook(on_ack)
        pending[info.mid] = hook  # type: ignore[assignment]  # duck-typed Event
        if info.is_published() and pending.pop(info.mid, None) is not None:
            # Already written (QoS 0) before we could park the hook.
            on_ack()

    async def subscribe(self, topic_filter: str, *, qos: int = 1) -> None:
        # Retain As Published: a command published with the retain flag arrives with it
        # set, so the intake can refuse it (MQTT 5 clears it otherwise on live delivery).
        options = SubscribeOptions(qos=qos, retainAsPublished=True)
        try:
            await self._client.subscribe(topic_filter, options=options)
        except aiomqtt.MqttError as exc:
            raise LinkDownError(
                self.url.text, f"subscribe to {topic_filter!r} failed: {exc}"
            ) from exc

    async def messages(self) -> AsyncIterator[Inbound]:
        """Every inbound message; raises `LinkDownError` when the connection is lost."""
        try:
            async for message in self._client.messages:
                props = message.properties
                payload = message.payload
                yield Inbound(
                    topic=message.topic.value,
                    payload=payload if isinstance(payload, bytes) else str(payload).encode(),
                    qos=message.qos,
                    retain=bool(message.retain),
                    response_topic=getattr(props, "ResponseTopic", None) if props else None,
                    correlation=getattr(props, "CorrelationData", None) if props else None,
                )
        except aiomqtt.MqttError as exc:
            raise LinkDownError(self.url.text, f"connection lost: {exc}") from exc


def _make_client(
    settings: BrokerSettings, url: BrokerURL, will: WillMessage | None
) -> aiomqtt.Client:
    connect_props = _properties(PacketTypes.CONNECT)
    # Clean start with a short session expiry: commands published while we are away
    # must not pile up in the broker and run hours later.
    connect_props.SessionExpiryInterval = int(settings.session_expiry)
    aio_will = None
    if will is not None:
        will_props = _properties(PacketTypes.WILLMESSAGE)
        will_props.ContentType = "application/json"
        aio_will = aiomqtt.Will(will.topic, will.payload, will.qos, will.retain, will_props)
    client = aiomqtt.Client(
        url.host,
        url.port,
        username=settings.username or None,
        password=settings.password or None,
        identifier=settings.client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        will=aio_will,
        clean_start=True,
        keepalive=max(1, round(settings.keepalive)),
        timeout=settings.connect_timeout,
        max_inflight_messages=settings.max_inflight,
        properties=connect_props,
        tls_context=_tls_context(settings) if url.tls else None,
        # Without TCP_NODELAY, Nagle's algorithm meets the broker's delayed ACKs and a
        # window of small QoS 1 publishes crawls at a few hundred per second.
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    # aiomqtt warns past 10 pending calls; a full window is our normal state.
    client.pending_calls_threshold = settings.max_inflight + 50
    return client


@contextlib.asynccontextmanager
async def connect(settings: BrokerSettings, will: WillMessage | None = None) -> AsyncIterator[Link]:
    """Connect to the first broker URL that accepts us; `BrokerUnreachableError` if none does."""
    errors: list[str] = []
    for url in settings.parsed_urls():
        client = _make_client(settings, url, will)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            errors.append(f"{url.text}: {exc}")
            continue
        try:
            yield Link(client, url, settings.publish_timeout)
        finally:
            # A graceful DISCONNECT, bounded: the broker may already be gone.
            with contextlib.suppress(aiomqtt.MqttError, OSError):
                await client.__aexit__(None, None, None)
        return
    raise BrokerUnreachableError(
        ",".join(settings.urls),
        "no broker accepted the connection (" + "; ".join(errors) + "); check mqtt.urls, "
        "the network (4G router), the credentials and the CA; retrying with backoff",
    )


class Backoff:
    """Exponential backoff with full jitter, so racks do not reconnect in lockstep after a
    broker restart."""

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self._attempt = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def next(self) -> float:
        ceiling = min(self.maximum, self.minimum * (2**self._attempt))
        self._attempt = min(self._attempt + 1, 30)
        return self.minimum / 2 + self._rng.uniform(0, ceiling - self.minimum / 2)

    def reset(self) -> None:
        self._attempt = 0


async def run_sessions(
    settings: BrokerSettings,
    session: Callable[[Link], Awaitable[None]],
    *,
    will: Callable[[], WillMessage | None] = lambda: None,
    on_down: Callable[[str], None] = lambda _reason: None,
) -> NoReturn:
    """Connect, run ``session(link)`` until the link dies, back off, repeat; forever.

    ``session`` ends by raising `LinkDownError` (possibly inside an ExceptionGroup from its
    TaskGroup); any other exception is a bug and propagates.
    """
    backoff = Backoff(settings.backoff_min, settings.backoff_max)
    outage_logged = False
    while True:
        reason = ""
        try:
            async with connect(settings, will()) as link:
                log.info("mqtt: connected to %s", link.url.text)
                outage_logged = False
                backoff.reset()
                await session(link)
                reason = "session ended"
        except* (BrokerUnreachableError, LinkDownError) as group:
            reason = "; ".join(str(exc) for exc in group.exceptions)
        on_down(reason)
        if not outage_logged:
            log.warning("mqtt: %s", reason)
            outage_logged = True
        await asyncio.sleep(backoff.next())
