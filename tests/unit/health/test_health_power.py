"""How the health watch judges a server's power from its PDUs' outlet readings, with
scripted readers and a clock that moves only when the test says: the orderings a live
rack produces only by chance (a BMC answer in flight across an outlet cut, a PDU coming
back after an outage)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.bus import Bus, Subscription
from agent.conf import parse_config
from agent.errors import DeviceUnreachable
from agent.health.poller import PollSettings
from agent.health.readers.base import Reader
from agent.health.sensors import BOOLEAN, Identity, Reading, reading
from agent.health.watch import HealthWatch

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo-rack.toml"
CORDS = {"pdu-a": 3}  # hv-1 on one cord here (two in the demo rack): one PDU decides
SETTINGS = PollSettings(interval=10.0, timeout=5.0, stale_after=30.0, lost_after=60.0)


class ManualClock:
    """Time moves only by `advance`; the pollers' own schedules never fire again after
    their first poll, so the test decides every poll."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


class Scripted:
    """What a Reader has besides ``read``; the watch does not identify devices."""

    device: str

    async def identify(self) -> Identity:
        raise AssertionError(f"{self.device}: identify() is the self-test's, not the watch's")


class Pdu(Scripted):
    def __init__(self, device: str) -> None:
        self.device = device
        self.on = True
        self.silent = False

    async def read(self, ts: float) -> list[Reading]:
        if self.silent:
            raise DeviceUnreachable(self.device, "no answer after 2 attempt(s)")
        sensor = f"outlet/{CORDS[self.device]}/state"
        return [reading(self.device, sensor, "outlet_state", BOOLEAN, float(self.on), ts)]


class Bmc(Scripted):
    def __init__(self) -> None:
        self.device = "hv-1"
        self.alive = True
        self.hold: asyncio.Event | None = None  # when set, the answer waits for it

    async def read(self, ts: float) -> list[Reading]:
        alive = self.alive  # as it was when the request reached the BMC
        if self.hold is not None:
            await self.hold.wait()
        if not alive:
            raise DeviceUnreachable("hv-1", "GET /redfish/v1: ConnectError")
        return []


@dataclass
class Rig:
    watch: HealthWatch
    clock: ManualClock
    pdus: dict[str, Pdu]
    bmc: Bmc
    events: Subscription

    async def poll(self, *devices: str, after: float = 10.0) -> None:
        """Let ``after`` seconds pass, then poll each device once, in this order."""
        self.clock.t += after
        for device in devices:
            await self.watch.pollers[device].poll_once()

    def cords(self, *, on: bool) -> None:
        for pdu in self.pdus.values():
            pdu.on = on

    def pdus_silent(self, silent: bool) -> None:
        for pdu in self.pdus.values():
            pdu.silent = silent

    def state(self) -> str:
        """hv-1's poller state, read through a call (mypy would pin it between awaits)."""
        return self.watch.pollers["hv-1"].state

    def alarms(self) -> list[str]:
        return sorted(a.id for a in self.watch.alarms.active() if a.device == "hv-1")

    def power_events(self) -> list[bool]:
        found = []
        while (event := self.events.get_nowait()) is not None:
            if event.kind == "device.power":
                found.append(bool(event.data["powered"]))
        return found


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = ManualClock()
    pdus = {name: Pdu(name) for name in CORDS}
    bmc = Bmc()
    readers: dict[str, Reader] = {**pdus, "hv-1": bmc}
    bus = Bus()
    events = bus.subscribe()
    settings = dict.fromkeys(readers, SETTINGS)
    text = DEMO.read_text()
    two_cords = 'power = [{ pdu = "pdu-a", outlet = 3 }, { pdu = "pdu-b", outlet = 3 }]'
    assert two_cords in text
    one_cord = text.replace(two_cords, 'power = [{ pdu = "pdu-a", outlet = 3 }]')
    config = parse_config(one_cord, path=DEMO)
    async with HealthWatch(config, bus, readers=readers, clock=clock, settings=settings) as w:
        for _ in range(5):
            await asyncio.sleep(0)  # each poller's first, scheduled poll: all answer
        yield Rig(w, clock, pdus, bmc, events)


async def test_an_answer_in_flight_across_an_outlet_cut_is_no_contradiction(rig: Rig) -> None:
    """The power part cuts hv-1's cords while a BMC request is on its way: the PDUs
    report off, then the old answer arrives. hv-1 is unpowered, its silence alarm-free."""
    assert rig.state() == "ok"
    rig.bmc.hold = asyncio.Event()
    rig.clock.t += 10
    in_flight = asyncio.create_task(rig.watch.pollers["hv-1"].poll_once())
    await asyncio.sleep(0)  # the request is out
    rig.bmc.alive = False
    rig.cords(on=False)
    await rig.poll("pdu-a", after=1.0)
    assert rig.watch.unpowered == {"hv-1"}
    rig.bmc.hold.set()
    assert await in_flight  # the answer from before the cut
    rig.bmc.hold = None
    assert rig.watch.unpowered == {"hv-1"}, "an answer sent before the cut counted"
    for _ in range(8):  # 80 s of silence: past lost_after
        await rig.poll("hv-1", "pdu-a")
    assert rig.state() == "lost"
    assert rig.alarms() == []
    assert rig.power_events() == [False]


async def test_a_pdu_back_from_an_outage_is_judged_on_what_it_says_now(rig: Rig) -> None:
    """hv-1 unpowered; its PDUs go silent (then it counts as powered: nobody knows); its
    cords come on meanwhile; the PDUs answer again, saying on. No 'unpowered' on the way
    back from their readings of before the outage."""
    rig.cords(on=False)
    rig.bmc.alive = False
    await rig.poll("pdu-a")
    assert rig.power_events() == [False]
    rig.pdus_silent(True)
    for _ in range(4):  # 40 s: the PDUs go stale
        await rig.poll("pdu-a")
    assert rig.watch.unpowered == set()
    assert rig.power_events() == [True]
    rig.cords(on=True)
    rig.bmc.alive = True
    rig.pdus_silent(False)
    await rig.poll("pdu-a", "hv-1")
    assert rig.power_events() == []  # no False then True on the way back
    assert rig.watch.unpowered == set()
    assert rig.state() == "ok"


async def test_a_contradicted_server_keeps_its_alarm_across_a_pdu_outage(rig: Rig) -> None:
    """The PDUs say off (an outlet-state column decoded wrongly) while hv-1 answers: it
    is powered. It then dies and raises its lost alarm; the PDUs go silent and come back,
    still saying off: the alarm stays (the server said it had power, the PDU never said
    otherwise since)."""
    rig.cords(on=False)
    await rig.poll("pdu-a", "hv-1")  # off, then an answer that started after
    assert rig.watch.unpowered == set()
    rig.bmc.alive = False
    for _ in range(7):  # 70 s of silence: lost
        await rig.poll("hv-1", "pdu-a")
    assert "hv-1:state:lost" in rig.alarms()
    rig.pdus_silent(True)
    for _ in range(4):
        await rig.poll("pdu-a", "hv-1")
    rig.pdus_silent(False)
    await rig.poll("pdu-a", "hv-1")
    assert "hv-1:state:lost" in rig.alarms()
    assert rig.watch.unpowered == set()
