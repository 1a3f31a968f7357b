"""GETBULK walks on gufo-snmp's synchronous client, in worker threads. Internal to
``agent.adapters.snmp``: import ``SnmpClient`` from there.

Why threads, measured with ``tests/bench/bench_snmp.py`` (40 devices walking
host-resources concurrently, CPU per 1000 OIDs): gufo's asyncio client pays, per
GETBULK page, an ``add_reader``/``remove_reader`` pair, a ``wait_for`` Task and an event
loop turn, and per OID an ``__anext__`` step; that is about as much CPU as the decoding
in its Rust core, and made our walks cost as much CPU as net-snmp's ``snmpbulkwalk``
(0.9-1.1x). A whole walk run by the synchronous client in a worker thread pays the
asyncio cost once per walk: the thread blocks in ``recv`` with the GIL released, so
pages cost one send and one receive system call each (about 0.45x of net-snmp).

Two things are written by hand here, and why:

- the page loop: gufo's synchronous ``getbulk`` iterator pops one OID per ``__next__``
  (a Python call and a ``list.pop(0)`` per OID), which alone costs about 0.15x of
  net-snmp's CPU; we call the same socket method that iterator calls (``get_bulk`` with
  a ``GetIter`` cursor, the ``SnmpClientSocketProtocol`` of gufo-snmp 0.13) and keep
  whole pages. The integration tests walk a real snmpd, so a gufo release that changes
  this call fails them.
- the timeout: gufo's synchronous socket has ``SO_RCVTIMEO`` set to the session timeout,
  so each page waits at most ``target.timeout`` (a stray datagram restarts the wait, as
  in the asyncio client), and an expired wait surfaces as ``BlockingIOError``, which we
  turn into the ``TimeoutError`` the asyncio client raises, so one retry loop serves both.

A thread cannot be cancelled. When the awaiting task is cancelled, it gets its
``CancelledError`` at once; the thread sees the walk abandoned before its next page,
stops, and its session and rows are dropped. So a cancelled walk keeps a worker (and
one request on the wire) for at most one page timeout.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from gufo.snmp import ValueType
from gufo.snmp._fast import GetIter
from gufo.snmp.sync import SnmpSession as SyncSnmpSession

from agent.errors import ProtocolError

__all__ = ["SyncSnmpSession", "WalkThreads", "refresh", "walk"]

T = TypeVar("T")
Row = tuple[str, ValueType]


class _Abandoned(Exception):
    """The awaiting task was cancelled; nobody will read this walk's result."""


class WalkThreads:
    """The worker threads of one ``SnmpClient``: at most ``workers`` of them, started on
    first use and ended by ``close``.

    Owned per client (not the loop's default executor) so that one dead device, whose
    walks each hold a thread for a whole timeout, cannot delay another device's reads;
    ``workers`` is the device's ``max_in_flight``, so the pool also keeps the bound on
    requests on the wire while an abandoned walk finishes its last page.
    """

    def __init__(self, device: str, workers: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"snmp {device}"
        )

    async def run(self, job: Callable[[threading.Event], T]) -> T:
        """``job(abandoned)`` in a worker thread; the job stops at its next check of
        ``abandoned`` once the awaiting task is cancelled."""
        abandoned = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(self._executor, job, abandoned)
        try:
            return await future
        except asyncio.CancelledError:
            abandoned.set()
            raise

    def close(self) -> None:
        """No new jobs; running and queued ones finish in the background, since their
        callers (if any are still awaiting) want the results."""
        self._executor.shutdown(wait=False)


def refresh(session: SyncSnmpSession, _abandoned: threading.Event) -> None:
    """SNMPv3 engine discovery and time sync (one round trip, a REPORT); blocking."""
    try:
        session.refresh()
    except BlockingIOError as exc:
        raise TimeoutError("no REPORT before the session timeout") from exc


def walk(
    session: SyncSnmpSession,
    subtree: str,
    max_repetitions: int,
    where: tuple[str, str],
    abandoned: threading.Event,
) -> list[Row]:
    """Every (oid, value) under ``subtree`` by GETBULK pages; blocking.

    ``where`` is (device, "walk <subtree> on host:port") for error messages. Raises
    ``TimeoutError`` when a page gets no answer in time, gufo's ``SnmpError`` family on
    malformed or refused answers, ``ProtocolError`` when the agent's answers loop.
    """
    sock = session._sock  # gufo's page call, see the module docstring
    cursor = GetIter(subtree, max_repetitions)
    rows: list[Row] = []
    cursors: set[str] = set()
    while not abandoned.is_set():
        try:
            page = sock.get_bulk(cursor)
        except BlockingIOError as exc:
            raise TimeoutError("no GETBULK response before the session timeout") from exc
        except StopAsyncIteration:
            return rows  # an empty answer or only endOfMibView: past the end of the MIB
        # gufo's page ends with None when an OID left the subtree: the walk is over.
        last = page[-1] if page else None
        if last is None:
            rows += page[:-1]  # type: ignore[arg-type]  # only the last item can be None
            return rows
        # The last OID is the next request's cursor. gufo only checks that it stays in
        # the subtree, so an agent that hands out a cursor again would be walked forever.
        # A set of the cursors seen catches every such loop at one lookup per page.
        # Checking that cursors increase numerically (split and int per page) made this
        # loop 5x dearer (measured: 0.05 against 0.01 ms per 1000 OIDs, 3 % of a walk's
        # CPU), and a finite MIB that never repeats a cursor ends anyway.
        cursor_oid = last[0]
        if cursor_oid in cursors:
            device, what = where
            raise ProtocolError(
                device,
                f"{what}: the agent answered {cursor_oid} again, as on an earlier page; "
                "its MIB implementation loops: update its firmware or walk a smaller subtree",
            )
        cursors.add(cursor_oid)
        rows += page  # type: ignore[arg-type]  # None only ends a page, checked above
    raise _Abandoned
