"""The alarm book: edges only, events on the bus, and the policy level."""

from __future__ import annotations

import asyncio

from agent.bus import Bus
from agent.health.alarms import AlarmBook, PolicyAction


def raise_(book: AlarmBook, alarm_id: str, action: str = "none") -> bool:
    return book.raise_alarm(
        alarm_id,
        device="pdu-a",
        sensor="temperature",
        kind="temperature",
        value=40.0,
        severity="warning",
        action=action,  # type: ignore[arg-type]
        message=f"{alarm_id} hot",
    )


async def test_edges_only_and_policy_levels() -> None:
    bus = Bus()
    sub = bus.subscribe()
    book = AlarmBook(bus, wall=lambda: 100.0)
    seen: list[PolicyAction] = []
    book.on_action(seen.append)
    assert raise_(book, "a", "degraded")
    assert not raise_(book, "a", "degraded")  # already active: no second event
    assert raise_(book, "b", "shutdown")
    assert raise_(book, "c", "none")
    assert book.clear_alarm("b", value=20.0, message="b cool")
    assert not book.clear_alarm("b", value=20.0, message="b cool")
    assert book.clear_alarm("a", value=20.0, message="a cool")
    assert [a.id for a in book.active()] == ["c"]
    assert [(p.verb, p.alarms) for p in seen] == [
        ("degraded", ("a",)),
        ("shutdown", ("b",)),
        ("degraded", ("a",)),
        ("recovered", ()),
    ]
    kinds = []
    while (event := sub.get_nowait()) is not None:
        kinds.append((event.kind, event.category, event.data.get("id")))
    assert [k for k in kinds if k[0].startswith("alarm")] == [
        ("alarm.raised", "event", "a"),
        ("alarm.raised", "event", "b"),
        ("alarm.raised", "event", "c"),
        ("alarm.cleared", "event", "b"),
        ("alarm.cleared", "event", "a"),
    ]
    assert book.level == "none"


async def test_actions_iterator_delivers_in_order() -> None:
    book = AlarmBook(Bus())
    received: list[str] = []

    async def consume() -> None:
        async for action in book.actions():
            received.append(action.verb)
            if action.verb == "recovered":
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    raise_(book, "x", "degraded")
    book.clear_alarm("x", value=None, message="x gone")
    await asyncio.wait_for(task, 5)
    assert received == ["degraded", "recovered"]
