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
  default 20). We read it from the CONNACK and clamp paho's limit to it.

The outbox stream (`Link.open_stream`) does not go through ``publish()`` at all; see
`_StreamClient` for why and how.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from agent import cancel
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
    # QoS 1 publishes in flight on one connection, the outbox stream's and paho's own
    # together; lowered to the broker's Receive Maximum when it announces a smaller one
    # (Mosquitto announces its max_inflight_messages, default 20).
    max_inflight: int = 20
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    # False keeps the broker session (subscriptions and queued QoS 1 messages) across a
    # restart, for a subscriber that must not miss the stream (`cleanroom board`); the
    # agent always starts clean (see _make_client).
    clean_start: bool = True

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


Frame = tuple[bytes, bytes, int]
"""One PUBLISH packet as ``(head, tail, qos)``: the bytes before and after its packet
identifier, which is only chosen when it is sent (a QoS 0 packet has none)."""

AckCallback = Callable[[list[int], list[tuple[int, int]]], None]
"""``on_acks(tokens, refused)``: the tokens of stream publishes that are done (QoS 1:
the broker's PUBACK arrived; QoS 0: queued for the socket), and among them those whose
PUBACK carried a failure reason code, as ``(token, reason)``. Also called with no tokens
when only a non-stream publish was acknowledged, i.e. when `Link.stream_room` grew."""

_RECV_SIZE = 65536
_MAX_PAYLOAD = 268_435_455 - 65_535 - 8  # the largest remaining length, minus headers


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, byte = divmod(value, 128)
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def encode_publish(topic: str, payload: bytes, qos: int, retain: bool) -> Frame:
    """Encode one MQTT 5 PUBLISH (no properties) for `Link.stream_send`.

    Done by hand because paho only builds a packet inside ``publish()``, together with
    the per-message objects, locks and log calls this lane exists to avoid; the format
    is four fields (MQTT 5.0 section 3.3).
    """
    name = topic.encode()
    if not name or b"+" in name or b"#" in name or len(name) > 65535:
        raise ValueError(
            f"outbox topic {topic!r}: not a publishable MQTT topic (empty, a wildcard or "
            "over 65535 bytes); the row was written by a bug, delete it from the outbox"
        )
    if qos not in (0, 1) or len(payload) > _MAX_PAYLOAD:
        raise ValueError(
            f"outbox message on {topic!r}: qos {qos}, {len(payload)} bytes; the stream "
            f"sends QoS 0 or 1 and at most {_MAX_PAYLOAD} bytes"
        )
    remaining = 2 + len(name) + (2 if qos else 0) + 1 + len(payload)
    head = b"".join(
        (
            bytes((0x30 | qos << 1 | int(retain),)),
            _varint(remaining),
            len(name).to_bytes(2, "big"),
            name,
        )
    )
    return head, b"\x00" + payload, qos


