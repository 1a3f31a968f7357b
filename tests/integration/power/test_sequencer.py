"""The power sequencer against the simulated demo rack over real UDP SNMP and HTTP
Redfish: order, inrush spacing and budget of the SETs the simulator witnessed, and the
faults (a stuck outlet, a silent PDU) that must not hold the rest of the rack back."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.bus import Bus, Event
from agent.conf import RackConfig, load_config
from agent.errors import DeviceError, PolicyRefusal
from agent.power.sequencer import Progress
from agent.sim.compose import SimRack
from agent.sim.snmp.setlog import SetLogEntry
from tests.integration.power.demo_rack import fast_demo_path, manager, outlet_sets, quicken

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
INRUSH_S = 0.2


def fast_demo(tmp_path: Path, **replace: str) -> RackConfig:
    """The demo rack on free ports, with short delays and timeouts so tests stay fast."""
    return load_config(
        fast_demo_path(
            tmp_path, inrush=f"{int(INRUSH_S * 1000)}ms", settle="100ms", replace=replace
        )
    )


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[SimRack]:
    async with SimRack(fast_demo(tmp_path)) as rack:
        yield quicken(rack)


def resets(sim: SimRack) -> list[SetLogEntry]:
    return [e for e in sim.snmp.set_log.entries(kind="power") if e.oid == "redfish:Reset"]


async def witnessed(sim: SimRack) -> None:
    """Let the simulator copy the BMCs' Reset records into its log (it polls them)."""
    counts = [len(bmc.resets) for bmc in sim.bmcs.values()]
    async with asyncio.timeout(5):
        while len(resets(sim)) < sum(counts):
            await asyncio.sleep(0.02)


async def test_up_in_groups_with_inrush_spacing_then_down_in_reverse(sim: SimRack) -> None:
    bus = Bus()
    sub = bus.subscribe()
    seen: list[Progress] = []
    async with manager(sim.config, bus) as power:
        report = await power.power_up(progress=seen.append)
    assert report.ok, report.errors()
    assert report.summary().startswith("power up ok")

    # The switch arrived powered (its outlets are protected): no SET for it. Then storage,
    # then the hypervisors, each device's A cord before its B cord.
    sets = outlet_sets(sim)
    assert [(pdu, n) for _, pdu, n in sets] == [
        (pdu, n) for n in (2, 3, 4, 5, 6) for pdu in ("pdu-a", "pdu-b")
    ]
    # Inrush: within a group, consecutive switch-ons are at least inrush_delay apart.
    hypervisor_sets = [t for t, _, n in sets if n >= 3]
    gaps = [b - a for a, b in itertools.pairwise(hypervisor_sets)]
    assert min(gaps) >= INRUSH_S, gaps
    assert sets[1][0] - sets[0][0] >= INRUSH_S  # stor-1's two cords
    # Servers are powered through their BMC after their group's outlets, storage first.
    await witnessed(sim)
    boots = resets(sim)
    assert [(e.device, e.value) for e in boots] == [
        ("stor-1", "On"),
        ("hv-1", "On"),
        ("hv-2", "On"),
        ("hv-3", "On"),
        ("bkp-1", "On"),
    ]
    assert boots[0].t < sets[2][0], "storage boots before the hypervisors' outlets"
    assert boots[1].t > sets[-1][0], "hypervisors boot after all their outlets are on"
    assert all(sim.host_on(s) for s in ("stor-1", "hv-1", "hv-2", "hv-3", "bkp-1"))

    events: list[Event] = []
    while (event := sub.get_nowait()) is not None:
        events.append(event)
    audits = [e for e in events if e.kind == "power.outlet"]
    assert len(audits) == 10
    assert all(e.category == "audit" for e in audits)
    assert audits[0].data | {"pdu": "pdu-a", "outlet": 2, "device": "stor-1"} == audits[0].data
    groups = [e.data["group"] for e in events if e.kind == "power.group_up"]
    assert groups == ["network", "storage", "hypervisors"]
    assert any(p.step == "inrush delay" for p in seen)

    # Idempotent: a second power-up sends nothing.
    before = len(sim.snmp.set_log.entries(kind="set"))
    async with manager(sim.config, bus) as power:
        again = await power.power_up()
    assert again.ok
    assert len(sim.snmp.set_log.entries(kind="set")) == before
    assert sum(len(bmc.resets) for bmc in sim.bmcs.values()) == 5

    # Down: groups in reverse, each group's servers shut down gracefully (ForceOff when
    # the OS ignores it) before any of its outlets is cut; protected outlets stay on.
    sim.bmcs["hv-3"].graceful_hangs = True  # its OS ignores the button: ForceOff
    async with manager(sim.config, Bus()) as power:
        mark = len(sim.snmp.set_log.entries())
        report = await power.power_down("operator asked")
    await witnessed(sim)
    assert report.ok, report.errors()
    entries = sim.snmp.set_log.entries()[mark:]
    offs = [(e.device, e.oid) for e in entries if e.kind == "power" and e.oid.startswith("outlet.")]
    # Hypervisors (last cord first, last member first), then storage; never the switch
    # (outlet 1) nor the controller (outlet 24).
    expected = [(pdu, f"outlet.{n}") for n in (6, 5, 4, 3, 2) for pdu in ("pdu-b", "pdu-a")]
    assert offs == expected
    bmc = [(e.device, e.value) for e in entries if e.oid == "redfish:Reset"]
    assert ("hv-3", "ForceOff") in bmc
    assert {d for d, v in bmc if v == "GracefulShutdown"} == {
        "hv-1",
        "hv-2",
        "hv-3",
        "bkp-1",
        "stor-1",
    }
    last_graceful = max(e.t for e in entries if e.oid == "redfish:Reset" and e.device != "stor-1")
    first_cut = min(e.t for e in entries if e.kind == "power" and e.oid.startswith("outlet."))
    assert last_graceful < first_cut, "outlets are cut only after the group's shutdowns"
    for pdu in ("pdu-a", "pdu-b"):
        assert sim.snmp.outlet_powered(pdu, 1)
        assert sim.snmp.outlet_powered(pdu, 24)
    hv3 = next(d for g in report.groups for d in g.devices if d.device == "hv-3")
    assert "host off (forced)" in hv3.actions
    assert hv3.warnings
    tor = next(d for g in report.groups for d in g.devices if d.device == "tor-1")
    assert tor.outcome == "kept_on"


