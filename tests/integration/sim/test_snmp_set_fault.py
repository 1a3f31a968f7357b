"""The SET-only refusal fault on the wire, seen by net-snmp's own tools: the device keeps
answering GETs of the object and refuses every SET of it with the chosen error-status,
and the refused PDU changes nothing (all or none)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agent.sim.snmp import SimulatedRack, SwitchSpec

from .conftest import snmp

PVID = "1.3.6.1.2.1.17.7.1.4.5.1.1."
PVID_OID = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 5, 1, 1)


@pytest_asyncio.fixture
async def rack() -> AsyncIterator[SimulatedRack]:
    spec = SwitchSpec("tor", ports=8, connected={1, 2}, vlans={1: "default", 999: "quarantine"})
    async with SimulatedRack([spec]) as r:
        yield r


async def test_refused_set_still_reads_and_changes_nothing(rack: SimulatedRack) -> None:
    switch = rack.switch("tor")
    endpoint = rack.endpoint("tor")
    switch.faults.refuse_set((*PVID_OID, 3), "noAccess")

    got = (await snmp("snmpget", endpoint, PVID + "3")).values()
    assert got[PVID + "3"] == "Gauge32: 1"  # GET answers as usual

    refused = await snmp("snmpset", endpoint, PVID + "3", "u", "999")
    assert refused.rc != 0
    assert "Reason: noAccess" in refused.out + refused.err
    assert switch.pvid[3] == 1

    # In one PDU with accepted varbinds around it, the error-index names the refused
    # object (the second of three) and the others are not applied either.
    three = await snmp(
        "snmpset", endpoint, PVID + "2", "u", "999", PVID + "3", "u", "999", PVID + "5", "u", "999"
    )
    assert "Reason: noAccess" in three.out + three.err
    assert f"Failed object: .{PVID}3\n" in three.out + three.err
    assert (switch.pvid[2], switch.pvid[3], switch.pvid[5]) == (1, 1, 1)

    # Other ports are untouched by the fault, and clearing it lets the SET through.
    assert (await snmp("snmpset", endpoint, PVID + "4", "u", "999")).rc == 0
    switch.faults.clear()
    assert (await snmp("snmpset", endpoint, PVID + "3", "u", "999")).rc == 0
    assert switch.pvid[3] == 999
    logged = {e.oid for e in rack.set_log.entries("tor", "set")}
    assert {PVID + "3", PVID + "4"} <= logged
    assert PVID + "2" not in logged
    assert PVID + "5" not in logged


def test_refusal_takes_only_set_error_statuses(rack: SimulatedRack) -> None:
    with pytest.raises(ValueError, match="not a SET error-status"):
        rack.switch("tor").faults.refuse_set((*PVID_OID, 3), "noSuchName")
