"""Authentication and every wire / reply fault, seen through net-snmp's tools."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agent.sim.snmp import PduSpec, SimCredentials, SimulatedRack, parse_steps
from agent.sim.snmp import values as v

from .conftest import snmp

pytestmark = pytest.mark.asyncio(loop_scope="module")

V3 = ("admin", "authkey-123", "privkey-456")
SYS_NAME = "1.3.6.1.2.1.1.5.0"
STATE = "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rack() -> AsyncIterator[SimulatedRack]:
    creds = SimCredentials(community="s3cret", user=V3[0], auth_key=V3[1], priv_key=V3[2])
    specs = [PduSpec(f"pdu{i}", "apc_rpdu2", outlets=4, credentials=creds) for i in range(6)]
    async with SimulatedRack(specs) as r:
        yield r


async def test_v3_authpriv_works_and_wrong_key_is_refused(rack: SimulatedRack) -> None:
    good = await snmp("snmpget", rack.endpoint("pdu0"), SYS_NAME, v3=V3)
    assert good.rc == 0, good.err
    assert good.values()[SYS_NAME] == 'STRING: "pdu0"'
    bad = await snmp(
        "snmpget", rack.endpoint("pdu0"), SYS_NAME, v3=(V3[0], "wrong-key-1", V3[2]), wait_s=0.5
    )
    assert bad.rc != 0
    assert "Authentication failure" in bad.err or "Timeout" in bad.err


async def test_v2c_wrong_community_gets_no_answer(rack: SimulatedRack) -> None:
    assert (await snmp("snmpget", rack.endpoint("pdu1"), SYS_NAME, community="s3cret")).rc == 0
    bad = await snmp("snmpget", rack.endpoint("pdu1"), SYS_NAME, community="public", wait_s=0.5)
    assert bad.rc != 0
    assert "Timeout" in bad.err


async def test_credentials_fault_rekeys_the_device(rack: SimulatedRack) -> None:
    device = rack.device("pdu1")
    device.faults.expect_credentials(
        SimCredentials(community="rotated", user=V3[0], auth_key="another-key", priv_key=V3[2])
    )
    try:
        assert (
            await snmp("snmpget", rack.endpoint("pdu1"), SYS_NAME, community="s3cret", wait_s=0.5)
        ).rc != 0
        assert (await snmp("snmpget", rack.endpoint("pdu1"), SYS_NAME, v3=V3, wait_s=0.5)).rc != 0
        assert (await snmp("snmpget", rack.endpoint("pdu1"), SYS_NAME, community="rotated")).rc == 0
    finally:
        device.faults.expect_credentials(device.credentials)


@pytest.mark.parametrize("fault", ["silent", "loss", "latency"])
async def test_device_that_does_not_answer_in_time(rack: SimulatedRack, fault: str) -> None:
    faults = rack.device("pdu2").faults
    if fault == "silent":
        faults.silent = True
    elif fault == "loss":
        faults.set_loss(1.0, seed=7)
    else:
        faults.set_latency(1.5)
    try:
        reply = await snmp(
            "snmpget", rack.endpoint("pdu2"), SYS_NAME, community="s3cret", wait_s=0.5
        )
        assert reply.rc != 0
        assert "Timeout" in reply.err
    finally:
        faults.clear()
    assert (await snmp("snmpget", rack.endpoint("pdu2"), SYS_NAME, community="s3cret")).rc == 0


async def test_seeded_loss_drops_some_and_answers_some(rack: SimulatedRack) -> None:
    faults = rack.device("pdu3").faults
    faults.set_loss(0.5, seed=42)
    try:
        results = [
            (
                await snmp(
                    "snmpget", rack.endpoint("pdu3"), SYS_NAME, community="s3cret", wait_s=0.2
                )
            ).rc
            for _ in range(12)
        ]
    finally:
        faults.clear()
    assert 0 in results
    assert any(rc != 0 for rc in results)


async def test_error_status_on_one_oid(rack: SimulatedRack) -> None:
    faults = rack.device("pdu4").faults
    faults.fail_oid(v.parse_oid(STATE), "genErr")
    try:
        reply = await snmp("snmpget", rack.endpoint("pdu4"), STATE, community="s3cret")
        assert "Reason: (genError) A general failure occured" in reply.out + reply.err
        ok = await snmp("snmpget", rack.endpoint("pdu4"), SYS_NAME, community="s3cret")
        assert ok.rc == 0
    finally:
        faults.clear()


async def test_malformed_value_type(rack: SimulatedRack) -> None:
    faults = rack.device("pdu4").faults
    faults.malform(v.parse_oid(STATE), v.octets("on"))
    try:
        got = (await snmp("snmpget", rack.endpoint("pdu4"), STATE, community="s3cret")).values()
        assert got[STATE] == 'STRING: "on"'  # an OctetString where an INTEGER is expected
    finally:
        faults.clear()


async def test_scenario_steps_apply_in_order(rack: SimulatedRack) -> None:
    steps = parse_steps(
        [
            {"at": 0.0, "device": "pdu5", "fault": "stick_outlet", "outlet": 2},
            {
                "at": 0.05,
                "device": "pdu5",
                "fault": "force_sensor",
                "sensor": "temperature",
                "value": 50,
            },
            {"at": 0.1, "device": "pdu5", "fault": "silent"},
        ],
        {"pdu5"},
    )
    await rack.play(steps)
    pdu = rack.pdu("pdu5")
    try:
        assert pdu.stuck == {2}
        assert pdu.temperature_c() == 50
        assert (
            await snmp("snmpget", rack.endpoint("pdu5"), SYS_NAME, community="s3cret", wait_s=0.5)
        ).rc != 0
    finally:
        pdu.faults.clear()
        pdu.unstick(2)
        pdu.release_sensor("temperature")


async def test_scenario_errors_name_every_bad_step() -> None:
    with pytest.raises(ValueError, match=r"step\[0\].fault") as info:
        parse_steps(
            [{"device": "pdu0", "fault": "explode"}, {"device": "nope", "fault": "silent"}],
            {"pdu0"},
        )
    assert "step[1].device" in str(info.value)
