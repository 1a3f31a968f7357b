"""The local console audits every action, counts reads and audits the count."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agent.bus import Bus, Event
from agent.console import Console, request
from agent.errors import AgentError, PolicyRefusal


async def _answer(cmd: Any) -> dict[str, Any]:
    return {"verb": cmd.verb}


async def _refuse(cmd: Any) -> dict[str, Any]:
    raise PolicyRefusal("health.snapshot: the health part is not running")


def _audit(sub: Any) -> list[Event]:
    events = []
    while (event := sub.get_nowait()) is not None:
        if event.category == "audit":
            events.append(event)
    return events


async def test_reads_are_counted_actions_audited_one_by_one(tmp_path: Path) -> None:
    bus = Bus()
    sub = bus.subscribe()
    sock = tmp_path / "console.sock"
    handlers = {"runbook.status": _answer, "alarm.ack": _answer, "health.snapshot": _refuse}
    async with Console(sock, handlers, bus, read_interval=0.3):
        for _ in range(20):
            await request(sock, "runbook.status", {})
        await request(sock, "alarm.ack", {"alarm": "x"})
        with pytest.raises(AgentError, match="health part is not running"):
            await request(sock, "health.snapshot", {})
        first = _audit(sub)
        # The read refused is audited as before; the action one by one; no read yet.
        assert [e.kind for e in first] == ["console.command", "console.refused"]
        assert first[0].data["verb"] == "alarm.ack"
        assert first[1].data["verb"] == "health.snapshot"
        async with asyncio.timeout(5):
            while not (summary := _audit(sub)):
                await asyncio.sleep(0.05)
        (entry,) = summary
        assert entry.kind == "console.reads"
        assert entry.data["count"] == 20
        ((row),) = entry.data["reads"]
        assert (row["verb"], row["ok"], row["failed"]) == ("runbook.status", 20, 0)
        assert row["actor"].startswith("local:")
        for _ in range(3):
            await request(sock, "runbook.status", {})
    # Closing the console audits what was counted since: nothing is lost.
    (last,) = _audit(sub)
    assert (last.kind, last.data["count"]) == ("console.reads", 3)
