"""Drain the outbox to the broker, in order, with a sliding window of QoS 1 publishes.

Per connection: rows are published in id order (so the broker, which keeps the order of
one client's publishes on a topic, forwards them in order), at most ``window`` awaiting
their PUBACK. A row is deleted only after its PUBACK; deletions are batched in a
background task so the pipeline never waits for an fsync. When the connection dies, the
rows not yet acknowledged are simply published again on the next one, from the oldest:
the ARS may see a duplicate, always with the same ``boot_id``/``seq``, never a gap.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import NoReturn

from agent.adapters.mqtt import Link, LinkDownError
from agent.report.outbox import Outbox, Row

log = logging.getLogger(__name__)


class Sender:
    """One per agent; ``await sender.drain(link)`` inside each connection's TaskGroup."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        window: int = 20,
        batch: int = 500,
        ack_timeout: float = 30.0,
        flush_interval: float = 0.05,
    ) -> None:
        self.outbox = outbox
        self.window = max(1, window)
        self.batch = max(window, batch)
        self.ack_timeout = ack_timeout
        self.flush_interval = flush_interval
        self._acked: list[int] = []
        self._inflight = 0
        self._progress = asyncio.Event()
        self._flush_wanted = asyncio.Event()
        self.published = 0
        self.acknowledged = 0

    def _on_ack(self, row_id: int) -> None:
        self._inflight -= 1
        self.acknowledged += 1
        self._acked.append(row_id)
        self._progress.set()
        # The flusher deletes whatever accumulated while its previous transaction ran,
        # so deletions batch themselves at the rate the disk allows.
        self._flush_wanted.set()

    async def flush(self) -> None:
        """Delete every acknowledged row (durably) now."""
        while self._acked:
            ids, self._acked = self._acked, []
            try:
                await self.outbox.delete(ids)
            except BaseException:
                # Not deleted: they will be sent again (same seq), never lost.
                self._acked[:0] = ids
                raise

    async def _flusher(self) -> NoReturn:
        while True:
            await self._flush_wanted.wait()
            # Let acknowledgements accumulate a little: every delete is an fsync on the
            # store thread, which commands (nonce + audit) also wait for. A row deleted
            # late is at worst sent twice after a crash, with the same seq.
            if len(self._acked) < self.batch:
                await asyncio.sleep(self.flush_interval)
            self._flush_wanted.clear()
            await self.flush()

    async def _wait_for_window(self, link: Link) -> None:
        while self._inflight >= self.window:
            self._progress.clear()
            try:
                async with asyncio.timeout(self.ack_timeout):
                    await self._progress.wait()
            except TimeoutError:
                raise LinkDownError(
                    link.url.text,
                    f"{self._inflight} publishes unacknowledged for {self.ack_timeout} s; "
                    "treating the connection as dead and reconnecting",
                ) from None

    async def _wait_for_rows(self) -> None:
        """Idle: flush what was acknowledged, then sleep until a commit or an ack."""
        self._flush_wanted.set()
        await self.outbox.changed.wait()

    async def drain(self, link: Link) -> NoReturn:
        # Acks of the previous connection that were never deleted: delete them first,
        # or their rows would be sent again for nothing.
        await self.flush()
        self._inflight = 0
        last_id = 0
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._flusher(), name="report.sender.flush")
            prefetch: asyncio.Task[list[Row]] | None = None
            while True:
                if prefetch is None:
                    prefetch = self._fetch(tg, last_id)
                rows = await prefetch
                prefetch = None
                if not rows:
                    await self._wait_for_rows()
                    continue
                last_id = rows[-1].id
                # Read the next batch on the store thread while this one is on the wire.
                prefetch = self._fetch(tg, last_id)
                for row in rows:
                    await self._wait_for_window(link)
                    self._inflight += 1
                    self.published += 1
                    link.start_publish(
                        row.topic,
                        row.payload,
                        qos=row.qos,
                        retain=row.retain,
                        on_ack=functools.partial(self._on_ack, row.id),
                    )

    def _fetch(self, tg: asyncio.TaskGroup, after_id: int) -> asyncio.Task[list[Row]]:
        # Clear before the read starts, so a commit landing during it is not missed.
        self.outbox.changed.clear()
        return tg.create_task(self.outbox.fetch(after_id, self.batch), name="report.sender.fetch")
