"""Pushes to browsers, coalesced: at most one fleet delta and one picture per rack per
flush, whatever the message rate (200 racks at 20 messages a second would otherwise
redraw the page for every message).

Framework-neutral: a `Client` is a bounded queue of ``(event, json bytes)``; the server
module turns it into a server-sent event stream. A client too slow to drain its queue is
dropped (its page reconnects and starts from a full snapshot).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import msgspec

from agent.board.commands import Commands
from agent.board.model import FleetModel, RackKey

log = logging.getLogger(__name__)
QUEUE = 64
FLUSH_S = 0.25


@dataclass(eq=False)
class Client:
    rack: RackKey | None
    queue: asyncio.Queue[tuple[str, bytes]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE)
    )
    dropped: bool = False


class Hub:
    def __init__(self, model: FleetModel) -> None:
        self.model = model
        self.clients: set[Client] = set()
        self.dirty: set[RackKey] = set()
        self.commands_dirty = False
        self.wake = asyncio.Event()
        self.flushes = 0

    def changed(self, key: RackKey) -> None:
        self.dirty.add(key)
        self.wake.set()

    def commands_changed(self) -> None:
        self.commands_dirty = True
        self.wake.set()

    def join(self, rack: RackKey | None) -> Client:
        client = Client(rack)
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def _send(self, client: Client, event: str, data: bytes) -> None:
        try:
            client.queue.put_nowait((event, data))
        except asyncio.QueueFull:
            log.warning("board: a page is too slow to follow; dropping it (it reconnects)")
            client.dropped = True
            self.clients.discard(client)
            while not client.queue.empty():
                client.queue.get_nowait()
            client.queue.put_nowait(("bye", b"{}"))

    def flush(self, commands_json: bytes | None) -> None:
        dirty, self.dirty = self.dirty, set()
        self.flushes += 1
        if dirty:
            rows = msgspec.json.encode([self.model.row(key) for key in dirty])
            pictures: dict[RackKey, bytes] = {}
            for client in list(self.clients):
                self._send(client, "rows", rows)
                if client.rack in dirty:
                    if client.rack not in pictures:
                        pictures[client.rack] = msgspec.json.encode(self.model.picture(client.rack))
                    self._send(client, "rack", pictures[client.rack])
        if commands_json is not None:
            for client in list(self.clients):
                self._send(client, "commands", commands_json)

    async def run(self, commands: Commands) -> None:
        """Flush every `FLUSH_S` while something changed; forever (a named task)."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            await asyncio.sleep(FLUSH_S)
            listing = None
            if self.commands_dirty:
                self.commands_dirty = False
                listing = msgspec.json.encode(commands.as_json())
            self.flush(listing)
