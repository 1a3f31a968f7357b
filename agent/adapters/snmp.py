"""The SNMP adapter: the only code that talks to the SNMP libraries.

Reads (GET, multi-OID GET, GETBULK walk) go through gufo-snmp: its Rust core decodes
about 35x cheaper than pysnmp, and pollers read far more than anything writes. GETs use
its asyncio client; walks its synchronous client in worker threads (``snmp_walk``
says why). Writes (SET) go through pysnmp 7 (``snmp_write``), imported on the first
write only.

Callers get our types (``snmp_types``) and our exceptions (``agent.errors``), never a
library's. Secrets (communities, v3 keys) never reach a log line or an exception text.

Usage::

    async with SnmpClient(SnmpTarget("pdu-a", "10.0.0.5", community="ops")) as snmp:
        sys_object_id = await snmp.get_one("1.3.6.1.2.1.1.2.0")
        rows = await snmp.walk("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5")
        await snmp.set([("1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.3", Integer(1))])
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypedDict, TypeVar

from gufo.snmp import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    DesKey,
    Md5Key,
    NoSuchInstance,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    SnmpAuthError,
    SnmpDecodeError,
    SnmpEncodeError,
    SnmpError,
    SnmpVersion,
    User,
    ValueType,
)
from gufo.snmp.aio import SnmpSession

from agent.adapters import snmp_walk
from agent.adapters.snmp_types import (
    AUTH_PROTOCOLS,
    MESSAGE_RESERVE,
    MISSING,
    PRIV_PROTOCOLS,
    AuthProtocol,
    Gauge,
    Integer,
    IpAddress,
    Missing,
    OctetString,
    Oid,
    PrivProtocol,
    SetValue,
    SnmpTarget,
    TimeTicks,
    V3User,
    Value,
    as_text,
    check_oid,
    expect_bytes,
    expect_int,
    expect_oid,
    varbind_octets,
)
from agent.adapters.snmp_walk import SyncSnmpSession, WalkThreads
from agent.cancel import delivered
from agent.errors import DeviceUnreachable, NegativeReply, ProtocolError, TableUnreadable

if TYPE_CHECKING:
    from agent.adapters.snmp_write import SnmpWriter

__all__ = [
    "AUTH_PROTOCOLS",
    "MESSAGE_RESERVE",
    "MISSING",
    "PRIV_PROTOCOLS",
    "AuthProtocol",
    "Gauge",
    "Integer",
    "IpAddress",
    "Missing",
    "OctetString",
    "Oid",
    "PrivProtocol",
    "SetValue",
    "SnmpClient",
    "SnmpStats",
    "SnmpTarget",
    "TimeTicks",
    "V3User",
    "Value",
    "as_text",
    "check_oid",
    "expect_bytes",
    "expect_int",
    "expect_oid",
    "varbind_octets",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
S = TypeVar("S", SnmpSession, SyncSnmpSession)

_AUTH_KEYS = {
    "MD5": Md5Key,
    "SHA": Sha1Key,
    "SHA-224": Sha224Key,
    "SHA-256": Sha256Key,
    "SHA-384": Sha384Key,
    "SHA-512": Sha512Key,
}
_PRIV_KEYS = {"DES": DesKey, "AES": Aes128Key, "AES-192": Aes192Key, "AES-256": Aes256Key}
# RFC 3414 time window is 150 s; gufo-snmp asks its caller to refresh engine boots/time
# when a v3 session has been idle that long. We refresh a little earlier.
_V3_REFRESH_AFTER = 120.0
_BACKOFF_CAP = 5.0
# How long a device found without GETBULK is walked by GETNEXT before GETBULK is tried
# again (seconds).
_REPROBE_AFTER = 600.0
_GUFO_MAX_MESSAGE = snmp_walk.GUFO_MAX_MESSAGE
# The Python types gufo-snmp decodes SNMP values into that are ours too (see Value).
_DECODED = frozenset({int, bytes, str})


@dataclass(slots=True)
class SnmpStats:
    """Counters for one client: what a poller or a test needs to see retries happen."""

    requests: int = 0  # operations attempted: a GET, a whole walk, a SET, a v3 discovery
    timeouts: int = 0
    retries: int = 0
    adapted: int = 0  # walks done again with fewer repetitions or by GETNEXT


class _Session(Generic[S]):
    """One gufo-snmp session (one UDP socket) and when it was last used."""

    __slots__ = ("last_used", "session")
    session: S
    last_used: float

    def __init__(self, session: S) -> None:
        self.session = session
        self.last_used = time.monotonic()


class _SessionArgs(TypedDict, total=False):
    """Version-specific constructor arguments of gufo's asyncio and synchronous
    sessions (their signatures are the same)."""

    community: str
    engine_id: bytes | None
    user: User
    version: SnmpVersion


class SnmpClient:
    """An SNMP client for one device; an async context manager.

    gufo-snmp has a per-request timeout but no retries, so the retry loop (exponential
    backoff with jitter) is ours. It also serves one request at a time per session (one
    socket, one reader callback), so concurrency is a small pool of sessions bounded by
    ``target.max_in_flight``; a session whose request timed out is dropped, since a late
    answer may still be sitting in its socket. GETs use asyncio sessions and walks
    synchronous ones in at most ``max_in_flight`` worker threads (``snmp_walk``); both
    kinds share that one bound.
    """

    def __init__(self, target: SnmpTarget, *, rng: random.Random | None = None) -> None:
        self.target = target
        self.stats = SnmpStats()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._slots = asyncio.Semaphore(target.max_in_flight)
        self._idle: list[_Session[SnmpSession]] = []
        self._idle_sync: list[_Session[SyncSnmpSession]] = []
        self._threads: WalkThreads | None = None
        self._engine_id: bytes | None = None
        self._writer: SnmpWriter | None = None
        self._open = False

    @property
    def uses_getbulk(self) -> bool:
        """False once this device (host:port) was found to leave GETBULK unanswered or
        refused while GETNEXT worked: its walks then go by GETNEXT, one row per round
        trip, for every client of this process."""
        return _peer(self.target).getbulk

    async def __aenter__(self) -> Self:
        self._open = True
        # Threads start on the first walk only: a client that only GETs has none.
        self._threads = WalkThreads(self.target.device, self.target.max_in_flight)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        self._idle.clear()  # gufo-snmp closes a socket when its session is collected
        self._idle_sync.clear()
        if self._threads is not None:
            # A walk still running in a thread finishes within one page timeout.
            self._threads.close()
            self._threads = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- reads -------------------------------------------------------------------------

    async def get_one(self, oid: str) -> Value:
        """GET one OID; ``MISSING`` when the agent has no such object or instance."""
        check_oid(oid)

        async def op(session: SnmpSession) -> Value:
            try:
                raw = await delivered(session.get(oid))
            except NoSuchInstance:
                return MISSING
            return self._decode(oid, raw)

        what = f"GET {oid}"
        return await self._read(what, partial(self._aio_attempt, op))

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        """GET several OIDs in one PDU; every requested OID is a key of the result.

        gufo-snmp leaves out of its answer the OIDs the agent marks noSuchObject or
        noSuchInstance (and hides a read's error-status the same way), so an OID absent
        from the answer is ``MISSING`` here.
        """
        wanted = [check_oid(oid) for oid in oids]
        if not wanted:
            return {}

        async def op(session: SnmpSession) -> dict[str, Value]:
            raw = await delivered(session.get_many(wanted))
            return {oid: self._decode(oid, raw[oid]) if oid in raw else MISSING for oid in wanted}

        what = f"GET {_summary(wanted)}"
        values = await self._read(what, partial(self._aio_attempt, op))
        if len(wanted) > 1 and all(value is MISSING for value in values.values()):
            # gufo-snmp drops a GET answer's error-status and its varbinds alike, so one
            # refused object (genErr, noAccess...) makes every object of the PDU look
            # absent. Nothing answered: ask each object alone, so that the others are
            # read (the refused one stays MISSING). Truly absent objects cost one GET
            # each, which only a GET of nothing but absent objects pays.
            for oid in wanted:
                values[oid] = await self.get_one(oid)
        return values

    async def walk(self, subtree: str) -> list[tuple[str, Value]]:
        """Every (oid, value) under ``subtree``, in agent order, by GETBULK (by GETNEXT
        for a device without GETBULK, see ``uses_getbulk``).

        A timeout restarts the walk from the top (a retry): resuming mid-table could mix
        rows from two moments without the caller knowing. An answer too big restarts it
        with fewer repetitions, down to GETNEXT. The walk runs in a worker thread
        (``snmp_walk``); cancelling the caller returns at once.

        Raises ``TableUnreadable`` (a ``NegativeReply``) when the agent answers reads in
        ``subtree`` with an error-status: the caller reports that table as unreadable
        and goes on with the others. ``DeviceUnreachable`` means the device itself did
        not answer.
        """
        check_oid(subtree)
        what = f"walk {subtree}"
        attempts: list[None] = []  # one entry per attempt: the first one probes
        rows = await self._read(what, partial(self._walk_attempt, what, subtree, attempts))
        # Hot path (pollers walk thousands of rows): gufo's (oid, value) tuples are our
        # rows already, so the only pass is one type check over all of them (a set
        # comprehension, not a decode call per row); a bad row is then located.
        if not {type(raw) for _, raw in rows} <= _DECODED:
            for oid, raw in rows:
                self._decode(oid, raw)
        return rows  # type: ignore[return-value]  # checked just above

    # --- writes ------------------------------------------------------------------------

    async def set(self, varbinds: Sequence[tuple[str, SetValue]], *, retry: bool = False) -> None:
        """SET every varbind in one PDU (all or nothing, per RFC 3416).

        Sent once by default: after a lost answer nobody knows whether the write
        happened, so the caller reads the state back before deciding to send again
        (``agent.power.actions`` does). ``retry=True`` resends on timeout, for writes
        that are harmless to repeat.
        """
        for oid, _ in varbinds:
            check_oid(oid)
        if not varbinds:
            return
        writer = self._writer_for_use()
        attempts = self.target.retries + 1 if retry else 1
        for attempt in range(attempts):
            async with self._slots:
                self.stats.requests += 1
                try:
                    await writer.set(varbinds)
                except DeviceUnreachable:
                    self.stats.timeouts += 1
                    if attempt + 1 >= attempts:
                        raise
                else:
                    return
            await self._pause(attempt, f"SET {_summary([o for o, _ in varbinds])}")

    async def prepare_writes(self, oid: str = "1.3.6.1.2.1.1.3.0") -> None:
        """Get the SET path ready, so that the first write costs what the others do:
        loads the SET library and sends one GET of ``oid`` (sysUpTime.0 by default)
        through it with the write credentials (see ``SnmpWriter.prime``)."""
        check_oid(oid)
        writer = self._writer_for_use()
        async with self._slots:
            self.stats.requests += 1
            await writer.prime(oid)

    # --- machinery ---------------------------------------------------------------------

    def _writer_for_use(self) -> SnmpWriter:
        self._check_open()
        if self._writer is None:
            # Lazy: pysnmp is only loaded by processes that write.
            from agent.adapters.snmp_write import SnmpWriter  # noqa: PLC0415

            self._writer = SnmpWriter(self.target)
        return self._writer

    async def _read(self, what: str, attempt_once: Callable[[], Awaitable[T]]) -> T:
        """``attempt_once()`` with our retry loop, bound and error translation."""
        target = self.target
        attempts = target.retries + 1
        for attempt in range(attempts):
            self._check_open()
            async with self._slots:
                try:
                    return await attempt_once()
                # On any failure the session is dropped, not reused: a late or
                # malformed answer may still be queued on its socket.
                except TimeoutError as exc:
                    self.stats.timeouts += 1
                    if attempt + 1 >= attempts:
                        raise self._unreachable(what, attempts) from exc
                except SnmpError as exc:
                    raise self._translate(what, exc) from exc
                except OSError as exc:
                    # ICMP port unreachable surfaces as ConnectionRefusedError on the
                    # connected UDP socket: the host is up, nothing listens there.
                    raise DeviceUnreachable(
                        target.device,
                        f"{what} to {target.host}:{target.port}: {exc.strerror or exc}; check "
                        "that the device's SNMP agent is enabled and the port is right",
                    ) from exc
            await self._pause(attempt, what)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _aio_attempt(self, op: Callable[[SnmpSession], Awaitable[T]]) -> T:
        """One GET on an asyncio session: for a request of one datagram each way, the
        event loop costs less than a hop to a worker thread (measured: 42-50 us of CPU
        per GET against 75 us)."""
        slot = await self._aio_session()
        self.stats.requests += 1
        result = await op(slot.session)
        slot.last_used = time.monotonic()
        self._idle.append(slot)
        return result

    async def _walk_attempt(
        self, what: str, subtree: str, attempts: list[None]
    ) -> list[tuple[str, ValueType]]:
        """One whole walk in a worker thread, adapted to what the device can answer.

        The fast path is one GETBULK walk of ``max_repetitions`` (or of what this
        subtree was last walked with). An answer too big is walked again with half as
        many repetitions, down to GETNEXT; GETBULK unanswered or refused where GETNEXT
        answers is walked again by GETNEXT, and when that walk completes the device is
        remembered as one without GETBULK. Each new walk takes a fresh session, so a
        late answer to the old one cannot be mistaken for the new one's.
        """
        self._check_open()  # again: the client may have closed while we waited for a slot
        threads = self._threads
        assert threads is not None  # set whenever the client is open
        target = self.target
        peer = _peer(target)
        where = (target.device, f"{what} on {target.host}:{target.port}")
        repetitions = peer.repetitions(subtree, target.max_repetitions)
        probe = not attempts  # GETNEXT witnesses a GETBULK timeout on the first attempt only
        attempts.append(None)
        refused: snmp_walk.BulkRefused | None = None
        while True:
            slot = await self._sync_session(threads)
            self.stats.requests += 1
            job = partial(snmp_walk.walk, slot.session, subtree, repetitions, where, probe=probe)
            try:
                rows = await threads.run(job)
            except snmp_walk.TooBig as exc:
                if repetitions == 0:
                    raise ProtocolError(
                        target.device,
                        f"{where[1]}: {exc}; one row is too large for this client: "
                        "walk a smaller subtree or read that object some other way",
                    ) from exc
                repetitions = repetitions // 2 if repetitions >= 4 else 0
                peer.cap(subtree, repetitions)
                self.stats.adapted += 1
                log.info(
                    "%s: %s: %s; walking it again %s",
                    target.device,
                    where[1],
                    exc,
                    f"with {repetitions} repetitions" if repetitions else "by GETNEXT",
                )
                continue
            except snmp_walk.BulkRefused as exc:
                refused = exc
                repetitions = 0
                self.stats.adapted += 1
                continue
            except snmp_walk.ErrorStatus as exc:
                raise TableUnreadable(
                    target.device,
                    f"{where[1]}: {exc}, so the table under {subtree} cannot be read; "
                    "the agent fails on it (firmware, or an object it cannot serve): report "
                    "this table as unreadable and read the others",
                    status=exc.name,
                    oid=subtree,
                ) from exc
            break
        if refused is not None:
            peer.no_getbulk(target, str(refused))  # GETNEXT walked it where GETBULK did not
        slot.last_used = time.monotonic()
        self._idle_sync.append(slot)
        return rows

    async def _aio_session(self) -> _Session[SnmpSession]:
        """An idle asyncio session (refreshed if v3 and idle too long), or a new one."""
        while self._idle:
            slot = self._idle.pop()
            if self._stale(slot):
                try:
                    await delivered(slot.session.refresh())
                except TimeoutError:
                    continue  # an old session that cannot refresh is simply replaced
            return slot
        session = self._open_session(SnmpSession)
        if self.target.version == "3":
            # Engine discovery and time sync: one round trip, answered with a REPORT.
            self.stats.requests += 1
            await delivered(session.refresh())
            self._engine_id = session.get_engine_id()
        return _Session(session)

    async def _sync_session(self, threads: WalkThreads) -> _Session[SyncSnmpSession]:
        """The same for a synchronous session; its v3 round trips run in a thread."""
        while self._idle_sync:
            slot = self._idle_sync.pop()
            if self._stale(slot):
                try:
                    await threads.run(partial(snmp_walk.refresh, slot.session))
                except TimeoutError:
                    continue
            return slot
        session = self._open_session(SyncSnmpSession)
        if self.target.version == "3":
            self.stats.requests += 1
            await threads.run(partial(snmp_walk.refresh, session))
            self._engine_id = session.get_engine_id()
        return _Session(session)

    def _stale(self, slot: _Session[S]) -> bool:
        return self.target.version == "3" and time.monotonic() - slot.last_used > _V3_REFRESH_AFTER

    def _open_session(self, kind: type[S]) -> S:
        target = self.target
        args: _SessionArgs
        if target.version == "2c":
            args = {"community": target.community, "version": SnmpVersion.v2c}
        else:
            assert target.user is not None
            # A known engine id (from any earlier session) skips the discovery round trip.
            args = {
                "engine_id": self._engine_id,
                "user": _gufo_user(target.user),
                "version": SnmpVersion.v3,
            }
        try:
            return kind(
                target.host,
                port=target.port,
                timeout=target.timeout,
                max_repetitions=target.max_repetitions,
                **args,
            )
        except (OSError, ValueError) as exc:
            raise DeviceUnreachable(
                target.device,
                f"cannot open an SNMP socket to {target.host}:{target.port} "
                f"({type(exc).__name__}: {exc}); check the host name or address",
            ) from exc

    def _decode(self, oid: str, raw: object) -> Value:
        # bool is an int subclass but gufo-snmp never returns one; the order is the
        # frequency order in PDU tables (numbers first).
        if isinstance(raw, int | bytes | str):
            return raw
        raise ProtocolError(
            self.target.device,
            f"OID {oid} answered {type(raw).__name__} {raw!r}, which is not an SNMP value "
            "we use (a Null means the agent refused the read); check the OID in the driver",
        )

    def _translate(self, what: str, exc: SnmpError) -> Exception:
        target = self.target
        where = f"{what} on {target.host}:{target.port}"
        if isinstance(exc, SnmpAuthError):
            return NegativeReply(
                target.device,
                f"{where}: the agent refused our SNMPv3 credentials; check user name, "
                "auth/priv keys and protocols against the device",
                status="authenticationFailure",
            )
        if isinstance(exc, SnmpDecodeError) and str(exc) == "incomplete":
            # gufo-snmp receives into a fixed 4080-byte buffer, so an answer larger than
            # that arrives cut short and fails to decode the same way as a broken one.
            return ProtocolError(
                target.device,
                f"{where}: the answer was cut short; gufo-snmp receives at most "
                f"{_GUFO_MAX_MESSAGE} bytes per message, so lower max_repetitions (now "
                f"{target.max_repetitions}) or read fewer OIDs at once; if that does not "
                "help, the agent sends truncated messages",
            )
        if isinstance(exc, SnmpDecodeError | SnmpEncodeError):
            return ProtocolError(
                target.device,
                f"{where}: malformed SNMP message ({exc}); the agent is broken "
                "or something else answers on that port",
            )
        if isinstance(exc, NoSuchInstance):
            return NegativeReply(target.device, f"{where}: no such instance", status="noSuchName")
        return NegativeReply(target.device, f"{where}: {exc}", status=str(exc))

    def _unreachable(self, what: str, attempts: int) -> DeviceUnreachable:
        target = self.target
        return DeviceUnreachable(
            target.device,
            f"{what} to {target.host}:{target.port}: no answer after {attempts} attempt(s) of "
            f"{target.timeout}s; check the device is powered and reachable, and the SNMP "
            "version and community / v3 user (agents drop bad communities silently)",
        )

    async def _pause(self, attempt: int, what: str) -> None:
        delay = backoff_delay(self.target.backoff, attempt, self._rng)
        self.stats.retries += 1
        log.debug(
            "%s: %s timed out, retry %d in %.3fs", self.target.device, what, attempt + 1, delay
        )
        await asyncio.sleep(delay)

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(
                f"SnmpClient for {self.target.device!r} used outside 'async with'; "
                "open it with 'async with SnmpClient(target) as snmp:'"
            )


class _Peer:
    """What one device (host:port) was found to answer, for every client of this process.

    A module-level registry and not a client attribute: pollers, probes and actions each
    open their own SnmpClient for the same device, often one per operation, and a device
    that drops GETBULK would otherwise cost every new client two timeouts before its first
    walk. Keyed by "host:port" because that is the agent; entries are a few bytes per
    device and live as long as the process. A downgrade to GETNEXT is tried again after
    ``_REPROBE_AFTER``: two lost datagrams on a lossy link, or an agent restarted with
    GETBULK, must not cost one round trip per row for the life of the process.
    """

    __slots__ = ("_caps", "_getbulk", "_since", "seen")

    def __init__(self) -> None:
        self._getbulk = True
        self._since = 0.0  # monotonic time of the downgrade
        self.seen = ""
        self._caps: dict[str, int] = {}  # subtree -> repetitions that fit

    @property
    def getbulk(self) -> bool:
        if not self._getbulk and time.monotonic() - self._since > _REPROBE_AFTER:
            self._getbulk = True  # ask GETBULK again; a second refusal downgrades again
            log.info("asking GETBULK again of an agent downgraded %s ago", _REPROBE_AFTER)
        return self._getbulk

    def repetitions(self, subtree: str, configured: int) -> int:
        """0 (GETNEXT) for a device without GETBULK, else what last fit this subtree."""
        if not self.getbulk:
            return 0
        return min(configured, self._caps.get(subtree, configured))

    def cap(self, subtree: str, repetitions: int) -> None:
        self._caps[subtree] = repetitions

    def no_getbulk(self, target: SnmpTarget, seen: str) -> None:
        if not self._getbulk:
            return
        self._getbulk = False
        self._since = time.monotonic()
        self.seen = seen
        log.warning(
            "%s (%s:%s): %s; walking this device by GETNEXT for the next %.0f s (slower, "
            "one round trip per row), then asking GETBULK again",
            target.device,
            target.host,
            target.port,
            seen,
            _REPROBE_AFTER,
        )


_PEERS: dict[str, _Peer] = {}


def _peer(target: SnmpTarget) -> _Peer:
    key = f"{target.host}:{target.port}"
    peer = _PEERS.get(key)
    if peer is None:
        peer = _PEERS[key] = _Peer()
    return peer


def backoff_delay(base: float, attempt: int, rng: random.Random) -> float:
    """Pause before retry ``attempt + 1``: ``base * 2**attempt``, capped, times a jitter
    in [0.5, 1) so that 40 pollers that timed out together do not retry together."""
    return min(_BACKOFF_CAP, base * 2.0**attempt) * (0.5 + rng.random() / 2)


def _gufo_user(user: V3User) -> User:
    auth = _AUTH_KEYS[user.auth_protocol](user.auth_key.encode())
    priv = _PRIV_KEYS[user.priv_protocol](user.priv_key.encode()) if user.priv_key else None
    return User(user.name, auth_key=auth, priv_key=priv)


def _summary(oids: Sequence[str]) -> str:
    if len(oids) <= 3:
        return ", ".join(oids)
    return f"{oids[0]}, {oids[1]} and {len(oids) - 2} more OIDs"
