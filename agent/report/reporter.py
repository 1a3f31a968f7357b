"""The composition of remote supervision: what the daemon starts when MQTT is configured.

``async with Reporter(...) as reporter:`` sends from the record's outbox (agent/record.py,
which commits every bus event whether or not MQTT is configured) and runs one MQTT
session after another (reconnecting with backoff): each session publishes the birth
(retained ``status`` with the full snapshot), drains the outbox, republishes the status
when it changes, and takes commands. Given no `Record`, it builds and runs its own (the
report tests, a reporter on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.adapters.mqtt import (
    BrokerSettings,
    Inbound,
    Link,
    LinkDownError,
    WillMessage,
    run_sessions,
)
from agent.bus import Bus, Event
from agent.errors import StoreError
from agent.read_tally import READ_AUDIT_INTERVAL
from agent.record import Record
from agent.report import anchor
from agent.report.commands import CommandRunner
from agent.report.envelope import Keyring, public_b64
from agent.report.intake import Handler, Intake, Limits, reply_topic_problem
from agent.report.payloads import Snapshot, Status
from agent.report.sender import Sender
from agent.report.topics import Topics
from agent.verbs import checked

log = logging.getLogger(__name__)

StatusProvider = Callable[[], Snapshot]


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """The ``[mqtt]`` values that are not about the connection."""

    prefix: str = "cleanroom/v1"
    outbox_max_messages: int = 200_000
    telemetry_keep_every: int = 4
    command_max_skew: float = 30.0
    command_max_lifetime: float = 600.0
    command_max_age: float = 600.0
    approval_window: float = 900.0
    reply_prefix: str = ""
    """Replies go only under this tree; empty: ``{prefix}/ars``."""
    audit_head_interval: float = 300.0
    """Publish the signed audit head on ``events`` this often, when it moved."""
    status_interval: float = 30.0
    window: int = 20
    telemetry_qos: int = 1
    refusal_audit_burst: int = 20
    refusal_audit_per_minute: float = 6.0
    read_audit_interval: float = READ_AUDIT_INTERVAL
    """Reads are counted and audited as one ``command.reads`` entry this often."""


class Reporter:
    def __init__(
        self,
        store: Any,
        bus: Bus,
        broker: BrokerSettings,
        *,
        rack_id: str,
        site: str,
        boot_id: str,
        version: str,
        config_digest: str,
        keyring: Keyring,
        handlers: Mapping[str, Handler],
        status_provider: StatusProvider = Snapshot,
        settings: ReportSettings | None = None,
        clock: Callable[[], float] = time.time,
        record: Record | None = None,
    ) -> None:
        self.settings = settings or ReportSettings()
        self.bus = bus
        self.broker = broker
        self.topics = Topics(self.settings.prefix, site, rack_id)
        self.boot_id = boot_id
        self.version = version
        self.config_digest = config_digest
        self.status_provider = status_provider
        self.clock = clock
        self._own_record = record is None
        self.record = record or Record(
            store,
            bus,
            boot_id,
            self.topics,
            max_messages=self.settings.outbox_max_messages,
            telemetry_keep_every=self.settings.telemetry_keep_every,
            telemetry_qos=self.settings.telemetry_qos,
        )
        self.record.on_commit(self._committed)
        self.outbox = self.record.outbox
        self.recorder = self.record.recorder
        self.sender = Sender(
            self.outbox, window=self.settings.window, ack_timeout=max(10.0, broker.publish_timeout)
        )
        # The parts' handlers, then this part's own: over MQTT, audit.head is the head
        # signed by the device key (the console's is the plain head, see lifecycle/verbs).
        all_handlers: dict[str, Handler] = {**handlers, **self.builtin_handlers()}
        self.intake = Intake(
            rack_id=rack_id,
            keyring=keyring,
            handlers=all_handlers,
            limits=Limits(
                max_skew=self.settings.command_max_skew,
                max_lifetime=self.settings.command_max_lifetime,
                max_age=self.settings.command_max_age,
                approval_window=self.settings.approval_window,
                reply_prefix=self.settings.reply_prefix or f"{self.settings.prefix}/ars",
                own_tree=self.topics.base,
            ),
            clock=clock,
        )
        self.commands = CommandRunner(self)
        self._link: Link | None = None
        self._status_dirty = asyncio.Event()
        self._online = asyncio.Event()
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._spawned: set[asyncio.Task[Any]] = set()
        self.connects = 0
        self.device_key: Ed25519PrivateKey | None = None
        self.session_at: float | None = None  # when the current session was opened

    # --- public API ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def link(self) -> Link | None:
        return self._link

    async def wait_connected(self) -> None:
        """Return once a session is up (birth published, commands subscribed)."""
        await self._online.wait()

    async def record_audit(self, actor: str, action: str, detail: dict[str, Any]) -> None:
        """Append to the audit chain and queue it for MQTT (local operator actions...)."""
        await self.record.record_audit(actor, action, detail)

    def status_changed(self) -> None:
        """Ask for the retained status to be republished now (state or alarms changed)."""
        self._status_dirty.set()

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        if self._tg is None:
            raise RuntimeError("Reporter: spawn() outside `async with Reporter(...)`")
        task = self._tg.create_task(coro, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
        return task

    # The verbs of the registry (agent/verbs.py) this part answers itself.
    BUILTIN = ("status.get", "outbox.stats")

    def builtin_handlers(self) -> dict[str, Handler]:
        async def status_get(_command: Any) -> Any:
            return msgspec.to_builtins(self.build_status(online=True))

        async def outbox_stats(_command: Any) -> Any:
            return msgspec.to_builtins(self.outbox.stats())

        async def audit_head(_command: Any) -> Any:
            return await self.signed_head()

        own: dict[str, Handler] = {
            "status.get": status_get,
            "outbox.stats": outbox_stats,
            "audit.head": audit_head,
        }
        return {verb: checked(verb, handler) for verb, handler in own.items()}

    async def signed_head(self) -> dict[str, Any]:
        """The audit chain's head signed by the device key (docs/protocol.md)."""
        key, rack, ts = self.device_key, self.topics.rack, int(self.clock())
        if key is None:
            raise RuntimeError("Reporter: signed_head() outside `async with Reporter(...)`")
        return await self.outbox.store.call(lambda c: anchor.signed_head(c, key, rack, ts))

    def build_status(self, *, online: bool) -> Status:
        snapshot = self.status_provider()
        return Status(
            rack=self.topics.rack,
            site=self.topics.site,
            online=online,
            boot_id=self.boot_id,
            as_of_seq=self.outbox.last_seq,
            ts=self.clock(),
            session_at=self.session_at,
            version=self.version,
            config_digest=self.config_digest,
            device_key="" if self.device_key is None else public_b64(self.device_key),
            state=snapshot.state,
            devices=snapshot.devices,
            alarms=snapshot.alarms,
            outbox=self.outbox.stats(),
        )

    # --- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._own_record:
            await self.record.__aenter__()
        self.device_key = await self.outbox.store.transaction(anchor.device_key_in)
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        self._tg = tg
        self._tasks = [
            tg.create_task(self._run_mqtt(), name="report.mqtt"),
            tg.create_task(self._anchor_loop(), name="report.audit-head"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        assert tg is not None
        try:
            # What the parts published before we stop is committed first (and sent in
            # the next session if not now).
            with contextlib.suppress(StoreError):
                await self.record.flush()
            link = self._link
            if link is not None:
                # A clean disconnect does not fire the will: say "offline" ourselves.
                with contextlib.suppress(LinkDownError, TimeoutError):
                    async with asyncio.timeout(2.0):
                        await self._publish_status(link, online=False)
            for task in (*self._tasks, *self._spawned):  # running commands too
                task.cancel()
        finally:
            try:
                await tg.__aexit__(exc_type, exc, tb)
            finally:
                # Rows the broker acknowledged but the flusher had not deleted yet:
                # delete them now so the next boot does not send them again.
                with contextlib.suppress(StoreError):
                    await self.sender.flush()
                if self._own_record:
                    await self.record.__aexit__(exc_type, exc, tb)

    # --- tasks --------------------------------------------------------------------------

    def _committed(self, batch: list[Event]) -> None:
        if any(e.category == "status" or e.kind.startswith("alarm.") for e in batch):
            self._status_dirty.set()

    async def _anchor_loop(self) -> None:
        """Publish the signed audit head on ``events`` whenever it moved, at most once
        per interval: the ARS keeps these to check the rack's log later."""
        published = 0  # an empty chain has nothing to anchor
        while True:
            try:
                published = await self._anchor_once(published)
            except StoreError as exc:
                # A busy or failing disk costs one anchor, not the reporter (and with it
                # the agent): the next interval tries again, the chain is unchanged.
                log.warning("audit head not published this time: %s", exc)
            await asyncio.sleep(self.settings.audit_head_interval)

    async def _anchor_once(self, published: int) -> int:
        """Publish the signed head if it moved since ``published``; the head's id now."""
        head = await self.signed_head()
        if head["id"] != published:

            def write(
                conn: sqlite3.Connection, head: dict[str, Any] = head, ts: float = self.clock()
            ) -> int:
                return self.recorder.event_in(
                    conn, kind="audit.head", source="agent", category="event",
                    data=head, ts=ts,
                )  # fmt: skip

            await self.record.commit_with(write)
        return int(head["id"])

    def _will(self) -> WillMessage:
        """Built as each session opens, published by the broker when it is lost: only
        what holds for the whole session (docs/protocol.md, "The will")."""
        self.session_at = self.clock()
        status = Status(
            rack=self.topics.rack,
            site=self.topics.site,
            online=False,
            boot_id=self.boot_id,
            as_of_seq=None,
            ts=None,
            session_at=self.session_at,
            version=self.version,
            config_digest=self.config_digest,
            device_key="" if self.device_key is None else public_b64(self.device_key),
            state=None,
            outbox=None,
        )
        return WillMessage(self.topics.status, msgspec.json.encode(status), qos=1, retain=True)

    async def _run_mqtt(self) -> None:
        await run_sessions(self.broker, self._session, will=self._will)

    async def _session(self, link: Link) -> None:
        self.connects += 1
        try:
            await self._publish_status(link, online=True)  # the birth
            await link.subscribe(self.topics.command_filter, qos=1)
            self._link = link
            self._online.set()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._read(link), name="report.mqtt.intake")
                tg.create_task(self.sender.drain(link), name="report.mqtt.sender")
                tg.create_task(self._status_loop(link), name="report.mqtt.status")
        finally:
            self._link = None
            self._online.clear()

    async def _publish_status(self, link: Link, *, online: bool) -> None:
        payload = msgspec.json.encode(self.build_status(online=online))
        await link.publish(self.topics.status, payload, qos=1, retain=True)

    async def _status_loop(self, link: Link) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.status_interval):
                    await self._status_dirty.wait()
            self._status_dirty.clear()
            await self._publish_status(link, online=True)

    async def _read(self, link: Link) -> None:
        async for message in link.messages():
            verb = self.topics.verb_of(message.topic)
            if verb is None:
                continue
            await self.commands.handle(message, verb)

    async def reply(self, inbound: Inbound | None, payload: bytes) -> None:
        """Send a reply to the requester, if it asked for one and we are connected."""
        link = self._link
        if inbound is None or link is None:
            return
        topic = inbound.response_topic
        if topic is None or reply_topic_problem(topic, self.intake.limits) is not None:
            return  # never the rack's own topics, never outside the reply tree
        try:
            await link.publish(topic, payload, qos=1, correlation=inbound.correlation)
        except LinkDownError as exc:
            log.info(
                "report: reply to %s lost with the connection (%s); the outcome is in "
                "the audit log",
                inbound.response_topic,
                exc,
            )
