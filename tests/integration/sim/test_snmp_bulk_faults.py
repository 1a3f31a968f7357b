"""The simulator's GETBULK and message-size faults, seen through net-snmp's tools (an
independent client), so that the adapter's tests stand on a fault that behaves as the
RFC describes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agent.sim.snmp import PduSpec, SimulatedRack

from .conftest import snmp

pytestmark = pytest.mark.asyncio(loop_scope="module")

NAMES = "1.3.6.1.4.1.318.1.1.26.9.2.3.1.3"  # rPDU2OutletSwitchedStatusName
OUTLETS = 16


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[SimulatedRack]:
    specs = [PduSpec(f"pdu{i}", "apc_rpdu2", outlets=OUTLETS) for i in range(4)]
    async with SimulatedRack(specs) as r:
        yield r


async def test_dropped_getbulk_gets_no_answer_while_getnext_works(rack: SimulatedRack) -> None:
    rack.device("pdu0").faults.refuse_getbulk("drop")
    bulk = await snmp("snmpbulkwalk", rack.endpoint("pdu0"), NAMES, wait_s=0.5)
    assert bulk.rc != 0
    assert "Timeout" in bulk.err
    walked = await snmp("snmpwalk", rack.endpoint("pdu0"), NAMES)
    assert walked.rc == 0, walked.err
    assert len(walked.values()) == OUTLETS


async def test_refused_getbulk_answers_the_error_status(rack: SimulatedRack) -> None:
    rack.device("pdu1").faults.refuse_getbulk("genErr")
    bulk = await snmp("snmpbulkwalk", rack.endpoint("pdu1"), NAMES)
    assert "genError" in bulk.out + bulk.err
    assert len((await snmp("snmpwalk", rack.endpoint("pdu1"), NAMES)).values()) == OUTLETS


async def test_message_size_limit_answers_toobig(rack: SimulatedRack) -> None:
    rack.device("pdu2").faults.limit_message_size(300, bulk="tooBig")
    bulk = await snmp("snmpbulkwalk", rack.endpoint("pdu2"), "-Cr25", NAMES)
    assert "tooBig" in bulk.out + bulk.err
    # One row per GETNEXT answer fits.
    assert len((await snmp("snmpwalk", rack.endpoint("pdu2"), NAMES)).values()) == OUTLETS


async def test_message_size_limit_truncates_getbulk_as_rfc_3416_says(rack: SimulatedRack) -> None:
    rack.device("pdu3").faults.limit_message_size(300, bulk="truncate")
    bulk = await snmp("snmpbulkwalk", rack.endpoint("pdu3"), "-Cr25", NAMES)
    assert bulk.rc == 0, bulk.err
    assert len(bulk.values()) == OUTLETS