async def test_a_group_over_the_budget_is_refused_before_any_of_its_outlets(
    tmp_path: Path,
) -> None:
    # pdu-b's inlet: tor-1 150 W + stor-1 600 W + hv-1 450 W fit in 1300 W; hv-2 does not.
    config = fast_demo(
        tmp_path,
        **{r'(id = "pdu-b"(?:\n[^\[]*?)*?)inlet_budget_w = 3680': r"\g<1>inlet_budget_w = 1300"},
    )
    async with SimRack(config) as sim, manager(config, Bus()) as power:
        quicken(sim)
        with pytest.raises(PolicyRefusal) as info:
            await power.power_up()
        text = str(info.value)
        for part in ("'hypervisors'", "'hv-2'", "'pdu-b'", "1650 W", "1300 W"):
            assert part in text, (part, text)
        # Storage came up; not one hypervisor outlet was switched.
        assert [n for _, _, n in outlet_sets(sim)] == [2, 2]
        await witnessed(sim)
        assert [e.device for e in resets(sim)] == ["stor-1"]


async def test_a_silent_pdu_and_a_stuck_outlet_do_not_hold_the_rest_back(sim: SimRack) -> None:
    sim.snmp.pdu("pdu-a").faults.silent = True  # the A feed's PDU stops answering
    sim.snmp.pdu("pdu-b").stick(5)  # hv-3's B cord accepts the SET and never switches
    async with manager(sim.config, Bus()) as power:
        report = await power.power_up()
    # pdu-b powers everything it can, at its normal pace: the silent pdu-a costs one
    # timeout at the start, not one per outlet.
    sets = outlet_sets(sim)
    assert [(pdu, n) for _, pdu, n in sets] == [("pdu-b", n) for n in (2, 3, 4, 5, 6)]
    times = [t for t, _, n in sets if n >= 3]
    assert min(b - a for a, b in itertools.pairwise(times)) >= INRUSH_S
    # hv-3 has no working feed: an error naming the outlet; the others run on one feed.
    assert not report.ok
    errors = report.errors()
    assert {e.split(":")[0] for e in errors} == {"hv-3"}, errors
    assert any(e.startswith("hv-3: outlet pdu-a:5 not switched on: PDU skipped") for e in errors)
    assert any(
        e.startswith("hv-3: outlet pdu-b:5: pdu-b: outlet 5") and "still reads off" in e
        for e in errors
    )
    warnings = report.warnings()
    assert {w.split(":")[0] for w in warnings} == {"tor-1", "stor-1", "hv-1", "hv-2", "bkp-1"}
    assert all("pdu-a" in w and "no answer" in w for w in warnings), warnings
    await witnessed(sim)
    assert [e.device for e in resets(sim)] == ["stor-1", "hv-1", "hv-2", "bkp-1"]
    assert all(sim.host_on(s) for s in ("stor-1", "hv-1", "hv-2", "bkp-1"))


