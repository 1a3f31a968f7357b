"""The arrival self-test against the simulated rack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest_asyncio

from agent.health import selftest
from agent.sim.redfish import RedfishBmcSim
from agent.sim.snmp import SimulatedRack

from .lab import Lab, specs


@pytest_asyncio.fixture
async def bad_lab() -> AsyncIterator[Lab]:
    # pdu-a runs a firmware the APC baseline lists as known bad.
    async with SimulatedRack(specs(apc_firmware="v6.8.8")) as rack, RedfishBmcSim() as bmc:
        yield Lab(rack, bmc)


async def test_a_clean_rack_passes(lab: Lab) -> None:
    report = await selftest.run(lab.config())
    assert report.ok, selftest.render(report)
    assert {d.device for d in report.devices} == {
        "pdu-a",
        "pdu-b",
        "pdu-c",
        "ups-1",
        "tor-1",
        "srv-1",
    }
    assert all(d.compliant for d in report.devices)
    assert report.ups == [
        {"device": "ups-1", "on_mains": True, "runtime_s": 4800.0, "charge_pct": 100.0}
    ]


async def test_known_bad_firmware_blocks_under_block_and_warns_under_warn(bad_lab: Lab) -> None:
    report = await selftest.run(bad_lab.config())
    assert not report.ok
    (check,) = report.blocking()
    assert check.device == "pdu-a"
    assert check.firmware is not None
    assert check.firmware.verdict == "known_bad"
    assert "reboot command" in check.firmware.detail  # the baseline's reason
    assert "BLOCKED by pdu-a" in selftest.render(report)
    assert report.to_dict()["devices"][0]["firmware"]["verdict"] == "known_bad"

    warned = await selftest.run(bad_lab.config(policy="warn"))
    assert warned.ok
    assert not warned.devices[0].compliant


async def test_unreachable_and_mismatched_devices(lab: Lab) -> None:
    lab.rack.device("ups-1").faults.silent = True
    report = await selftest.run(lab.config(), limit_s=1.0)
    ups = next(d for d in report.devices if d.device == "ups-1")
    assert not ups.reachable
    assert ups.blocking  # infrastructure: blocks under any policy
    lab.rack.device("ups-1").faults.silent = False
    # A BMC whose outlet is off does not listen: reported, not blocking.
    async with RedfishBmcSim(outlet_powered=lambda: False) as unpowered:
        report = await selftest.run(Lab(lab.rack, unpowered).config(), limit_s=1.0)
    server = next(d for d in report.devices if d.device == "srv-1")
    assert not server.reachable
    assert not server.blocking
    assert report.ok


async def test_an_outlet_count_that_differs_from_the_config_is_a_warning(lab: Lab) -> None:
    config = lab.config()
    pdus = [msgspec.structs.replace(p, outlets=24) if p.id == "pdu-a" else p for p in config.pdu]
    report = await selftest.run(msgspec.structs.replace(config, pdu=pdus))
    check = next(d for d in report.devices if d.device == "pdu-a")
    assert check.identity is not None
    assert check.identity.outlets == 8
    assert any("says 24 outlets, the PDU reports 8" in p for p in check.problems), check.problems
    assert not check.blocking  # a warning: the outlets the rack uses may all exist
    assert report.ok
    others = [d for d in report.devices if d.device != "pdu-a"]
    assert not any("outlet count" in p for d in others for p in d.problems)
