"""The health watch against the simulated rack over real UDP and HTTP."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable

import pytest

from agent.bus import Bus, Event, Subscription
from agent.health.poller import DevicePoller, PollSettings
from agent.health.watch import HealthWatch
from agent.sim.redfish import RedfishBmcSim
from agent.sim.snmp import SimulatedRack
from agent.sim.testing import free_port

from .lab import Lab, specs


def state(poller: DevicePoller) -> str:
    """Read through a call, so the type checker does not pin the state between awaits."""
    return poller.state


def drain(sub: Subscription) -> list[Event]:
    events = []
    while (event := sub.get_nowait()) is not None:
        events.append(event)
    return events


async def poll_all(watch: HealthWatch) -> None:
    for poller in watch.pollers.values():
        assert await poller.poll_once(), (poller.device, poller.last_error)


async def test_every_sensor_kind_is_read_and_normalised(lab: Lab) -> None:
    bus = Bus()
    sub = bus.subscribe()
    # A telemetry interval below the poll interval: every poll's readings are published.
    async with HealthWatch(lab.config(), bus, telemetry_interval=1e-3) as watch:
        await poll_all(watch)
        snapshot = watch.snapshot()
        cycles = {d: sum(r.ok for r in p.polls) for d, p in watch.pollers.items()}
    batches = [e for e in drain(sub) if e.kind == "telemetry.batch"]
    assert all(e.category == "telemetry" for e in batches)
    kinds = {(e.data["device"], r["kind"]) for e in batches for r in e.data["readings"]}
    for device in ("pdu-a", "pdu-b", "pdu-c"):
        for kind in (
            "pdu_load_a",
            "pdu_power_w",
            "outlet_power_w",
            "outlet_current_a",
            "outlet_state",
            "temperature",
            "humidity",
        ):
            assert (device, kind) in kinds, (device, kind)
    for kind in ("ups_charge", "ups_runtime", "ups_on_battery", "ups_battery_low", "power_w"):
        assert ("ups-1", kind) in kinds
    for kind in ("port_oper", "port_admin", "fan", "temperature"):
        assert ("tor-1", kind) in kinds
    for kind in ("temperature", "fan", "power_w", "host_power"):
        assert ("srv-1", kind) in kinds
    for kind in ("cpu_temperature", "disk_free", "memory_free", "clock_sync", "clock_offset"):
        assert ("controller", kind) in kinds
    values = {(d["device"], r["sensor"]): r for d in snapshot["devices"] for r in d["readings"]}
    for device in ("pdu-a", "pdu-b", "pdu-c"):
        assert values[(device, "inlet/power")]["value"] == 460.0
        assert values[(device, "inlet/current")]["value"] == 2.0
        assert values[(device, "outlet/2/state")]["value"] == 1.0
        assert values[(device, "outlet/3/power")]["value"] == 0.0  # off
    assert values[("pdu-a", "temperature")]["value"] == 24.0
    assert values[("pdu-b", "humidity/2")]["value"] == 40.0
    assert values[("ups-1", "battery/runtime")]["value"] == 4800.0  # 80 min
    assert values[("ups-1", "source/on_battery")]["value"] == 0.0
    assert values[("tor-1", "port/1/oper")]["value"] == 1.0
    assert values[("tor-1", "port/3/oper")]["value"] == 0.0
    assert values[("tor-1", "fan/Fan 1")]["value"] == 9000.0
    # The host is off: its CPU sensor is an explicit unknown, not a zero.
    cpu = values[("srv-1", "temperature/CPU1 Temp")]
    assert (cpu["status"], cpu["value"]) == ("unknown", None)
    assert values[("srv-1", "temperature/Inlet Temp")]["value"] == 22.0
    # One telemetry batch per device per cycle, never one message per OID.
    assert Counter(e.data["device"] for e in batches) == cycles


async def test_faults_show_up_in_readings(lab: Lab) -> None:
    bus = Bus()
    async with HealthWatch(lab.config(), bus) as watch:
        lab.rack.ups("ups-1").mains_lost()
        lab.rack.switch("tor-1").fail_fan(2)
        await poll_all(watch)
        values = {(r.device, r.sensor): r for rs in watch.last.values() for r in rs}
    assert values[("ups-1", "source/on_battery")].value == 1.0
    fan = values[("tor-1", "fan/Fan 2")]
    assert (fan.status, fan.value) == ("fault", 0.0)


async def test_one_alarm_per_crossing_despite_noise(lab: Lab) -> None:
    thresholds = """
