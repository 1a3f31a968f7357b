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

Walks adapt to the agent (the caller, ``SnmpClient._walk_attempt``, decides; this module
signals with ``TooBig``, ``BulkRefused`` and ``ErrorStatus``): gufo 0.13 drops a reply's
error-status (a genErr table reads as an empty one) and cuts answers at 4080 bytes
(``SnmpDecodeError("incomplete")``). So when a page comes back empty, too large or not
at all, the request is sent again and the answer's header read here (``_parse``, a few
lines of BER per RFC 3416 / X.690) from a duplicate of gufo's socket, with GETNEXT from
the same place as the witness. Those steps run only on such pages: a walk that gets
full pages runs the loop above and nothing else. The GETNEXT walk reads every answer's
header the same way before gufo decodes it (one row per round trip anyway).

A thread cannot be cancelled. When the awaiting task is cancelled, it gets its
``CancelledError`` at once; the thread sees the walk abandoned before its next page,
stops, and its session and rows are dropped. So a cancelled walk keeps a worker (and
one request on the wire) for at most one page timeout.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from gufo.snmp import SnmpAuthError, SnmpDecodeError, ValueType
from gufo.snmp._fast import GetIter
from gufo.snmp.sync import SnmpSession as SyncSnmpSession

from agent.errors import ProtocolError

__all__ = [
    "GUFO_MAX_MESSAGE",
    "BulkRefused",
    "ErrorStatus",
    "SyncSnmpSession",
    "TooBig",
    "WalkThreads",
    "refresh",
    "walk",
]

# gufo-snmp 0.13 sends and receives through a 4080-byte buffer (src/buf/buffer.rs): a
# longer datagram arrives cut short and fails to decode as "incomplete".
GUFO_MAX_MESSAGE = 4080

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
    repetitions: int,
    where: tuple[str, str],
    abandoned: threading.Event,
    *,
    probe: bool = True,
) -> list[Row]:
    """Every (oid, value) under ``subtree``; blocking. GETBULK pages of ``repetitions``
    rows, or GETNEXT one row at a time when ``repetitions`` is 0.

    ``where`` is (device, "walk <subtree> on host:port") for error messages. Raises
    ``TimeoutError`` when the device does not answer, gufo's ``SnmpError`` family on
    malformed or refused answers, ``ProtocolError`` when the agent's answers loop, and
    the signals ``TooBig``, ``BulkRefused`` and ``ErrorStatus`` (see each) for the
    caller to adapt. ``probe``: on a GETBULK timeout, ask GETNEXT whether the device is
    there at all (the first attempt of a walk does; a retry does not, so that a dead
    device costs one timeout per retry, not two).
    """
    if repetitions == 0:
        return _walk_getnext(session, subtree, where, abandoned)
    sock = session._sock  # gufo's page call, see the module docstring
    cursor = GetIter(subtree, repetitions)
    rows: list[Row] = []
    cursors: set[str] = set()
    while not abandoned.is_set():
        try:
            page = sock.get_bulk(cursor)
        except BlockingIOError as exc:
            if not probe:
                raise TimeoutError("no GETBULK response before the session timeout") from exc
            page = _bulk_unanswered(session, cursor)
        except StopAsyncIteration:
            # An empty answer: past the end of the MIB, or an error-status that gufo
            # does not report (its varbinds are Null or none). Ask again and look.
            _bulk_empty(session, cursor, repetitions)
            return rows
        except SnmpDecodeError as exc:
            if str(exc) == "incomplete":
                raise TooBig(
                    f"a GETBULK answer of {repetitions} repetitions was larger than the "
                    f"{GUFO_MAX_MESSAGE} bytes gufo-snmp receives"
                ) from exc
            raise
        except SnmpAuthError:
            # A Report in answer to GETBULK: credentials, or an agent that reports the
            # PDU type as unknown. GETNEXT tells which.
            if _ask(session, session._sock.send_get_next, cursor).report:
                raise
            raise BulkRefused("GETBULK was answered with a Report while GETNEXT was not") from None
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
        _check_cursor(last[0], cursors, where)
        rows += page  # type: ignore[arg-type]  # None only ends a page, checked above
    raise _Abandoned


