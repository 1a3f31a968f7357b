"""Drain the outbox to the broker, in order, with a sliding window of QoS 1 publishes.

Per connection: rows are published in id order (so the broker, which keeps the order of
one client's publishes on a topic, forwards them in order), the window spanning from the
oldest row not yet acknowledged to the newest one sent. Rows are deleted only after
their PUBACK and only as a prefix: once every row up to id N is acknowledged, one
``DELETE ... WHERE id <= N`` removes them, in a background task so the pipeline never
waits for an fsync. When the connection dies, the rows not yet acknowledged are simply
published again on the next one, from the oldest: the ARS may see a duplicate, always
with the same ``boot_id``/``seq``, never a gap.

The window is ``ReportSettings.window`` (default 20), lowered by the adapter to what the
broker announces as its Receive Maximum: a wider window (100 replays about a fifth
faster on loopback, more over a long round trip) needs the broker set to accept it,
e.g. Mosquitto's ``max_inflight_messages 100`` (it also bounds the broker's own
deliveries to each subscriber; brokers that enforce the limit drop a client exceeding it).

The hot path is batch-shaped on purpose (a replay of a day's backlog is tens of
thousands of messages): rows are read as plain tuples, 2000 at a time, encoded once,
and handed to the link as many as the window allows in one write; acknowledgements come
back in bursts, one callback per socket read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import NoReturn

from agent.adapters.mqtt import Frame, Link, LinkDownError, encode_publish
from agent.report.outbox import Outbox, WireRow

log = logging.getLogger(__name__)


class Sender:
    """One per agent; ``await sender.drain(link)`` inside each connection's TaskGroup."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        window: int = 20,
        batch: int = 2000,
        ack_timeout: float = 30.0,
        flush_interval: float = 0.05,
    ) -> None:
        self.outbox = outbox
        self.window = max(1, window)
        self.batch = max(self.window, batch)
        self.ack_timeout = ack_timeout
        self.flush_interval = flush_interval
        # Row ids sent on this connection and not yet acknowledged as a prefix, in send
        # order; `_early` holds acknowledged ones still behind an older unacknowledged row.
        self._sent: deque[int] = deque()
        self._early: set[int] = set()
        self._acked_through = 0  # every row with an id up to this one is acknowledged
        self._deleted_through = 0
        self._progress = asyncio.Event()
        self._flush_wanted = asyncio.Event()
        self.published = 0
        self.acknowledged = 0
        self.refused = 0

    def _on_acks(self, tokens: list[int], refused: list[tuple[int, int]]) -> None:
        sent, early = self._sent, self._early
        for row_id in tokens:
            if sent and sent[0] == row_id:
                sent.popleft()
                self._acked_through = row_id
                while sent and sent[0] in early:
                    early.discard(head := sent.popleft())
                    self._acked_through = head
            else:
                early.add(row_id)
        for row_id, reason in refused:
            # Sending it again would be refused again and stall everything behind it.
            self.refused += 1
            log.warning(
                "report: the broker refused outbox row %d with reason code 0x%02x; it is "
                "dropped: check the broker's ACL and quotas for this rack's topics",
                row_id,
                reason,
            )
        self.acknowledged += len(tokens)
        self._progress.set()
        # The flusher deletes whatever accumulated while its previous transaction ran,
        # so deletions batch themselves at the rate the disk allows.
        if tokens:
            self._flush_wanted.set()

    async def flush(self) -> None:
        """Delete every acknowledged row (durably) now."""
        through = self._acked_through
        if through > self._deleted_through:
            # On failure nothing moves: the rows are sent again (same seq), never lost.
            await self.outbox.delete_through(through)
            self._deleted_through = through

    async def _flusher(self) -> NoReturn:
        while True:
            await self._flush_wanted.wait()
            # Let acknowledgements accumulate a little: every delete is an fsync on the
            # store thread, which commands (nonce + audit) also wait for. A row deleted
            # late is at worst sent twice after a crash, with the same seq.
            await asyncio.sleep(self.flush_interval)
            self._flush_wanted.clear()
            await self.flush()

    def _room(self, link: Link) -> int:
        return min(self.window - len(self._sent), link.stream_room())

    async def _wait_for_room(self, link: Link) -> int:
        while (room := self._room(link)) <= 0:
            self._progress.clear()
            try:
                async with asyncio.timeout(self.ack_timeout):
                    await self._progress.wait()
            except TimeoutError:
                raise LinkDownError(
                    link.url.text,
                    f"{len(self._sent)} publishes unacknowledged for {self.ack_timeout} s; "
                    "treating the connection as dead and reconnecting",
                ) from None
        return room

    async def _wait_for_rows(self) -> None:
        """Idle: flush what was acknowledged, then sleep until a commit."""
        self._flush_wanted.set()
        await self.outbox.changed.wait()

    async def drain(self, link: Link) -> NoReturn:
        # Acks of the previous connection that were never deleted: delete them first,
        # or their rows would be sent again for nothing.
        await self.flush()
        self._sent.clear()
        self._early.clear()
        link.open_stream(self._on_acks)
        last_id = 0
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._flusher(), name="report.sender.flush")
            prefetch: asyncio.Task[list[WireRow]] | None = None
            while True:
                if prefetch is None:
                    prefetch = self._fetch(tg, last_id)
                rows = await prefetch
                prefetch = None
                if not rows:
                    await self._wait_for_rows()
                    continue
                last_id = rows[-1][0]
                # Read the next batch on the store thread while this one is on the wire.
                prefetch = self._fetch(tg, last_id)
                ids = [row[0] for row in rows]
                frames: list[Frame] = [
                    encode_publish(topic, payload, qos, bool(retain))
                    for _, topic, qos, retain, payload in rows
                ]
                start = 0
                while start < len(ids):
                    end = start + await self._wait_for_room(link)
                    self._sent.extend(ids[start:end])
                    self.published += len(ids[start:end])
                    link.stream_send(ids[start:end], frames[start:end])
                    start = end

    def _fetch(self, tg: asyncio.TaskGroup, after_id: int) -> asyncio.Task[list[WireRow]]:
        # Clear before the read starts, so a commit landing during it is not missed.
        self.outbox.changed.clear()
        return tg.create_task(
            self.outbox.fetch_wire(after_id, self.batch), name="report.sender.fetch"
        )