[[threshold]]
kind = "temperature"
raise_at = 35.0
clear_at = 32.0
severity = "critical"
action = "degraded"
devices = ["pdu-c"]
"""
    bus = Bus()
    sub = bus.subscribe()
    pdu = lab.rack.pdu("pdu-c")
    rng = random.Random(11)
    sequence = [24.0, 34.9, 35.5] + [rng.uniform(32.1, 38.0) for _ in range(15)] + [31.5]
    sequence += [rng.uniform(28.0, 34.9) for _ in range(15)]
    actions: list[str] = []
    async with HealthWatch(lab.config(thresholds=thresholds), bus) as watch:
        watch.on_action(lambda a: actions.append(a.verb))
        poller = watch.pollers["pdu-c"]
        for value in sequence:
            pdu.force_sensor("temperature", value)
            assert await poller.poll_once(), poller.last_error
        snapshot = watch.snapshot()
    alarms = [e for e in drain(sub) if e.kind.startswith("alarm.")]
    assert [e.kind for e in alarms] == ["alarm.raised", "alarm.cleared"]
    raised = alarms[0].data
    assert raised["device"] == "pdu-c"
    assert raised["sensor"] == "temperature"
    assert raised["kind"] == "temperature"
    assert raised["value"] == 35.5
    assert (raised["severity"], raised["action"]) == ("critical", "degraded")
    assert alarms[1].data["value"] == 31.5
    assert actions == ["degraded", "recovered"]
    assert snapshot["alarms"] == []


async def test_dead_device_goes_stale_then_lost_while_others_keep_their_schedule(
    lab: Lab,
) -> None:
    health = 'interval = "200ms"\ntimeout = "500ms"\nstale_after = "600ms"\nlost_after = "1500ms"'
    bus = Bus()
    sub = bus.subscribe()
    async with HealthWatch(lab.config(health=health), bus) as watch:
        dead = watch.pollers["pdu-b"]
        while state(dead) != "ok":
            await asyncio.sleep(0.05)
        lab.rack.device("pdu-b").faults.silent = True
        async with asyncio.timeout(20):
            while state(dead) != "lost":
                await asyncio.sleep(0.05)
        lab.rack.device("pdu-b").faults.silent = False
        async with asyncio.timeout(20):
            while state(dead) != "ok":
                await asyncio.sleep(0.05)
        records = {d: list(p.polls) for d, p in watch.pollers.items()}
    events = drain(sub)
    transitions = [
        e.data["new"] for e in events if e.kind == "device.state" and e.data["device"] == "pdu-b"
    ]
    assert transitions == ["ok", "failing", "stale", "lost", "ok"]
    alarm_ids = [(e.kind, e.data["id"]) for e in events if e.kind.startswith("alarm.")]
    assert alarm_ids == [
        ("alarm.raised", "pdu-b:state:stale"),
        ("alarm.raised", "pdu-b:state:lost"),
        ("alarm.cleared", "pdu-b:state:stale"),
        ("alarm.cleared", "pdu-b:state:lost"),
    ]
    failed = [r for r in records["pdu-b"] if not r.ok]
    assert len(failed) >= 2
    window = (failed[0].started, failed[-1].finished)
    for device, polls in records.items():
        if device == "pdu-b":
            continue
        # Each healthy poller kept polling while the dead one hung in its timeouts:
        # some of its polls started inside a dead poll, and it polled more often.
        inside = [p for p in polls if any(f.started < p.started < f.finished for f in failed)]
        assert inside, device
        during = [p for p in polls if window[0] <= p.started <= window[1]]
        assert len(during) > len(failed), device


async def test_an_unpowered_server_is_silent_without_alarm_and_judged_again_once_powered() -> None:
    """srv-1 is fed by outlet 3 of pdu-a and pdu-b, both off at start: its BMC is silent
    and goes stale, then lost, with no alarm (the PDUs say why). Once an outlet is on, its
    poller restarts: the BMC, still booting after stale_after, raises a real stale alarm,
    cleared when it answers. Powered off again, it is unpowered and silent, alarm-free."""
    health = 'interval = "200ms"\ntimeout = "300ms"\nstale_after = "600ms"\nlost_after = "3s"'
    feeds = 'power = [{ pdu = "pdu-a", outlet = 3 }, { pdu = "pdu-b", outlet = 3 }]'
    bus = Bus()
    sub = bus.subscribe()
    async with SimulatedRack(specs()) as rack:

        def powered() -> bool:
            return rack.outlet_powered("pdu-a", 3) or rack.outlet_powered("pdu-b", 3)

        # A fixed port: an unpowered simulated BMC has not bound one yet.
        bmc_sim = RedfishBmcSim(outlet_powered=powered, boot_delay_s=1.2, port=free_port())
        async with bmc_sim as bmc:
            config = Lab(rack, bmc).config(health=health, server_power=feeds)
            # The timings under test are srv-1's; the other devices poll as often but
            # with room to spare, so a loaded machine cannot make a PDU stale mid-test.
            relaxed = PollSettings(interval=0.2, timeout=1.0, stale_after=5.0, lost_after=10.0)
            others = dict.fromkeys(("pdu-a", "pdu-b", "pdu-c", "ups-1", "tor-1"), relaxed)
            async with HealthWatch(config, bus, settings=others) as watch:
                srv = watch.pollers["srv-1"]
                async with asyncio.timeout(20):
                    while state(srv) != "lost":
                        await asyncio.sleep(0.05)
                assert watch.unpowered == {"srv-1"}
                assert not [a for a in watch.alarms.active() if a.device == "srv-1"]
                unpowered_view = watch.snapshot()
                rack.pdu("pdu-b").command(3, "on")
                async with asyncio.timeout(20):
                    while not watch.alarms.active():
                        await asyncio.sleep(0.05)
                assert not watch.unpowered
                async with asyncio.timeout(20):
                    while state(srv) != "ok":
                        await asyncio.sleep(0.05)
                assert not watch.alarms.active()
                rack.pdu("pdu-b").command(3, "off")
                async with asyncio.timeout(20):
                    while state(srv) != "lost":
                        await asyncio.sleep(0.05)
                assert watch.unpowered == {"srv-1"}
    events = drain(sub)
    srv_view = next(d for d in unpowered_view["devices"] if d["device"] == "srv-1")
    assert (srv_view["state"], srv_view["unpowered"]) == ("lost", True)
    power = [e.data["powered"] for e in events if e.kind == "device.power"]
    assert power == [False, True, False]
    transitions = [
        e.data["new"] for e in events if e.kind == "device.state" and e.data["device"] == "srv-1"
    ]
    assert transitions == [
        *["failing", "stale", "lost"],  # unpowered
        *["starting", "failing", "stale", "ok"],  # powered, booting, answering
        *["failing", "stale", "lost"],  # unpowered again
    ]
    alarm_ids = [(e.kind, e.data["id"]) for e in events if e.kind.startswith("alarm.")]
    assert alarm_ids == [
        ("alarm.raised", "srv-1:state:stale"),
        ("alarm.cleared", "srv-1:state:stale"),
    ]


async def wait_until(what: str, check: Callable[[], bool]) -> None:
    try:
        async with asyncio.timeout(20):
            while not check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not {what} within 20 s") from None


def srv_alarms(watch: HealthWatch) -> list[str]:
    return sorted(a.id for a in watch.alarms.active() if a.device == "srv-1")


async def test_outlets_of_a_stale_pdu_no_longer_count_as_off() -> None:
    """srv-1 is unpowered while its PDUs say its outlets are off; once both PDUs go
    stale, nobody knows: srv-1 is judged powered again and its silence raises an alarm,
    cleared when the PDUs answer again and say off."""
    health = 'interval = "200ms"\ntimeout = "300ms"\nstale_after = "600ms"\nlost_after = "3s"'
    feeds = 'power = [{ pdu = "pdu-a", outlet = 3 }, { pdu = "pdu-b", outlet = 3 }]'
    async with SimulatedRack(specs()) as rack:
        bmc_sim = RedfishBmcSim(outlet_powered=lambda: False, port=free_port())
        async with bmc_sim as bmc:
            config = Lab(rack, bmc).config(health=health, server_power=feeds)
            async with HealthWatch(config, Bus()) as watch:
                srv = watch.pollers["srv-1"]
                await wait_until("unpowered", lambda: watch.unpowered == {"srv-1"})
                for pdu in ("pdu-a", "pdu-b"):
                    rack.device(pdu).faults.silent = True
                await wait_until("judged powered", lambda: not watch.unpowered)
                await wait_until("stale", lambda: state(srv) in ("stale", "lost"))
                assert "srv-1:state:stale" in srv_alarms(watch)
                for pdu in ("pdu-a", "pdu-b"):
                    rack.device(pdu).faults.silent = False
                await wait_until("unpowered again", lambda: watch.unpowered == {"srv-1"})
                assert srv_alarms(watch) == []


async def test_a_server_answering_while_its_outlets_read_off_is_judged_powered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A PDU whose outlet state is decoded wrongly says off while the server runs: the
    server's own answer wins, so its alarms stay on when it later falls silent."""
    health = 'interval = "200ms"\ntimeout = "300ms"\nstale_after = "600ms"\nlost_after = "3s"'
    feeds = 'power = [{ pdu = "pdu-a", outlet = 3 }]'  # off in the PDU, yet the BMC runs
    bmc_alive = True
    async with SimulatedRack(specs()) as rack:
        bmc_sim = RedfishBmcSim(outlet_powered=lambda: bmc_alive, port=free_port())
        async with bmc_sim as bmc:
            config = Lab(rack, bmc).config(health=health, server_power=feeds)
            bus = Bus()
            sub = bus.subscribe()
            async with HealthWatch(config, bus) as watch:
                srv = watch.pollers["srv-1"]
                await wait_until("answering", lambda: state(srv) == "ok")

                def warnings() -> int:
                    return sum("read off: judged powered" in r.message for r in caplog.records)

                await wait_until("warned", lambda: warnings() >= 1)
                await asyncio.sleep(0.6)  # three more PDU polls that say "off"
                assert not watch.unpowered
                assert warnings() == 1  # once, not at every PDU poll
                bmc_alive = False
                await wait_until("stale", lambda: state(srv) == "stale")
                assert srv_alarms(watch) == ["srv-1:state:stale"]
    # Unpowered by the first PDU reading (before or after the BMC's first answer), then
    # powered by the first answer to a poll sent after that reading.
    power = [e.data["powered"] for e in drain(sub) if e.kind == "device.power"]
    assert power == [False, True]


