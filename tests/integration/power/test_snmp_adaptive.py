"""Walks that adapt to the agent, against real peers: our simulator with the no-GETBULK,
message-size and error-status faults, and net-snmp's snmpd serving pages larger than
gufo-snmp's 4080-byte receive buffer."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from agent.adapters import snmp as snmp_adapter
from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.errors import DeviceUnreachable, NegativeReply, TableUnreadable
from agent.sim.snmp import PduSpec, SimulatedRack
from agent.sim.snmp import values as v
from tests.integration.power.snmpd_fixture import PLAYPEN, RO_COMMUNITY, Snmpd, snmpd_path

pytestmark = pytest.mark.asyncio(loop_scope="module")

OUTLETS = 16
STATE = "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5"  # rPDU2OutletSwitchedStatusState
NAME = "1.3.6.1.4.1.318.1.1.26.9.2.3.1.3"  # rPDU2OutletSwitchedStatusName
TIMEOUT = 0.4


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[SimulatedRack]:
    specs = [PduSpec(f"pdu{i}", "apc_rpdu2", outlets=OUTLETS) for i in range(6)]
    async with SimulatedRack(specs) as r:
        yield r


def target(rack: SimulatedRack, device: str, max_repetitions: int = 25) -> SnmpTarget:
    host, port = rack.endpoint(device)
    return SnmpTarget(
        device,
        host,
        port,
        timeout=TIMEOUT,
        retries=1,
        backoff=0.01,
        max_repetitions=max_repetitions,
    )


def bulk(client: SnmpClient) -> bool:
    """``client.uses_getbulk`` now (a call, so mypy does not keep an earlier answer)."""
    return client.uses_getbulk


async def healthy_rows(rack: SimulatedRack, device: str, column: str) -> list[tuple[str, object]]:
    """The column as the simulator serves it, read before any fault (by GETNEXT, so it
    does not depend on what is under test)."""
    async with SnmpClient(target(rack, device)) as snmp:
        rows = await snmp.walk(column)
    assert len(rows) == OUTLETS
    return list(rows)


async def test_a_device_that_drops_getbulk_is_walked_by_getnext_and_remembered(
    rack: SimulatedRack, caplog: pytest.LogCaptureFixture
) -> None:
    expected = await healthy_rows(rack, "pdu0", STATE)
    rack.device("pdu0").faults.refuse_getbulk("drop")
    caplog.set_level(logging.WARNING, logger=snmp_adapter.__name__)
    async with SnmpClient(target(rack, "pdu0")) as snmp:
        assert bulk(snmp)
        assert await snmp.walk(STATE) == expected
        assert not bulk(snmp)
        assert await snmp.walk(NAME)  # the next walk goes straight to GETNEXT
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "pdu0" in warnings[0].getMessage()
    assert "GETBULK got no answer" in warnings[0].getMessage()
    assert "GETNEXT" in warnings[0].getMessage()

    # A new client to the same device does not pay the GETBULK timeouts again.
    started = time.monotonic()
    async with SnmpClient(target(rack, "pdu0")) as again:
        assert not bulk(again)
        assert await again.walk(STATE) == expected
    assert time.monotonic() - started < TIMEOUT
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


async def test_a_device_that_answers_getbulk_with_an_error_is_walked_by_getnext(
    rack: SimulatedRack,
) -> None:
    expected = await healthy_rows(rack, "pdu1", NAME)
    rack.device("pdu1").faults.refuse_getbulk("genErr")
    async with SnmpClient(target(rack, "pdu1")) as snmp:
        assert await snmp.walk(NAME) == expected
        assert not bulk(snmp)
        assert snmp.stats.adapted == 1


async def test_a_getbulk_answer_too_big_is_asked_again_with_fewer_repetitions(
    rack: SimulatedRack,
) -> None:
    expected = await healthy_rows(rack, "pdu2", NAME)
    # Room for a few outlet names per message, not for 25 of them.
    rack.device("pdu2").faults.limit_message_size(400, bulk="tooBig")
    async with SnmpClient(target(rack, "pdu2", max_repetitions=25)) as snmp:
        assert await snmp.walk(NAME) == expected
        assert bulk(snmp)  # GETBULK works, in smaller pages
        adapted = snmp.stats.adapted
        assert adapted >= 1
        assert await snmp.walk(NAME) == expected
        assert snmp.stats.adapted == adapted  # the page size that fit is remembered


async def test_a_table_the_agent_fails_on_is_named_and_the_others_still_read(
    rack: SimulatedRack,
) -> None:
    expected = await healthy_rows(rack, "pdu3", NAME)
    rack.device("pdu3").faults.fail_oid(v.parse_oid(f"{STATE}.3"), "genErr")
    async with SnmpClient(target(rack, "pdu3")) as snmp:
        with pytest.raises(TableUnreadable) as caught:
            await snmp.walk(STATE)
        assert isinstance(caught.value, NegativeReply)  # what callers catch today
        assert caught.value.table == STATE
        assert caught.value.status == "genErr"
        assert STATE in str(caught.value)
        assert await snmp.walk(NAME) == expected
        assert bulk(snmp)  # one bad table does not downgrade the device


async def test_a_lost_getbulk_alone_does_not_downgrade_a_device(rack: SimulatedRack) -> None:
    expected = await healthy_rows(rack, "pdu4", STATE)
    faults = rack.device("pdu4").faults
    faults.set_loss(0.25, seed=7)
    walked = 0
    try:
        async with SnmpClient(target(rack, "pdu4")) as snmp:
            for _ in range(8):
                try:
                    rows = await snmp.walk(STATE)
                except DeviceUnreachable:
                    continue  # both attempts lost: that is loss, reported as such
                assert rows == expected
                walked += 1
            assert bulk(snmp)
    finally:
        faults.clear()
    assert walked >= 4


# --- net-snmp's snmpd: a GETBULK page larger than gufo-snmp receives -----------------

BIG_ROOT = f"{PLAYPEN}.7"
BIG_ROWS = 40
BIG_VALUE = "y" * 200


@pytest.fixture(scope="module")
def big_snmpd() -> Iterator[Snmpd]:
    if snmpd_path() is None:
        pytest.skip("snmpd is not installed: apt-get install snmpd")
    lines = [
        f'override .{BIG_ROOT}.{n}.0 octet_str "{BIG_VALUE}{n}"' for n in range(1, BIG_ROWS + 1)
    ]
    with Snmpd(lines) as server:
        yield server


async def test_snmpd_page_over_gufo_receive_size_is_walked_in_smaller_pages(
    big_snmpd: Snmpd,
) -> None:
    # 40 rows of over 200 bytes in one GETBULK answer: about 10 kB, snmpd sends it whole.
    server = big_snmpd
    big = SnmpTarget(
        "snmpd-big",
        server.host,
        server.port,
        community=RO_COMMUNITY,
        timeout=1.0,
        retries=0,
        max_repetitions=BIG_ROWS,
    )
    async with SnmpClient(big) as snmp:
        rows = await snmp.walk(BIG_ROOT)
        assert [oid for oid, _ in rows] == [f"{BIG_ROOT}.{n}.0" for n in range(1, BIG_ROWS + 1)]
        assert rows[-1][1] == f"{BIG_VALUE}{BIG_ROWS}".encode()
        assert bulk(snmp)
        assert snmp.stats.adapted >= 1
