"""The worker threads SNMP walks run in: results, errors and cancellation (real threads)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent.adapters.snmp_walk import WalkThreads


async def test_a_job_returns_its_result_and_its_error() -> None:
    threads = WalkThreads("pdu-a", 2)
    try:
        assert await threads.run(lambda abandoned: (threading.current_thread().name, 42)) == (
            "snmp pdu-a_0",
            42,
        )

        def fails(abandoned: threading.Event) -> None:
            raise TimeoutError("no GETBULK response before the session timeout")

        with pytest.raises(TimeoutError, match="GETBULK"):
            await threads.run(fails)
    finally:
        threads.close()


async def test_cancelling_the_caller_returns_while_the_thread_runs_and_abandons_the_job() -> None:
    threads = WalkThreads("pdu-a", 1)
    started = threading.Event()
    gate = threading.Event()
    seen: list[bool] = []

    def blocked_page(abandoned: threading.Event) -> str:
        # Stands for a page's recv: the thread is stuck until the answer (gate) comes.
        started.set()
        gate.wait()
        seen.append(abandoned.is_set())
        return "rows nobody reads"

    task = asyncio.create_task(threads.run(blocked_page), name="walk-to-cancel")
    await asyncio.to_thread(started.wait)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The caller is back although the thread is still blocked in its "page".
    assert not gate.is_set()
    assert seen == []
    gate.set()
    threads.close()
    workers = [t for t in threading.enumerate() if t.name.startswith("snmp pdu-a")]
    for worker in workers:
        await asyncio.to_thread(worker.join)
    assert seen == [True]  # the job saw the walk abandoned before its next page


async def test_a_queued_job_of_a_cancelled_caller_never_runs() -> None:
    threads = WalkThreads("pdu-b", 1)
    started = threading.Event()
    gate = threading.Event()
    ran: list[str] = []

    def first(abandoned: threading.Event) -> None:
        started.set()
        gate.wait()
        ran.append("first")

    def second(abandoned: threading.Event) -> None:
        ran.append("second")

    running = asyncio.create_task(threads.run(first), name="first-walk")
    await asyncio.to_thread(started.wait)
    queued = asyncio.create_task(threads.run(second), name="queued-walk")
    await asyncio.sleep(0)  # let it submit its job behind the first one
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    gate.set()
    await running
    threads.close()
    for worker in [t for t in threading.enumerate() if t.name.startswith("snmp pdu-b")]:
        await asyncio.to_thread(worker.join)
    assert ran == ["first"]