async def test_a_table_the_pdu_refuses_is_named_unreadable_in_the_snapshot(lab: Lab) -> None:
    from agent.cli.health import _table  # noqa: PLC0415 - the printer under test
    from agent.sim.snmp.values import parse_oid  # noqa: PLC0415

    # PDU2-MIB::measurementsOutletSensorValue.<pduId 1>.<outlet 1>.<rmsCurrent 1>
    lab.rack.device("pdu-b").faults.fail_oid(
        parse_oid("1.3.6.1.4.1.13742.6.5.4.3.1.4.1.1.1"), "genErr"
    )
    async with HealthWatch(lab.config(), Bus()) as watch:
        await poll_all(watch)
        snapshot = watch.snapshot()
    tables = {d["device"]: d["tables"] for d in snapshot["devices"]}
    assert tables["pdu-b"]["PDU2-MIB::measurementsOutletSensorValue"].startswith("unreadable")
    assert tables["pdu-b"]["PDU2-MIB::outletSwitchingState"] == "read"
    assert tables["pdu-a"]  # another PDU's tables are accounted for, and none is refused
    assert not any(state.startswith("unreadable") for state in tables["pdu-a"].values())
    text = _table(snapshot)
    assert "table PDU2-MIB::measurementsOutletSensorValue: unreadable" in text
    assert "table PDU2-MIB::outletSwitchingState" not in text  # read tables are not listed


async def test_a_refused_outlet_state_table_is_not_reported_as_unswitched(lab: Lab) -> None:
    from agent.sim.snmp.values import parse_oid  # noqa: PLC0415

    # PowerNet-MIB::rPDU2OutletSwitchedStatusState.1: the walk of the column is refused.
    lab.rack.device("pdu-a").faults.fail_oid(
        parse_oid("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1"), "genErr"
    )
    async with HealthWatch(lab.config(), Bus()) as watch:
        await poll_all(watch)
        snapshot = watch.snapshot()
    pdu = next(d for d in snapshot["devices"] if d["device"] == "pdu-a")
    states = [r for r in pdu["readings"] if r["kind"] == "outlet_state"]
    assert states  # the outlets are still listed (from the metered table)
    assert all(r["value"] is None for r in states)
    assert all("outlet state not readable" in r["detail"] for r in states), states[0]
    assert pdu["tables"]["PowerNet-MIB::rPDU2OutletSwitchedStatusState"].startswith("unreadable")
