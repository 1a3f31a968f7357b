"""Our APC rPDU driver against a PDU we did not write: OpenStack's virtualpdu 2.2.

virtualpdu answers GET, GETNEXT and SET but leaves GETBULK unanswered, so every table
is read through the adapter's GETNEXT fallback. It serves PowerNet-MIB's rPDU tables
(318.1.1.12): rPDUOutletControlOutletCommand, which reads back the state (1 on, 2 off)
and takes immediateOn(1) / immediateOff(2); rPDUOutletStatusOutletState; the
rPDUOutletConfig index and names; and not rPDUOutletDevNumCntrlOutlets nor
rPDUOutletControlOutletName, so the driver counts outlets by walking the state column
and reads no names. Its sysObjectID is 318.1.3.4.6, the rPDU2 one: the family is pinned in
most tests, and auto-detection must see through it (what answers decides).
"""

from __future__ import annotations

import pytest

from agent.adapters.snmp import SnmpClient
from agent.devices.detect import detect, resolve_driver
from agent.devices.pdu import FAMILIES_BY_KEY, PduDriver
from agent.devices.pdu.driver import OutletState
from agent.power.actions import ActionPolicy, switch_outlet

from .conftest import VirtualPdu

pytestmark = pytest.mark.asyncio(loop_scope="module")

DRIVER = PduDriver(FAMILIES_BY_KEY["apc_rpdu"])
RPDU2_SYS_OBJECT_ID = "1.3.6.1.4.1.318.1.3.4.6"
# PowerNet-MIB::rPDUOutletStatusOutletState, the last column virtualpdu serves: past its
# last row virtualpdu answers GETNEXT with that row's OID and noSuchInstance instead of
# endOfMibView, which the walk must take as the end (gufo-snmp 0.13 panics on it).
STATUS_STATE = "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4"


def getbulk(client: SnmpClient) -> bool:
    return client.uses_getbulk


async def test_identify(virtualpdu: VirtualPdu) -> None:
    async with SnmpClient(virtualpdu.target()) as snmp:
        identity = await DRIVER.identify(snmp)
    assert identity.family == "apc_rpdu"
    assert identity.vendor == "APC"
    assert identity.sys_object_id == RPDU2_SYS_OBJECT_ID
    assert identity.outlet_count == virtualpdu.outlets  # by walking the state column
    assert identity.model is None  # virtualpdu serves no rPDUIdent objects


async def test_read_outlets_through_the_getnext_fallback(virtualpdu: VirtualPdu) -> None:
    async with SnmpClient(virtualpdu.target()) as snmp:
        outlets = await DRIVER.read_outlets(snmp)
        assert not getbulk(snmp)  # virtualpdu leaves GETBULK unanswered
    assert [o.number for o in outlets] == list(range(1, virtualpdu.outlets + 1))
    assert {o.state for o in outlets} == {OutletState.ON}  # outlet_default_state = ON
    assert {o.raw for o in outlets} == {1}


async def test_walk_to_the_end_of_its_mib(virtualpdu: VirtualPdu) -> None:
    async with SnmpClient(virtualpdu.target()) as snmp:
        rows = await snmp.walk(STATUS_STATE)
    assert [oid for oid, _ in rows] == [
        f"{STATUS_STATE}.{n}" for n in range(1, virtualpdu.outlets + 1)
    ]


async def test_outlet_off_then_on_with_read_back(virtualpdu: VirtualPdu) -> None:
    async with SnmpClient(virtualpdu.target()) as snmp:
        await DRIVER.set_outlet(snmp, 3, on=False)
        assert (await DRIVER.read_outlet(snmp, 3)).state is OutletState.OFF
        states = {o.number: o.state for o in await DRIVER.read_outlets(snmp)}
        assert states[3] is OutletState.OFF
        assert all(s is OutletState.ON for n, s in states.items() if n != 3)
        # The status table (not read by the driver) agrees: outletStatusOff(2).
        status = await snmp.get_one("1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.3")
        assert status == 2

        await DRIVER.set_outlet(snmp, 3, on=True)
        assert (await DRIVER.read_outlet(snmp, 3)).state is OutletState.ON
        assert {o.state for o in await DRIVER.read_outlets(snmp)} == {OutletState.ON}


async def test_power_actions_switch_and_verify(virtualpdu: VirtualPdu) -> None:
    policy = ActionPolicy(verify_timeout=5.0)
    async with SnmpClient(virtualpdu.target()) as snmp:
        off = await switch_outlet(snmp, DRIVER, 5, on=False, remote=False, policy=policy)
        assert (off.before, off.after, off.sent) == (OutletState.ON, OutletState.OFF, True)
        again = await switch_outlet(snmp, DRIVER, 5, on=False, remote=False, policy=policy)
        assert (again.after, again.sent) == (OutletState.OFF, False)  # idempotent
        on = await switch_outlet(snmp, DRIVER, 5, on=True, remote=False, policy=policy)
        assert (on.before, on.after, on.sent) == (OutletState.OFF, OutletState.ON, True)


async def test_auto_detection_picks_rpdu_although_it_announces_rpdu2(
    virtualpdu: VirtualPdu,
) -> None:
    async with SnmpClient(virtualpdu.target()) as snmp:
        found = await detect(snmp)
        driver = await resolve_driver(snmp, "auto")
        outlets = await driver.read_outlets(snmp)
    assert found.sys_object_id == RPDU2_SYS_OBJECT_ID
    assert (found.kind, getattr(found.family, "key", None)) == ("pdu", "apc_rpdu")
    assert found.matched_prefix == ""  # the hint pointed elsewhere: the answers decided
    assert "apc_rpdu2" not in found.answered
    assert driver.family.key == "apc_rpdu"
    assert len(outlets) == virtualpdu.outlets