class _StreamClient(paho.Client):
    """paho's client with a fast lane for the outbox stream, confined to this module.

    Why by hand: replaying a backlog through ``paho.Client.publish`` costs, per message,
    an ``MQTTMessage`` with its lock and condition, two log calls, one ``send()`` system
    call, three ``recv()`` calls to read the 4-byte PUBACK and a ``Properties`` plus two
    ``ReasonCode`` objects to decode it; profiled, that is over 80 % of a replay and
    caps it near a third of ``mosquitto_pub``'s rate. Neither paho nor aiomqtt offers a
    batch API, so this subclass (installed on the client aiomqtt builds, see
    `_make_client`) adds one while paho keeps the connection, keepalive, subscriptions
    and every other publish:

    - `stream_write` queues many PUBLISH packets as ONE entry of paho's own output
      queue (``_out_packet``), behind whatever paho queued before, so one ``send()``
      carries a whole batch and the byte stream stays well formed;
    - stream packet identifiers come from paho's counter and are reserved in
      ``stream_acks``; `_mid_generate` skips them, so paho never reuses one in flight;
    - `_packet_handle` settles the PUBACK of a stream identifier from its three bytes
      and hands everything else to paho;
    - `_sock_recv` reads 64 KiB at a time and serves paho's small reads from that
      buffer, `loop_read` keeps reading while it holds data (the loop would not wake
      for bytes already taken off the socket);
    - stream publishes count in paho's ``_inflight_messages``, so paho's own QoS 1
      publishes and the stream share one budget, clamped to the broker's Receive
      Maximum: exceeding it makes an MQTT 5 broker drop the connection.
    """

    stream_acks: dict[int, int]
    stream_budget: int
    _stream_notify: AckCallback | None
    _stream_done: list[int]
    _stream_refused: list[tuple[int, int]]
    _rbuf: bytes
    _rpos: int

    def stream_adopt(self, budget: int) -> None:
        """Called once on a fresh client, before it connects."""
        self.stream_acks = {}
        self.stream_budget = budget
        self._stream_notify = None
        self._stream_done = []
        self._stream_refused = []
        self._rbuf = b""
        self._rpos = 0
        self.max_inflight_messages_set(budget)
        aiomqtt_on_connect = self.on_connect

        def on_connect(*args: Any) -> None:
            # args: client, userdata, flags, reason code, CONNACK properties (MQTT 5).
            receive_max = getattr(args[-1], "ReceiveMaximum", None)
            if isinstance(receive_max, int) and 0 < receive_max < self.stream_budget:
                self.stream_budget = receive_max
                # The public setter refuses once connected; we are inside the CONNACK.
                self._max_inflight_messages = receive_max
            if aiomqtt_on_connect is not None:
                aiomqtt_on_connect(*args)

        self.on_connect = on_connect

    def stream_room(self) -> int:
        return self.stream_budget - self._inflight_messages

    def stream_write(self, data: bytes, qos1: int) -> MQTTErrorCode:
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        self._inflight_messages += qos1
        # qos 1 in the entry only keeps paho from treating it as one QoS 0 publish.
        self._out_packet.append(
            {
                "command": paho.PUBLISH,
                "mid": 0,
                "qos": 1,
                "pos": 0,
                "to_process": len(data),
                "packet": data,
                "info": None,
            }
        )
        if self._registered_write:
            # The event loop's writer is armed: it sends this after what is ahead of it.
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        # Write now instead of arming the writer for the next loop turn; loop_write arms
        # it itself if the socket takes only part. (Never while armed: disarming from
        # here would race the pending registration and leave a writer spinning.)
        return self.loop_write()

    def _mid_generate(self) -> int:
        while True:
            mid = super()._mid_generate()
            if mid not in self.stream_acks and mid not in self._out_messages:
                return mid

    def _packet_handle(self) -> MQTTErrorCode:
        packet = self._in_packet["packet"]
        if (self._in_packet["command"] & 0xF0) == paho.PUBACK and len(packet) >= 2:
            token = self.stream_acks.pop(packet[0] << 8 | packet[1], None)
            if token is not None:
                self._inflight_messages -= 1
                self._stream_done.append(token)
                if len(packet) > 2 and packet[2] >= 0x80:
                    self._stream_refused.append((token, packet[2]))
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_handle()

    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            buf = super()._sock_recv(_RECV_SIZE)  # BlockingIOError when there is none
            if not buf:
                return buf  # end of stream
            self._rbuf, pos = buf, 0
        end = min(pos + bufsize, len(buf))
        self._rpos = end
        return buf[pos:end]

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        inflight = self._inflight_messages
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._rpos < len(self._rbuf):
            rc = super().loop_read(max_packets)
        if self._inflight_messages < inflight or self._stream_done:
            if self._out_messages and self._inflight_messages < self._max_inflight_messages:
                # paho queued its own publishes while the stream held the budget.
                with self._out_message_mutex:
                    self._update_inflight()
            done, self._stream_done = self._stream_done, []
            refused, self._stream_refused = self._stream_refused, []
            if self._stream_notify is not None:
                self._stream_notify(done, refused)
        return rc


