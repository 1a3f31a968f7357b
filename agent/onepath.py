"""One path to the rack for the CLI: ask the running agent, or act directly and say so.

When an agent runs (its console socket answers), a command that changes the rack is a
request to it: serialised with everything else it does, journaled, and audited as
``local:<user>`` (the console reads the caller's uid from the socket). When no agent
runs, the CLI acts on the devices itself, says so on stderr, and records what it did in
the same store the agent uses: the audit chain and the outbox (through `Record`, which
hears the bus of the parts the CLI opens), so the ARS and `cleanroom audit verify` see
it like any other action. The store's lock makes the two exclusive: a direct action
cannot start while an agent holds the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from agent.bus import Bus, Event
from agent.conf import RackConfig
from agent.console import request
from agent.errors import EnvironmentMissing
from agent.lifecycle.journal import Journal
from agent.record import Record
from agent.report.topics import Topics
from agent.store import Store


class NoAgent(Exception):
    """No agent answers on the console socket: act directly."""


def local_actor() -> str:
    try:
        return f"local:{pwd.getpwuid(os.getuid()).pw_name}"
    except KeyError:
        return f"local:uid{os.getuid()}"


def ask(config: RackConfig, verb: str, args: dict[str, Any], timeout: float = 120.0) -> Any:
    """The running agent's answer to ``verb``; `NoAgent` when none listens."""
    sock = config.state_dir() / "console.sock"
    try:
        return asyncio.run(request(sock, verb, args, timeout=timeout))
    except EnvironmentMissing as exc:
        raise NoAgent(str(exc)) from None


@dataclass
class Direct:
    """What a direct action may use: a bus whose audit events reach the store's record,
    the journal, and who acts."""

    config: RackConfig
    bus: Bus
    journal: Journal
    actor: str

    def audited(self, action: str, **detail: Any) -> Event:
        """The audit event of ``action`` by this actor (to journal with an entry)."""
        return Event(
            kind=action, source="cli", category="audit", data={"actor": self.actor, **detail}
        )

    def audit(self, action: str, **detail: Any) -> None:
        self.bus.publish(self.audited(action, **detail))


@contextlib.asynccontextmanager
async def direct(config: RackConfig, what: str) -> AsyncIterator[Direct]:
    """Open the agent's store (refused while an agent holds it) and record everything
    published on the yielded bus, starting with who acts directly and why."""
    path = config.resolve(config.store.path)
    actor = local_actor()
    print(
        f"cleanroom: no agent is running ({config.state_dir() / 'console.sock'} does not "
        f"answer): {what} directly on the devices, audited as {actor} in {path}",
        file=sys.stderr,
    )
    boot_id = f"cli-{uuid.uuid4()}"
    bus = Bus()
    topics = Topics(config.mqtt.prefix, config.rack.site, config.rack.id)
    async with Store(path, exclusive=True) as store:
        record = Record(
            store,
            bus,
            boot_id,
            topics,
            max_messages=config.mqtt.outbox_max_messages,
            telemetry_keep_every=config.mqtt.telemetry_keep_every,
        )
        async with record:
            act = Direct(config, bus, Journal(store, boot_id, record=record), actor)
            act.audit("cli.direct", what=what, reason="no agent running")
            yield act
