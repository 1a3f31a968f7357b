"""Verified outlet actions against a real snmpd serving a small outlet table
(snmpd_fixture._Outlets via pass_persist): commands show after a lag, one outlet
never switches, one refuses writes, and a counter proves when nothing was sent.

The family below describes that test table, not a vendor: these tests are about the
action logic (idempotence, verification, error classes), the vendor tables are tested
against the simulators in test_pdu_sim.py.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.devices.pdu import Column, Command, OutletState, PduDriver, PduFamily, Scalar
from agent.errors import DeviceUnreachable, NegativeReply, PolicyRefusal, VerifyError
from agent.power.actions import ActionPolicy, reboot_outlet, switch_outlet
from tests.integration.power.snmpd_fixture import (
    OUTLETS_ROOT,
    READONLY_OUTLET,
    RW_COMMUNITY,
    STUCK_OUTLET,
    Snmpd,
)

TEST_TABLE = PduFamily(
    key="test_table",
    vendor="snmpd pass_persist",
    mib="NET-SNMP-MIB::netSnmpPlaypen",
    sys_object_ids=(),
    on=Command(f"{OUTLETS_ROOT}.1", 1, "control"),
    off=Command(f"{OUTLETS_ROOT}.1", 2, "control"),
    reboot=Command(f"{OUTLETS_ROOT}.1", 3, "control"),
    state=Column(f"{OUTLETS_ROOT}.2", "state"),
    state_on=frozenset({1}),
    state_off=frozenset({2}),
    outlet_name=Column(f"{OUTLETS_ROOT}.4", "name"),
    outlet_count=Scalar(f"{OUTLETS_ROOT}.3.0", "count"),
)
SETS_RECEIVED = f"{OUTLETS_ROOT}.5.0"
DRIVER = PduDriver(TEST_TABLE)
FAST = ActionPolicy(verify_timeout=2.0, attempts=2, backoff=0.01)


@pytest.fixture
async def client(snmpd: Snmpd) -> AsyncIterator[SnmpClient]:
    target = SnmpTarget("test-pdu", snmpd.host, snmpd.port, community=RW_COMMUNITY, timeout=1.0)
    async with SnmpClient(target) as snmp:
        yield snmp


async def sets_received(client: SnmpClient) -> int:
    value = await client.get_one(SETS_RECEIVED)
    assert isinstance(value, int)
    return value


async def test_identify_and_read_outlets(client: SnmpClient) -> None:
    identity = await DRIVER.identify(client)
    outlets = await DRIVER.read_outlets(client)
    assert identity.outlet_count == 8
    assert [o.number for o in outlets] == list(range(1, 9))
    assert outlets[0].name == "outlet-1"


async def test_switch_on_is_verified_then_idempotent(client: SnmpClient) -> None:
    first = await switch_outlet(client, DRIVER, 1, True, remote=False, policy=FAST)
    sets_after_first = await sets_received(client)
    second = await switch_outlet(client, DRIVER, 1, True, remote=False, policy=FAST)
    assert (first.before, first.after, first.sent) == (OutletState.OFF, OutletState.ON, True)
    assert (second.before, second.after, second.sent) == (OutletState.ON, OutletState.ON, False)
    assert await sets_received(client) == sets_after_first  # nothing was sent the 2nd time
    off = await switch_outlet(client, DRIVER, 1, False, remote=False, policy=FAST)
    assert off.after is OutletState.OFF


async def test_outlet_that_never_switches_is_a_verify_error(client: SnmpClient) -> None:
    with pytest.raises(VerifyError) as caught:
        await switch_outlet(
            client,
            DRIVER,
            STUCK_OUTLET,
            True,
            remote=False,
            policy=ActionPolicy(verify_timeout=0.5),
        )
    assert f"outlet {STUCK_OUTLET}" in str(caught.value)
    assert "still reads off" in str(caught.value)


async def test_refused_write_is_fatal_and_not_retried(client: SnmpClient) -> None:
    before = await sets_received(client)
    with pytest.raises(NegativeReply) as caught:
        await switch_outlet(client, DRIVER, READONLY_OUTLET, True, remote=False, policy=FAST)
    assert caught.value.status == "notWritable"
    assert caught.value.oid == f"{OUTLETS_ROOT}.1.{READONLY_OUTLET}"
    assert client.stats.retries == 0
    assert await sets_received(client) == before


async def test_protected_outlet_refused_remotely_allowed_locally(client: SnmpClient) -> None:
    protected = frozenset({2})
    before = await sets_received(client)
    with pytest.raises(PolicyRefusal, match="outlet 2 is protected"):
        await switch_outlet(client, DRIVER, 2, True, remote=True, protected=protected)
    assert await sets_received(client) == before
    local = await switch_outlet(
        client, DRIVER, 2, True, remote=False, protected=protected, policy=FAST
    )
    assert local.after is OutletState.ON


async def test_reboot_ends_on(client: SnmpClient) -> None:
    result = await reboot_outlet(client, DRIVER, 3, remote=False, policy=FAST)
    assert (result.action, result.after, result.sent) == ("reboot", OutletState.ON, True)


async def test_missing_outlet_is_a_negative_reply(client: SnmpClient) -> None:
    with pytest.raises(NegativeReply, match="outlet 42 does not exist"):
        await switch_outlet(client, DRIVER, 42, True, remote=False, policy=FAST)


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_unreachable_pdu_is_retried_then_raised(silent_port: int) -> None:
    target = SnmpTarget("silent-pdu", "127.0.0.1", silent_port, timeout=0.05, retries=0)
    async with SnmpClient(target) as snmp:
        with pytest.raises(DeviceUnreachable):
            await switch_outlet(
                snmp,
                DRIVER,
                1,
                True,
                remote=False,
                policy=ActionPolicy(attempts=3, backoff=0.01),
            )
        assert snmp.stats.requests == 3  # one read per cycle, three cycles, no SET sent