def _walk_getnext(
    session: SyncSnmpSession, subtree: str, where: tuple[str, str], abandoned: threading.Event
) -> list[Row]:
    """The walk by GETNEXT: one round trip per row, each answer looked at before gufo
    decodes it (gufo hides error-status, and panics on a noSuchInstance answer to
    GETNEXT, which some agents send at the end of their MIB instead of endOfMibView)."""
    sock = session._sock
    cursor = GetIter(subtree)
    rows: list[Row] = []
    cursors: set[str] = set()
    while not abandoned.is_set():
        sock.send_get_next(cursor)
        reply = _peek(session)
        if reply.status == _TOO_BIG:
            _consume(session)
            raise TooBig("the agent answered a GETNEXT (one row) with tooBig")
        if reply.status:
            _consume(session)
            if rows and _fails_past(session, subtree, reply.status):
                # The object after the last row is outside the subtree and refused: the
                # table itself was read to its end.
                return rows
            raise ErrorStatus(reply.status, reply.index, "GETNEXT")
        if reply.size > GUFO_MAX_MESSAGE:
            _consume(session)
            raise TooBig(
                f"a GETNEXT answer of {reply.size} bytes (one row) is larger than the "
                f"{GUFO_MAX_MESSAGE} bytes gufo-snmp receives"
            )
        if reply.exception_value:
            _consume(session)  # noSuchObject/noSuchInstance/endOfMibView: nothing follows
            return rows
        try:
            row = sock.recv_get_next(cursor)
        except BlockingIOError as exc:  # the peeked datagram was not gufo's answer
            raise TimeoutError("no GETNEXT response before the session timeout") from exc
        except StopAsyncIteration:
            return rows  # endOfMibView, or the next OID is outside the subtree
        _check_cursor(row[0], cursors, where)
        rows.append(row)
    raise _Abandoned


def _fails_past(session: SyncSnmpSession, subtree: str, status: int) -> bool:
    """Whether a GETNEXT from the very end of ``subtree`` (past any row it can hold:
    sub-identifiers are 32-bit) is refused with the same error-status, i.e. whether the
    refused object lies after the subtree rather than in it."""
    reply = _ask(session, session._sock.send_get_next, GetIter(f"{subtree}.4294967295"))
    return reply.status == status


def _check_cursor(oid: str, cursors: set[str], where: tuple[str, str]) -> None:
    if oid in cursors:
        device, what = where
        raise ProtocolError(
            device,
            f"{what}: the agent answered {oid} again, as on an earlier page; "
            "its MIB implementation loops: update its firmware or walk a smaller subtree",
        )
    cursors.add(oid)


# --- when a GETBULK page goes wrong ---------------------------------------------------
# These run only after the fast path above saw something odd (no answer, an empty
# answer, an answer too large): they send the request again and read the reply's header
# themselves, since gufo 0.13 drops error-status (it only reports authorizationError).


class TooBig(Exception):
    """An answer did not fit: the agent said tooBig, or it was larger than gufo-snmp's
    receive buffer. The caller walks again with fewer repetitions."""


class BulkRefused(Exception):
    """GETBULK went unanswered or was answered with an error while GETNEXT was answered
    from the same place. The caller walks this subtree by GETNEXT: if that completes,
    the device does not do GETBULK; if it meets the error too, the table is unreadable."""


class ErrorStatus(Exception):
    """The agent answered a read in this subtree with an error-status (RFC 3416)."""

    def __init__(self, status: int, index: int, request: str) -> None:
        self.status = status
        self.index = index
        self.name = ERROR_STATUS.get(status, f"error-status {status}")
        super().__init__(f"{request} was answered {self.name} (error-index {index})")


# RFC 3416 section 3 (PDU error-status values).
ERROR_STATUS = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}
_TOO_BIG = 1


def _bulk_unanswered(session: SyncSnmpSession, cursor: GetIter) -> list[Row | None]:
    """GETBULK got no answer in time. A device that is down does not answer GETNEXT
    either (TimeoutError, the usual retry); one that answers GETNEXT gets a second
    GETBULK, so that one lost datagram does not downgrade it."""
    _ask(session, session._sock.send_get_next, cursor)  # TimeoutError: the device is silent
    try:
        return session._sock.get_bulk(cursor)
    except BlockingIOError:
        raise BulkRefused("GETBULK got no answer in two tries while GETNEXT was answered") from None


