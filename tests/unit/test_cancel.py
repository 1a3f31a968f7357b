"""`agent.cancel`: a cancellation swallowed by ``asyncio.wait_for`` is delivered anyway."""

from __future__ import annotations

import asyncio
import sys

import pytest

from agent import cancel


async def waiting_task(
    fut: asyncio.Future[int], *, scope: asyncio.Timeout | None = None
) -> asyncio.Task[int]:
    """A task awaiting ``fut`` the way gufo-snmp and aiomqtt do, through our wrapper."""

    async def body() -> int:
        if scope is None:
            return await cancel.delivered(asyncio.wait_for(fut, 60))
        async with scope:
            return await cancel.delivered(asyncio.wait_for(fut, 60))

    task = asyncio.create_task(body(), name="waiter")
    await asyncio.sleep(0)  # it now waits inside wait_for
    return task


async def test_a_result_and_a_cancel_together_end_in_cancelled() -> None:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = await waiting_task(fut)
    fut.set_result(7)
    task.cancel()  # before the task woke up: 3.11's wait_for returns 7 here
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_bare_wait_for_loses_that_cancel_before_python_3_12() -> None:
    """Why the wrapper exists: without it, on 3.11 (the controller's Python), the same
    sequence returns the result; 3.12 rebuilt wait_for and delivers the cancel."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def bare() -> int:
        return await asyncio.wait_for(fut, 60)

    task = asyncio.create_task(bare())
    await asyncio.sleep(0)
    fut.set_result(7)
    task.cancel()
    if sys.version_info < (3, 12):
        assert await task == 7
    else:
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_an_enclosing_timeout_that_fires_then_raises_timeout_error() -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()
    scope = asyncio.timeout(None)
    task = await waiting_task(fut, scope=scope)
    fut.set_result(7)
    scope.reschedule(loop.time() - 1)  # fires in the next iteration, after the result
    with pytest.raises(TimeoutError):
        await task


async def test_an_undisturbed_await_returns_its_result() -> None:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = await waiting_task(fut)
    fut.set_result(7)
    assert await task == 7


async def test_cleanup_after_an_earlier_cancel_is_not_cancelled_again() -> None:
    """A task already cancelled, awaiting a library call in its cleanup, finishes it."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    cleaned: list[int] = []

    async def body() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.append(await cancel.delivered(asyncio.wait_for(fut, 60)))

    task = asyncio.create_task(body())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)  # now in its finally, waiting on fut
    fut.set_result(7)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [7]


async def test_a_cancel_swallowed_before_a_library_error_is_delivered() -> None:
    """gufo reads the reply after its wait_for: a NoSuchInstance raised then must not
    hide the cancel that wait_for swallowed (the adapter turns it into a value)."""

    class NoSuchInstance(Exception):
        pass

    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def library_get() -> int:
        await asyncio.wait_for(fut, 60)
        raise NoSuchInstance

    async def body() -> str:
        try:
            await cancel.delivered(library_get())
        except NoSuchInstance:
            return "missing"
        return "value"

    task = asyncio.create_task(body())
    await asyncio.sleep(0)
    fut.set_result(7)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