class Link:
    """One live MQTT 5 connection. Created by `connect()`; do not keep it past its scope."""

    def __init__(self, client: aiomqtt.Client, url: BrokerURL, publish_timeout: float) -> None:
        self._client = client
        # Installed by _make_client on every client this module creates.
        paho_client = client._client
        if not isinstance(paho_client, _StreamClient):
            raise TypeError(f"{url.text}: Link needs a client made by _make_client")
        self._paho = paho_client
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
            await cancel.delivered(
                self._client.publish(
                    topic,
                    payload,
                    qos=qos,
                    retain=retain,
                    properties=props,
                    timeout=self._publish_timeout,
                )
            )
        except aiomqtt.MqttError as exc:
            raise LinkDownError(
                self.url.text,
                f"publish to {topic!r} failed: {exc}; the "
                "message stays in the outbox and is sent after reconnecting",
            ) from exc

    def open_stream(self, on_acks: AckCallback) -> None:
        """Start this connection's outbox stream; ``on_acks`` runs on the event loop (see
        `AckCallback`). One stream per connection; it ends with the connection."""
        if self._paho._stream_notify is not None:
            raise RuntimeError(f"{self.url.text}: this connection already has a stream")
        self._paho._stream_notify = on_acks

    def stream_room(self) -> int:
        """How many more QoS 1 publishes the broker accepts in flight right now."""
        return self._paho.stream_room()

    def stream_send(self, tokens: Sequence[int], frames: Sequence[Frame]) -> None:
        """Send ``frames`` (from `encode_publish`) in order, in as few writes as the socket
        allows; each one's token comes back through the stream's ``on_acks`` when it is
        done. Send at most `stream_room` QoS 1 frames; QoS 0 frames count as done once
        queued (bytes written but unread are lost with a dying connection anyway, so
        waiting for the write would promise nothing more). No MQTT 5 properties are sent:
        the stream's payloads are JSON by contract (docs/asyncapi.yaml)."""
        client = self._paho
        reserve = client.stream_acks
        mid_generate = client._mid_generate
        parts: list[bytes] = []
        done: list[int] = []
        for token, (head, tail, qos) in zip(tokens, frames, strict=True):
            if qos:
                mid = mid_generate()
                reserve[mid] = token
                parts += (head, mid.to_bytes(2, "big"), tail)
            else:
                parts += (head, tail)
                done.append(token)
        rc = client.stream_write(b"".join(parts), len(frames) - len(done))
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise LinkDownError(
                self.url.text,
                f"stream write failed ({paho.error_string(rc)}); the {len(frames)} "
                "messages stay in the outbox and are sent after reconnecting",
            )
        if done and client._stream_notify is not None:
            client._stream_notify(done, [])

    async def subscribe(self, topic_filter: str, *, qos: int = 1) -> None:
        # Retain As Published: a command published with the retain flag arrives with it
        # set, so the intake can refuse it (MQTT 5 clears it otherwise on live delivery).
        options = SubscribeOptions(qos=qos, retainAsPublished=True)
        try:
            await cancel.delivered(self._client.subscribe(topic_filter, options=options))
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
        clean_start=settings.clean_start,
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
    try:
        paho_client = client._client
    except AttributeError as exc:  # pragma: no cover - only with an incompatible aiomqtt
        raise RuntimeError(
            f"aiomqtt {aiomqtt.__version__}: its internals changed ({exc}); the outbox "
            "stream needs aiomqtt 2.x as pinned in pyproject.toml"
        ) from exc
    # aiomqtt builds its paho client itself and offers no way to pass a subclass; the
    # subclass only adds methods and attributes, so switching the class is safe.
    paho_client.__class__ = _StreamClient
    assert isinstance(paho_client, _StreamClient)
    paho_client.stream_adopt(max(1, settings.max_inflight))
    return client


@contextlib.asynccontextmanager
async def connect(settings: BrokerSettings, will: WillMessage | None = None) -> AsyncIterator[Link]:
    """Connect to the first broker URL that accepts us; `BrokerUnreachableError` if none does."""
    errors: list[str] = []
    before = cancel.requests()
    for url in settings.parsed_urls():
        client = _make_client(settings, url, will)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            cancel.raise_if_lost(before)  # a refused CONNACK may have swallowed it
            errors.append(f"{url.text}: {exc}")
            continue
        try:
            # Connected: a cancellation swallowed by the CONNACK wait still disconnects.
            cancel.raise_if_lost(before)
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