def _bulk_empty(session: SyncSnmpSession, cursor: GetIter, repetitions: int) -> None:
    """An empty GETBULK answer: return at the true end, else raise what it was."""
    sock = session._sock
    reply = _ask(session, sock.send_get_bulk, cursor)
    if reply.status == _TOO_BIG:
        raise TooBig(f"the agent answered a GETBULK of {repetitions} repetitions with tooBig")
    if reply.status:
        if _ask(session, sock.send_get_next, cursor).status:
            raise ErrorStatus(reply.status, reply.index, "GETBULK and GETNEXT")
        raise BulkRefused(f"GETBULK was answered {ERROR_STATUS.get(reply.status, reply.status)}")


# --- reading a reply's header ----------------------------------------------------------


class _Reply:
    """What the header of an answer says (RFC 3416 PDU fields; BER per X.690)."""

    __slots__ = ("exception_value", "index", "report", "size", "status")

    def __init__(self, size: int) -> None:
        self.size = size
        self.status = 0
        self.index = 0
        self.report = False
        self.exception_value = False  # the first varbind is noSuchObject/...Instance/endOfMibView


def _ask(session: SyncSnmpSession, send: Callable[[GetIter], None], cursor: GetIter) -> _Reply:
    """Send one request (gufo encodes it) and take its answer off the socket ourselves."""
    send(cursor)
    reply = _peek(session)
    _consume(session)
    return reply


def _peek(session: SyncSnmpSession) -> _Reply:
    """The header of the next datagram on the session's socket, left in place for gufo
    (the socket's receive timeout is the session timeout: TimeoutError after it)."""
    with _dup(session) as sock:
        try:
            data = sock.recv(65535, socket.MSG_PEEK)
        except BlockingIOError as exc:
            raise TimeoutError("no response before the session timeout") from exc
    return _parse(data)


def _consume(session: SyncSnmpSession) -> None:
    with _dup(session) as sock:
        try:
            sock.recv(65535)
        except BlockingIOError as exc:
            raise TimeoutError("no response before the session timeout") from exc


def _dup(session: SyncSnmpSession) -> socket.socket:
    # A duplicate descriptor of gufo's socket (same socket, same receive timeout),
    # closed after use without closing gufo's.
    return socket.socket(fileno=os.dup(session._sock.get_fd()))


def _parse(data: bytes) -> _Reply:
    """Error-status, error-index and the first varbind's value tag of an SNMP message;
    left at 0 when the PDU cannot be read (v3 with privacy: it is encrypted)."""
    reply = _Reply(len(data))
    try:
        pos, _ = _header(data, 0, 0x30)  # Message
        pos, end = _header(data, pos, 0x02)  # msgVersion
        version = int.from_bytes(data[pos:end], "big")
        pos = end
        if version == 3:
            pos = _skip(data, pos)  # msgGlobalData
            pos = _skip(data, pos)  # msgSecurityParameters
            if data[pos] != 0x30:  # encryptedPDU: unreadable here
                return reply
            pos, _ = _header(data, pos, 0x30)  # ScopedPDU
            pos = _skip(data, pos)  # contextEngineID
            pos = _skip(data, pos)  # contextName
        else:
            pos = _skip(data, pos)  # community
        tag = data[pos]
        pos, _ = _header(data, pos, tag)
        if tag == 0xA8:  # Report-PDU
            reply.report = True
            return reply
        pos = _skip(data, pos)  # request-id
        pos, end = _header(data, pos, 0x02)
        reply.status = int.from_bytes(data[pos:end], "big", signed=True)
        pos, end = _header(data, end, 0x02)
        reply.index = int.from_bytes(data[pos:end], "big", signed=True)
        pos, end = _header(data, end, 0x30)  # VarBindList
        if pos < end:
            pos, _ = _header(data, pos, 0x30)  # the first VarBind
            pos = _skip(data, pos)  # its name
            # [0] noSuchObject, [1] noSuchInstance, [2] endOfMibView (RFC 3416 section 3)
            reply.exception_value = data[pos] in (0x80, 0x81, 0x82)
    except (IndexError, ValueError):
        return reply  # gufo's own decoder will say what is wrong with it
    return reply


def _header(data: bytes, pos: int, tag: int) -> tuple[int, int]:
    """(start, end) of the contents of the TLV at ``pos``, which must have ``tag``."""
    if data[pos] != tag:
        raise ValueError(f"tag {data[pos]:#x} at {pos}, expected {tag:#x}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        octets = length & 0x7F
        length = int.from_bytes(data[pos : pos + octets], "big")
        pos += octets
    return pos, pos + length


def _skip(data: bytes, pos: int) -> int:
    return _header(data, pos, data[pos])[1]