async def test_a_stuck_outlet_is_named_and_a_second_cord_keeps_the_device_up(
    sim: SimRack,
) -> None:
    sim.snmp.pdu("pdu-b").stick(3)
    sim.snmp.pdu("pdu-a").stick(4)
    sim.snmp.pdu("pdu-b").stick(4)
    async with manager(sim.config, Bus()) as power:
        summary = await power.set_device_power("hv-1", True, "outlet")
        assert "outlet pdu-a:3 on" in summary
        assert "warning: outlet pdu-b:3: pdu-b: outlet 3 was told to go on" in summary
        with pytest.raises(
            DeviceError,
            match=r"hv-2: power on via auto: outlet pdu-a:4: .*"
            r"outlet pdu-b:4: ",
        ):
            await power.set_device_power("hv-2", True, "auto")
    assert sim.snmp.outlet_powered("pdu-a", 3)
    assert not sim.bmcs["hv-2"].is_answering()


async def test_device_power_and_protected_outlets_for_remote_requests(sim: SimRack) -> None:
    async with manager(sim.config, Bus()) as power:
        assert await power.device_power("hv-1") is False
        summary = await power.set_device_power("hv-1", True, "auto")
        assert "host on (BMC)" in summary
        assert await power.device_power("hv-1") is True
        assert await power.device_power("tor-1") is True
        with pytest.raises(
            PolicyRefusal, match=r"tor-1: outlet\(s\) pdu-a:1, pdu-b:1 are protected"
        ):
            await power.set_device_power("tor-1", False, "outlet")
        assert "host off (graceful)" in await power.set_device_power("hv-1", False, "auto")
        assert await power.device_power("hv-1") is False  # outlets on, host off
        assert "outlet pdu-a:3 off" in await power.set_device_power("hv-1", False, "outlet")
        # From the local console the operator may cut the switch.
        await power.set_device_power("tor-1", False, "outlet", remote=False)
        assert not sim.snmp.outlet_powered("pdu-a", 1)


async def test_a_power_down_preempts_a_power_up_in_progress(tmp_path: Path) -> None:
    config = fast_demo(tmp_path, **{r'^settle = "100ms"': 'settle = "30s"'})
    async with SimRack(config) as sim, manager(config, Bus()) as power:
        quicken(sim)
        steps: list[Progress] = []
        up = asyncio.create_task(power.power_up(progress=steps.append))
        async with asyncio.timeout(10):
            while not any(p.step == "settle" for p in steps):
                await asyncio.sleep(0.02)
        report = await power.power_down("UPS critical (test)")
        with pytest.raises(PolicyRefusal, match=r"power-up interrupted by a power-down \(UPS"):
            await up
        assert report.ok
        assert outlet_sets(sim) == [], "the storage group never started"
        # The manager is usable afterwards.
        assert await power.device_power("stor-1") is False
