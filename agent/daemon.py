"""The composition root: load the config, start every part, talk to systemd, stop cleanly.

One asyncio loop; each part is an async context manager entered in dependency order
(store, bus, then the parts that use them) and left in reverse order. SIGTERM and SIGINT
ask for an orderly stop. The systemd watchdog is pinged only while the loop is
responsive and no part has died, so a wedged agent is restarted by systemd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field

from agent import __version__
from agent.adapters import systemd
from agent.bus import Bus
from agent.bus import Event as BusEvent
from agent.conf import RackConfig, advice
from agent.record import Record
from agent.report.topics import Topics
from agent.store import Store

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What every part gets at start: the config, the store, the bus, the record (the
    journal's and audit chain's writer, always on) and identity."""

    config: RackConfig
    store: Store
    bus: Bus
    record: Record
    boot_id: str
    version: str = __version__
    status: Callable[[str], None] = field(default=lambda _line: None)
    # The running parts by name ("network", "power", "health", "lifecycle", "report"),
    # for the parts that use others; see agent/wiring.py.
    parts: dict[str, object] = field(default_factory=dict)


# A part is built from the context and entered as an async context manager; while
# entered it runs its own named tasks. Later parts (reporting, health, lifecycle) are
# appended by `default_parts`.
PartFactory = Callable[[Context], AbstractAsyncContextManager[object]]


class LoopMonitor:
    """Pings the systemd watchdog while the event loop keeps its schedule.

    Every ``period`` it measures how late it woke up; a loop blocked for longer than
    ``max_lag`` (a synchronous call gone astray) skips the ping, and systemd restarts
    the agent once ``WatchdogSec`` passes with no ping.
    """

    def __init__(self, interval: float, max_lag: float | None = None) -> None:
        self.period = interval / 3
        self.max_lag = max_lag if max_lag is not None else interval / 3
        self.last_lag = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.last_lag = loop.time() - planned
            if self.last_lag <= self.max_lag:
                systemd.notify("WATCHDOG=1")
            else:
                log.warning("event loop was %.2fs late; not pinging the watchdog", self.last_lag)


# How long the parts have to stop after SIGTERM before the agent gives up on them, says
# which tasks hung, and exits (systemd's TimeoutStopSec would SIGKILL it later anyway).
STOP_DEADLINE = 10.0


def _dump_tasks(why: str) -> None:
    import io  # noqa: PLC0415 - only on a failed stop

    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            out.write(f"task {task.get_name()}:\n")
            task.print_stack(limit=8, file=out)
    log.error("stop: %s; still running:\n%s", why, out.getvalue())


class Daemon:
    def __init__(self, config: RackConfig, parts: list[PartFactory] | None = None) -> None:
        self.config = config
        self.boot_id = str(uuid.uuid4())
        self.parts = parts if parts is not None else default_parts()
        self._stop = asyncio.Event()
        self.started_at = time.monotonic()
        self.context: Context | None = None
        self.ready = asyncio.Event()

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            log.info("stopping: %s", reason)
            self._stop.set()

    def _status(self, line: str) -> None:
        log.info("%s", line)
        systemd.notify(f"STATUS={line}")

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, signal.Signals(sig).name)
        main = asyncio.create_task(self._run(), name="daemon-main")
        stop = asyncio.create_task(self._stop.wait(), name="daemon-stop-request")
        try:
            await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not main.done():
                done, _ = await asyncio.wait({main}, timeout=STOP_DEADLINE)
                if not done:
                    _dump_tasks(f"parts did not stop within {STOP_DEADLINE:g}s")
                    logging.shutdown()
                    # asyncio.run would wait for the hung tasks forever: leave now, with
                    # the store's last transaction already durable.
                    os._exit(1)
            main.result()
        finally:
            stop.cancel()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return 0

    async def _run(self) -> None:
        config = self.config
        self._status(f"starting: rack {config.rack.id}, config {config.digest[:12]}")
        for warning in advice.warnings(config):
            log.warning("%s: %s", config.source or "config", warning)
        async with AsyncExitStack() as stack:
            store = await stack.enter_async_context(
                Store(config.resolve(config.store.path), exclusive=True)
            )
            bus = Bus()
            # Subscribed as the bus is born: every event any part publishes is committed
            # (outbox, audit chain), with or without MQTT.
            record = Record(
                store,
                bus,
                self.boot_id,
                Topics(config.mqtt.prefix, config.rack.site, config.rack.id),
                max_messages=config.mqtt.outbox_max_messages,
                telemetry_keep_every=config.mqtt.telemetry_keep_every,
            )
            await stack.enter_async_context(record)
            ctx = self.context = Context(
                config=config,
                store=store,
                bus=bus,
                record=record,
                boot_id=self.boot_id,
                status=self._status,
            )
            await store.set_meta("last_boot_id", self.boot_id)
            for factory in self.parts:
                await stack.enter_async_context(factory(ctx))
            async with asyncio.TaskGroup() as tg:
                interval = systemd.watchdog_interval()
                watchdog = None
                if interval is not None:
                    watchdog = tg.create_task(LoopMonitor(interval).run(), name="watchdog")
                systemd.notify("READY=1", f"STATUS=running: rack {config.rack.id}")
                self.ready.set()
                log.info(
                    "ready in %.3fs (boot id %s)", time.monotonic() - self.started_at, self.boot_id
                )
                await self._stop.wait()
                systemd.notify("STOPPING=1", "STATUS=stopping")
                if watchdog is not None:
                    watchdog.cancel()
            # Leaving the exit stack stops the parts in reverse order of start.
        log.info("stopped")


def default_parts() -> list[PartFactory]:
    """The parts a production daemon runs, in start order."""
    from agent import wiring  # noqa: PLC0415 - loads every part; `cleanroom version` need not

    return [_announce, *wiring.default_parts()]


@contextlib.asynccontextmanager
async def _announce(ctx: Context) -> AsyncIterator[None]:
    """Record each start in the audit-friendly journal so a crash loop is visible."""

    def write(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO journal(ts, boot_id, kind, subject, phase, data) "
            "VALUES (?, ?, 'daemon', 'agent', 'start', ?)",
            (time.time(), ctx.boot_id, json.dumps({"version": ctx.version})),
        )

    started = BusEvent(
        kind="agent.started", source="daemon", data={"boot_id": ctx.boot_id, "version": ctx.version}
    )
    await ctx.record.commit_with(write, [started])  # the entry and its event, together
    yield


def run(config: RackConfig) -> int:
    systemd.setup_logging()
    return asyncio.run(Daemon(config).run())
