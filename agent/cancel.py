"""Cancellation that a library's ``asyncio.wait_for`` would lose, delivered anyway.

On Python 3.11 (Debian 12's, the controller's), ``asyncio.wait_for`` returns the
awaited result and drops the cancellation when both arrive in the same loop iteration
(CPython gh-86296; 3.12 rebuilt ``wait_for`` on ``asyncio.timeout`` and fixed it).
gufo-snmp awaits every reply with ``wait_for`` and aiomqtt every PUBACK and CONNACK, so a
poller cancelled just as its device answered carried on polling, and its TaskGroup, the
part, and the agent's stop waited for it until the 10 s stop deadline (seen about once in
ten stops on the demo rack).

`delivered` wraps one library await: if a cancellation was requested of the current
task while it waited (``Task.cancelling()`` grew) but no ``CancelledError`` came out, it
raises one. An enclosing ``asyncio.timeout`` that fired meanwhile then turns it into
``TimeoutError`` as it should. Only the adapters use it, around the library calls that
await with ``wait_for``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def delivered(awaitable: Awaitable[T]) -> T:
    """``await awaitable``, raising ``CancelledError`` if it swallowed a cancellation."""
    before = requests()
    try:
        result = await awaitable
    except asyncio.CancelledError:
        raise
    except BaseException:
        # The reply came and was an error (gufo: NoSuchInstance, an SNMP error): a
        # caller that turns it into a value would carry on polling, so check here too.
        raise_if_lost(before)
        raise
    raise_if_lost(before)
    return result


def requests() -> int:
    """How many cancellations of the current task are pending (0 outside a task)."""
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


def raise_if_lost(before: int) -> None:
    """Raise ``CancelledError`` if the current task was asked to cancel since ``before``
    (from `requests`) and is still running: the request was swallowed on the way. For
    the awaits whose result must be cleaned up first (a connection just opened)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling() > before:
        raise asyncio.CancelledError(
            f"{task.get_name()}: cancelled while awaiting a library call that returned "
            "anyway (asyncio.wait_for on Python 3.11)"
        )


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has ended, without ever swallowing a
    cancellation of the *current* task: ``asyncio.wait`` does not raise the children's
    ``CancelledError``, so the only one that can come out is ours, and it propagates.
    (``with suppress(CancelledError): await task`` cannot tell the two apart.) A task
    that failed instead of stopping raises its error here."""
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in pending:  # one that failed while stopping: its error is not lost
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
