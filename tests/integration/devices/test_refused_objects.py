"""A device that refuses one object (an error-status) loses that object, not its
neighbours: detection, a PDU poll and a walk still read what the device serves.

gufo-snmp hides error-status, so these stage the refusals on the simulator over UDP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.devices.detect import BRIDGE_NUM_PORTS, detect
from agent.devices.pdu.driver import SYS_OBJECT_ID
from agent.health.readers.pdu import PduReader
from agent.sim.snmp import PduSpec, SimulatedRack
from agent.sim.snmp import values as v

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[SimulatedRack]:
    specs = [PduSpec(f"pdu{i}", "apc_rpdu2", outlets=4) for i in range(4)]
    async with SimulatedRack(specs) as r:
        yield r


def _target(rack: SimulatedRack, device: str) -> SnmpTarget:
    host, port = rack.endpoint(device)
    return SnmpTarget(device, host, port=port, community="public", timeout=0.5, retries=0)


async def test_detect_survives_an_error_status_on_one_object_of_a_batch(
    rack: SimulatedRack,
) -> None:
    """detect.py:152-156: ``ask`` re-asks a refused batch one OID at a time, but gufo
    hides a GET's error-status (every OID of the batch comes back MISSING, no
    exception), so one genErr object (here dot1dBaseNumPorts, which a PDU need not
    serve) hides sysObjectID and every sentinel in its batch: an rPDU2 is reported as
    an unknown model, with nothing in ``unasked``."""
    faults = rack.device("pdu0").faults
    faults.fail_oid(v.parse_oid(BRIDGE_NUM_PORTS), "genErr")
    try:
        async with SnmpClient(_target(rack, "pdu0")) as client:
            found = await detect(client)
    finally:
        faults.clear()
    assert found.kind == "pdu", found.describe()
    assert found.family is not None
    assert found.family.key == "apc_rpdu2"
    assert found.sys_object_id == "1.3.6.1.4.1.318.1.3.4.6"


async def test_pdu_poll_reports_one_erroring_scalar_not_every_scalar_absent(
    rack: SimulatedRack,
) -> None:
    """readers/pdu.py:111-115 + snmp.py:250-252: a genErr on one metering scalar
    makes the poll's single GET come back all MISSING, so every scalar table is
    reported "absent" (the device does not have it) and its readings say "no probe
    fitted?", instead of the one object being "unreadable" and the others read."""
    client_target = _target(rack, "pdu1")
    async with SnmpClient(client_target) as client:
        reader = PduReader("pdu1", client, "apc_rpdu2")
        await reader.read(0.0)
        healthy = dict(reader.last_tables)
        read_scalars = [mib for mib, state in healthy.items() if state == "read"]
        assert read_scalars, healthy
        from agent.health.readers.pdu import metering_for, scalar_oids  # noqa: PLC0415

        drv = await reader.driver()
        oids = scalar_oids(drv.family, metering_for(drv.family))
        victim = oids[-1]
        faults = rack.device("pdu1").faults
        faults.fail_oid(v.parse_oid(victim), "genErr")
        try:
            await reader.read(0.0)
        finally:
            faults.clear()
        after = reader.last_tables
    wrongly_absent = [m for m in read_scalars if after.get(m) == "absent"]
    assert not wrongly_absent, f"read before, 'absent' after one genErr on {victim}: {after}"


async def test_detect_of_a_garbled_sys_object_id_is_a_result_not_an_error(
    rack: SimulatedRack,
) -> None:
    """detect.py:215: ``expect_oid`` raises ProtocolError when sysObjectID is not an
    OID (an agent that answers it as an OctetString); detect() then aborts, so the
    probe aborts and DetectingPduReader fails every poll, although the sentinels
    answered and sysObjectID is only a hint (detect_ups tolerates the same answer)."""
    faults = rack.device("pdu2").faults
    faults.malform(v.parse_oid(SYS_OBJECT_ID), v.octets("1.3.6.1.4.1.318.1.3.4.6"))
    try:
        async with SnmpClient(_target(rack, "pdu2")) as client:
            found = await detect(client)
    finally:
        faults.clear()
    assert found.family is not None
    assert found.family.key == "apc_rpdu2"


NAMES = "1.3.6.1.4.1.318.1.1.26.9.2.3.1.3"  # rPDU2OutletSwitchedStatusName.1..4
NEXT_COLUMN_ROW = "1.3.6.1.4.1.318.1.1.26.9.2.3.1.4.1"  # the next column's first row


async def test_an_error_on_the_object_after_a_table_does_not_make_the_table_unreadable(
    rack: SimulatedRack,
) -> None:
    """snmp_walk.py:300-309 and 204-206: the GETBULK page that reaches past the end of
    the walked column includes the next object; a genErr there refuses the page, the
    GETNEXT witness from the cursor answers, so the walk goes GETNEXT, reads every row,
    then asks GETNEXT of the last row, which is the erroring object outside the subtree:
    TableUnreadable for a column that was read completely (and, walking a PDU's outlet
    state column, the sequencer marks the whole PDU dead)."""
    faults = rack.device("pdu3").faults
    faults.fail_oid(v.parse_oid(NEXT_COLUMN_ROW), "genErr")
    try:
        async with SnmpClient(_target(rack, "pdu3")) as client:
            rows = await client.walk(NAMES)
    finally:
        faults.clear()
    assert [oid for oid, _ in rows] == [f"{NAMES}.{n}" for n in range(1, 5)]
