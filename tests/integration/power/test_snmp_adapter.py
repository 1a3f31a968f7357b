"""The SNMP adapter against a real net-snmp snmpd over UDP on loopback."""

from __future__ import annotations

import asyncio
import select
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest

from agent.adapters import snmp_write
from agent.adapters.snmp import (
    MISSING,
    Integer,
    OctetString,
    SnmpClient,
    SnmpTarget,
    V3User,
)
from agent.errors import DeviceUnreachable, NegativeReply, ProtocolError
from agent.sim.testing import free_port
from tests.integration.power.snmpd_fixture import (
    RO_COMMUNITY,
    RW_COMMUNITY,
    TYPES_ROOT,
    V3_AUTH_KEY,
    V3_PRIV_KEY,
    V3_USER,
    Snmpd,
)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
IF_HC_IN_OCTETS_1 = "1.3.6.1.2.1.31.1.1.1.6.1"  # Counter64
NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"


def v2c(server: Snmpd, **kw: object) -> SnmpTarget:
    base = SnmpTarget(
        "snmpd",
        server.host,
        server.port,
        community=RO_COMMUNITY,
        write_community=RW_COMMUNITY,
        timeout=1.0,
        retries=1,
        backoff=0.01,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def v3(server: Snmpd, auth_key: str = V3_AUTH_KEY, user: str = V3_USER) -> SnmpTarget:
    return SnmpTarget(
        "snmpd-v3",
        server.host,
        server.port,
        version="3",
        user=V3User(user, auth_key=auth_key, priv_key=V3_PRIV_KEY),
        timeout=1.0,
        retries=0,
    )


@pytest.fixture
async def client(snmpd: Snmpd) -> AsyncIterator[SnmpClient]:
    async with SnmpClient(v2c(snmpd)) as snmp:
        yield snmp


async def test_get_one_decodes_an_oid(client: SnmpClient) -> None:
    assert await client.get_one(SYS_OBJECT_ID) == NET_SNMP_LINUX


async def test_every_type_decodes_into_our_types(client: SnmpClient) -> None:
    oids = [f"{TYPES_ROOT}.{n}.0" for n in range(1, 9)]
    values = await client.get([*oids, IF_HC_IN_OCTETS_1])
    assert [values[o] for o in oids] == [
        -5,  # INTEGER
        4_000_000_000,  # Gauge32
        123,  # Counter32
        4242,  # TimeTicks
        "10.1.2.3",  # IpAddress
        "1.3.6.1.4.1.318.1.3.4.5",  # OBJECT IDENTIFIER
        b"\x00\xff\x10",  # OCTET STRING (binary)
        b"hello",  # OCTET STRING (text)
    ]
    counter64 = values[IF_HC_IN_OCTETS_1]
    assert isinstance(counter64, int)
    assert counter64 >= 0


async def test_walk_returns_the_subtree_in_order(client: SnmpClient) -> None:
    rows = await client.walk(TYPES_ROOT)
    assert [oid for oid, _ in rows] == [f"{TYPES_ROOT}.{n}.0" for n in range(1, 9)]
    assert rows[0][1] == -5
    assert await client.walk(f"{TYPES_ROOT}.42") == []


async def test_walk_spans_several_getbulk_pages(snmpd: Snmpd) -> None:
    async with SnmpClient(v2c(snmpd, max_repetitions=3)) as snmp:
        rows = await snmp.walk("1.3.6.1.2.1.1")
    oids = [oid for oid, _ in rows]
    assert len(oids) > 10  # system group plus sysORTable
    assert oids[:2] == [SYS_DESCR, SYS_OBJECT_ID]
    assert all(o.startswith("1.3.6.1.2.1.1.") for o in oids)


async def test_missing_objects_decode_as_missing(client: SnmpClient) -> None:
    assert await client.get_one("1.3.6.1.2.1.1.99.0") is MISSING  # noSuchObject
    assert await client.get_one(f"{TYPES_ROOT}.1.1") is MISSING  # noSuchInstance
    values = await client.get([SYS_OBJECT_ID, "1.3.6.1.2.1.1.99.0", f"{TYPES_ROOT}.9.0"])
    assert values == {
        SYS_OBJECT_ID: NET_SNMP_LINUX,
        "1.3.6.1.2.1.1.99.0": MISSING,
        f"{TYPES_ROOT}.9.0": MISSING,
    }


async def test_set_v2c_then_read_back(client: SnmpClient) -> None:
    await client.set([(SYS_CONTACT, OctetString(b"rack-ops@ars.example"))])
    assert await client.get_one(SYS_CONTACT) == b"rack-ops@ars.example"


async def test_set_of_read_only_oid_names_status_and_oid(client: SnmpClient) -> None:
    with pytest.raises(NegativeReply) as caught:
        await client.set(
            [(SYS_CONTACT, OctetString(b"x")), (SYS_DESCR, OctetString(b"not writable"))]
        )
    assert caught.value.status == "notWritable"
    assert caught.value.oid == SYS_DESCR
    assert SYS_DESCR in str(caught.value)


async def test_set_of_wrong_type_is_a_negative_reply(client: SnmpClient) -> None:
    with pytest.raises(NegativeReply) as caught:
        await client.set([(SYS_CONTACT, Integer(3))])
    assert caught.value.status == "wrongType"
    assert caught.value.oid == SYS_CONTACT


async def test_set_with_read_only_community_is_refused(snmpd: Snmpd) -> None:
    async with SnmpClient(v2c(snmpd, write_community=RO_COMMUNITY)) as snmp:
        with pytest.raises(NegativeReply) as caught:
            await snmp.set([(SYS_CONTACT, OctetString(b"x"))])
    assert caught.value.status == "noAccess"
    assert RO_COMMUNITY not in str(caught.value)


async def test_v3_auth_priv_get_walk_set(snmpd: Snmpd) -> None:
    async with SnmpClient(v3(snmpd)) as snmp:
        assert await snmp.get_one(SYS_OBJECT_ID) == NET_SNMP_LINUX
        rows = await snmp.walk(TYPES_ROOT)
        assert len(rows) == 8
        await snmp.set([(SYS_LOCATION, OctetString(b"truck 2, bay 1"))])
        assert await snmp.get([SYS_LOCATION]) == {SYS_LOCATION: b"truck 2, bay 1"}


async def test_writers_share_an_engine_per_credential_and_keep_their_own(
    snmpd: Snmpd,
) -> None:
    """Writers on one loop share a pysnmp engine per credential: two v2c communities
    share one and each SET still goes out with its own community (the read-only one is
    refused, the other is not); a v3 user with the wrong key, sent at the same time as
    the right one, gets its own engine and is refused alone. The last close frees them."""
    rw, ro = v2c(snmpd, device="rw"), v2c(snmpd, device="ro", write_community=RO_COMMUNITY)
    wrong = replace(v3(snmpd), device="v3-wrong", user=V3User(V3_USER, "wrong-pass-phrase"))
    async with (
        SnmpClient(rw) as a,
        SnmpClient(ro) as b,
        SnmpClient(v3(snmpd)) as c,
        SnmpClient(wrong) as d,
    ):
        results = await asyncio.gather(
            a.set([(SYS_CONTACT, OctetString(b"shared engine"))]),
            b.set([(SYS_CONTACT, OctetString(b"read-only"))]),
            c.set([(SYS_LOCATION, OctetString(b"v3 shared"))]),
            d.set([(SYS_LOCATION, OctetString(b"wrong key"))]),
            return_exceptions=True,
        )
        assert results[0] is None
        assert results[2] is None
        assert isinstance(results[1], NegativeReply)
        assert results[1].status == "noAccess"
        assert isinstance(results[3], NegativeReply)
        assert results[3].status == "authenticationFailure"
        assert await a.get([SYS_CONTACT, SYS_LOCATION]) == {
            SYS_CONTACT: b"shared engine",
            SYS_LOCATION: b"v3 shared",
        }
        engines = {id(w._writer._engine) for w in (a, b, c, d) if w._writer is not None}
        assert len(engines) == 3  # v2c (both communities), v3, v3 with the other key
    assert snmp_write._ENGINES.in_use() == 0


async def test_two_first_sets_at_once_take_one_engine_and_close_it(snmpd: Snmpd) -> None:
    """max_in_flight lets a client's first two SETs start together: they must share one
    engine reference, or the engine outlives the client."""
    async with SnmpClient(v2c(snmpd, device="twice")) as snmp:
        await asyncio.gather(
            snmp.set([(SYS_CONTACT, OctetString(b"first"))]),
            snmp.set([(SYS_LOCATION, OctetString(b"second"))]),
        )
        assert snmp_write._ENGINES.in_use() == 1
    assert snmp_write._ENGINES.in_use() == 0


@pytest.mark.parametrize(
    ("auth_key", "user"),
    [("wrong-pass-phrase", V3_USER), (V3_AUTH_KEY, "nobody")],
    ids=["wrong-key", "unknown-user"],
)
async def test_v3_bad_credentials_are_refused_without_leaking_keys(
    snmpd: Snmpd, auth_key: str, user: str
) -> None:
    target = v3(snmpd, auth_key=auth_key, user=user)
    async with SnmpClient(target) as snmp:
        with pytest.raises(NegativeReply) as read_error:
            await snmp.get_one(SYS_NAME)
        with pytest.raises(NegativeReply) as write_error:
            await snmp.set([(SYS_NAME, OctetString(b"x"))])
    for caught in (read_error, write_error):
        assert caught.value.status == "authenticationFailure"
        text = str(caught.value)
        assert auth_key not in text
        assert V3_PRIV_KEY not in text
    assert auth_key not in repr(target)
    assert V3_PRIV_KEY not in repr(target)


async def test_wrong_community_is_unreachable(snmpd: Snmpd) -> None:
    async with SnmpClient(v2c(snmpd, community="not-the-community", timeout=0.2)) as snmp:
        with pytest.raises(DeviceUnreachable) as caught:
            await snmp.get_one(SYS_NAME)
    assert "not-the-community" not in str(caught.value)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A bound UDP socket that never answers: requests time out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_timeout_is_retried_then_unreachable(silent_port: int) -> None:
    target = SnmpTarget("silent", "127.0.0.1", silent_port, timeout=0.1, retries=3, backoff=0.01)
    async with SnmpClient(target) as snmp:
        with pytest.raises(DeviceUnreachable) as caught:
            await snmp.get_one(SYS_NAME)
        assert snmp.stats.requests == 4
        assert snmp.stats.timeouts == 4
        assert snmp.stats.retries == 3
        with pytest.raises(DeviceUnreachable):
            await snmp.walk("1.3.6.1.2.1.1")
        assert snmp.stats.requests == 8
    assert "4 attempt(s)" in str(caught.value)
    assert f"127.0.0.1:{silent_port}" in str(caught.value)


async def test_set_is_sent_once_unless_asked(silent_port: int) -> None:
    target = SnmpTarget("silent", "127.0.0.1", silent_port, timeout=0.1, retries=2, backoff=0.01)
    async with SnmpClient(target) as snmp:
        with pytest.raises(DeviceUnreachable):
            await snmp.set([(SYS_NAME, OctetString(b"x"))])
        assert (snmp.stats.requests, snmp.stats.retries) == (1, 0)
        with pytest.raises(DeviceUnreachable):
            await snmp.set([(SYS_NAME, OctetString(b"x"))], retry=True)
        assert (snmp.stats.requests, snmp.stats.retries) == (4, 2)


async def test_closed_port_is_unreachable() -> None:
    target = SnmpTarget("closed", "127.0.0.1", free_port(socket.SOCK_DGRAM), timeout=0.1, retries=1)
    async with SnmpClient(target) as snmp:
        with pytest.raises(DeviceUnreachable):
            await snmp.get_one(SYS_NAME)


@pytest.mark.parametrize("operation", ["get", "walk"])
async def test_garbage_reply_is_a_protocol_error(operation: str) -> None:
    """A responder answering BER garbage: a GET and a walk (worker-thread path) both
    end in ProtocolError, never a library exception or a hang."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)

    async def answer_garbage() -> None:
        while True:
            _, peer = await loop.sock_recvfrom(sock, 4096)
            await loop.sock_sendto(sock, b"\x30\x03\x02\x01\x01 this is not BER", peer)

    with sock:
        async with asyncio.TaskGroup() as tg:
            server = tg.create_task(answer_garbage(), name="garbage-responder")
            target = SnmpTarget("liar", "127.0.0.1", sock.getsockname()[1], timeout=0.5)
            try:
                async with SnmpClient(target) as snmp:
                    call = (
                        snmp.get_one(SYS_NAME) if operation == "get" else snmp.walk("1.3.6.1.2.1.1")
                    )
                    with pytest.raises(ProtocolError, match="malformed"):
                        await call
            finally:
                server.cancel()


async def test_concurrent_reads_share_a_bounded_pool(snmpd: Snmpd) -> None:
    async with SnmpClient(v2c(snmpd, max_in_flight=2)) as snmp:
        results = await asyncio.gather(*(snmp.get_one(SYS_OBJECT_ID) for _ in range(30)))
    assert results == [NET_SNMP_LINUX] * 30


async def test_client_refuses_use_outside_its_context(snmpd: Snmpd) -> None:
    snmp = SnmpClient(v2c(snmpd))
    with pytest.raises(RuntimeError, match="async with"):
        await snmp.get_one(SYS_NAME)


# --- walks: they run gufo-snmp's synchronous client in the client's worker threads ---


def walk_threads(device: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"snmp {device}_")]


async def test_v3_walk_spans_several_getbulk_pages(snmpd: Snmpd) -> None:
    async with SnmpClient(replace(v3(snmpd), max_repetitions=3)) as snmp:
        rows = await snmp.walk("1.3.6.1.2.1.1")
        again = await snmp.walk("1.3.6.1.2.1.1")  # on the pooled session
        # The same objects (sysUpTime.0 ticks between the two walks).
        assert [oid for oid, _ in again] == [oid for oid, _ in rows]
        # One engine discovery for the first walk session, then two walks.
        assert snmp.stats.requests == 3
    oids = [oid for oid, _ in rows]
    assert len(oids) > 10
    assert oids[:2] == [SYS_DESCR, SYS_OBJECT_ID]


@pytest.mark.parametrize(
    ("auth_key", "user"),
    [("wrong-pass-phrase", V3_USER), (V3_AUTH_KEY, "nobody")],
    ids=["wrong-key", "unknown-user"],
)
async def test_v3_walk_with_bad_credentials_is_refused(
    snmpd: Snmpd, auth_key: str, user: str
) -> None:
    async with SnmpClient(v3(snmpd, auth_key=auth_key, user=user)) as snmp:
        with pytest.raises(NegativeReply) as caught:
            await snmp.walk(TYPES_ROOT)
    assert caught.value.status == "authenticationFailure"
    assert auth_key not in str(caught.value)


async def test_v3_walk_to_a_silent_port_is_retried_then_unreachable(silent_port: int) -> None:
    target = SnmpTarget(
        "silent-v3",
        "127.0.0.1",
        silent_port,
        version="3",
        user=V3User(V3_USER, auth_key=V3_AUTH_KEY, priv_key=V3_PRIV_KEY),
        timeout=0.1,
        retries=2,
        backoff=0.01,
    )
    async with SnmpClient(target) as snmp:
        with pytest.raises(DeviceUnreachable) as caught:
            await snmp.walk("1.3.6.1.2.1.1")
        # Each attempt is an engine discovery that gets no REPORT.
        assert (snmp.stats.requests, snmp.stats.timeouts, snmp.stats.retries) == (3, 3, 2)
    assert "3 attempt(s)" in str(caught.value)


async def test_walk_to_a_closed_port_is_unreachable() -> None:
    target = SnmpTarget("closed", "127.0.0.1", free_port(socket.SOCK_DGRAM), timeout=0.1, retries=1)
    async with SnmpClient(target) as snmp:
        with pytest.raises(DeviceUnreachable):
            await snmp.walk("1.3.6.1.2.1.1")


# A few BER helpers for the hand-made agents below (just what a GetResponse needs).


def ber(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 128:
        return bytes([tag, size]) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def ber_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return ber(0x06, bytes(out))


def ber_children(data: bytes) -> list[bytes]:
    """The TLVs inside one constructed TLV, each with its header."""
    out = []
    size = data[1]
    pos = 2
    if size & 0x80:
        pos += size & 0x7F
    while pos < len(data):
        length = data[pos + 1]
        head = 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
            head += n
        out.append(data[pos : pos + head + length])
        pos += head + length
    return out


def looping_answer(request: bytes, oid: str, value: bytes = ber(0x02, b"\x07")) -> bytes:
    """A v2c GetResponse to ``request`` holding one varbind ``oid = value``, whatever
    was asked."""
    _, community, pdu = ber_children(request)
    request_id = ber_children(pdu)[0]
    varbind = ber(0x30, ber_oid(oid) + value)
    body = request_id + ber(0x02, b"\x00") + ber(0x02, b"\x00") + ber(0x30, varbind)
    return ber(0x30, ber(0x02, b"\x01") + community + ber(0xA2, body))


async def test_walk_of_an_agent_that_does_not_advance_is_a_protocol_error() -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    stuck = f"{TYPES_ROOT}.9.1"
    requests = 0

    async def answer_the_same_oid() -> None:
        nonlocal requests
        while True:
            request, peer = await loop.sock_recvfrom(sock, 4096)
            requests += 1
            if requests <= 5:  # then silence: a walk without the check fails, not hangs
                await loop.sock_sendto(sock, looping_answer(request, stuck), peer)

    with sock:
        async with asyncio.TaskGroup() as tg:
            server = tg.create_task(answer_the_same_oid(), name="looping-agent")
            port = sock.getsockname()[1]
            target = SnmpTarget("looper", "127.0.0.1", port, timeout=0.5, retries=0)
            try:
                async with SnmpClient(target) as snmp:
                    with pytest.raises(ProtocolError) as caught:
                        await snmp.walk(f"{TYPES_ROOT}.9")
            finally:
                server.cancel()
    assert requests == 2  # the second page gave the same cursor: stop there
    assert stuck in str(caught.value)
    assert "loops" in str(caught.value)


async def test_cancelled_walk_returns_at_once_and_its_thread_stops_after_the_page(
    snmpd: Snmpd,
) -> None:
    """A relay holds the first GETBULK: the walk's thread is blocked in recv when the
    caller is cancelled. The caller gets CancelledError at once; once the page is
    answered, the thread drops the walk without asking for the next page."""
    loop = asyncio.get_running_loop()
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    relay.setblocking(False)
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.connect((snmpd.host, snmpd.port))
    upstream.setblocking(False)
    with relay, upstream:
        target = v2c(snmpd, device="held", max_repetitions=3, timeout=5.0, retries=0)
        target = replace(target, port=relay.getsockname()[1])
        async with SnmpClient(target) as snmp:
            walk = asyncio.create_task(snmp.walk("1.3.6.1.2.1.1"), name="walk-to-cancel")
            request, peer = await loop.sock_recvfrom(relay, 4096)
            walk.cancel()
            with pytest.raises(asyncio.CancelledError):
                await walk
            workers = walk_threads("held")
            assert workers  # still blocked in recv: nobody answered yet
            await loop.sock_sendall(upstream, request)
            await loop.sock_sendto(relay, await loop.sock_recv(upstream, 65536), peer)
        for worker in workers:
            await asyncio.to_thread(worker.join)  # ends once its abandoned walk stopped
        # The thread is gone, so a next-page request would already be in the relay.
        with pytest.raises(BlockingIOError):
            relay.recv(4096)


async def test_a_cancel_arriving_with_the_answer_is_not_swallowed(client: SnmpClient) -> None:
    """gufo-snmp awaits each reply with ``asyncio.wait_for``, which on Python 3.11 returns
    the reply and drops a cancel that lands after the reply arrived but before the task
    woke up: a health poller stopped that way kept polling and held the agent's stop until
    its deadline. The loop is blocked while snmpd answers, so the answer is queued when it
    runs again: gufo's reader callback completes its future in the next iteration, and the
    cancel is placed in the iteration after that, the window the old code lost it in."""
    loop = asyncio.get_running_loop()
    assert await client.get_one(SYS_NAME)  # an idle session to reuse: no set-up awaits
    # The socket the next GET goes out on (private to gufo and to the adapter): the test
    # checks the answer really is queued, so it cannot pass without staging the window.
    fd = client._idle[-1].session._fd
    task = asyncio.create_task(client.get_one(SYS_OBJECT_ID), name="get-to-cancel")
    await asyncio.sleep(0)  # the task sends its GET and waits on the socket
    # On purpose a blocking wait: the loop stands still while snmpd answers.
    readable, _, _ = select.select([fd], [], [], 5.0)
    assert readable, "snmpd did not answer within 5 s: the window was not staged"
    loop.call_soon(lambda: loop.call_soon(task.cancel))
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_concurrent_walks_stay_within_max_in_flight_threads(snmpd: Snmpd) -> None:
    async with SnmpClient(v2c(snmpd, device="bounded", max_in_flight=2)) as snmp:
        results = await asyncio.gather(*(snmp.walk(TYPES_ROOT) for _ in range(12)))
        assert 1 <= len(walk_threads("bounded")) <= 2
    assert all(rows == results[0] for rows in results)
    assert len(results[0]) == 8


async def test_an_answer_larger_than_gufo_receives_says_to_lower_max_repetitions() -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    big = ber(0x04, b"x" * 5000)  # one OCTET STRING larger than gufo's 4080-byte buffer

    async def answer_too_much() -> None:
        while True:
            request, peer = await loop.sock_recvfrom(sock, 4096)
            await loop.sock_sendto(sock, looping_answer(request, f"{TYPES_ROOT}.1.0", big), peer)

    with sock:
        async with asyncio.TaskGroup() as tg:
            server = tg.create_task(answer_too_much(), name="oversized-agent")
            port = sock.getsockname()[1]
            target = SnmpTarget("chatty", "127.0.0.1", port, timeout=0.5, max_repetitions=60)
            try:
                async with SnmpClient(target) as snmp:
                    with pytest.raises(ProtocolError) as walked:
                        await snmp.walk(TYPES_ROOT)
                    with pytest.raises(ProtocolError) as got:
                        await snmp.get_one(f"{TYPES_ROOT}.1.0")
            finally:
                server.cancel()
    # The walk adapts (60, 30, 15, 7, 3 repetitions, then GETNEXT) until one row alone
    # is too large; a GET cannot adapt and says what to change.
    assert "one row is too large" in str(walked.value)
    assert "a GETNEXT answer of" in str(walked.value)  # its size is named
    assert "max_repetitions (now 60)" in str(got.value)
