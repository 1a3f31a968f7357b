"""The per-device poller on a fake clock: schedule, timeout, ok/failing/stale/lost."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from agent.errors import DeviceUnreachable
from agent.health.poller import DevicePoller, DeviceState, PollSettings
from agent.health.sensors import Reading, reading
from tests.unit.health.health_fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


SETTINGS = PollSettings(interval=10.0, timeout=3.0, stale_after=30.0, lost_after=120.0)


class Device:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.answering = True
        self.hang = False
        self.calls = 0

    async def poll(self) -> list[Reading]:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()  # never answers: the poller's timeout must end it
        if not self.answering:
            raise DeviceUnreachable("pdu-a", "no answer after 2 attempt(s)")
        return [reading("pdu-a", "temperature", "temperature", "Cel", 24.0, self.clock.now())]


def make(
    clock: FakeClock,
    device: Device,
    states: list[tuple[DeviceState, DeviceState]],
    settings: PollSettings = SETTINGS,
) -> DevicePoller:
    return DevicePoller(
        "pdu-a",
        device.poll,
        settings,
        on_state=lambda _p, old, new: states.append((old, new)),
        clock=clock,
    )


async def test_states_go_failing_stale_lost_and_back(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    device = Device(clock)
    states: list[tuple[DeviceState, DeviceState]] = []
    poller = make(clock, device, states)
    caplog.set_level(logging.INFO, logger="agent.health.poller")
    assert await poller.poll_once()
    assert poller.state == "ok"
    device.answering = False
    seen: list[str] = []
    for _ in range(13):
        clock.advance(10.0)
        assert not await poller.poll_once()
        seen.append(poller.state)
    assert seen[:2] == ["failing", "failing"]
    assert seen[2] == "stale"  # 30 s silent
    assert seen[11] == "lost"  # 120 s silent
    device.answering = True
    clock.advance(10.0)
    assert await poller.poll_once()
    assert states == [
        ("starting", "ok"),
        ("ok", "failing"),
        ("failing", "stale"),
        ("stale", "lost"),
        ("lost", "ok"),
    ]
    failing_logs = [r for r in caplog.records if "polling failed" in r.getMessage()]
    recovery_logs = [r for r in caplog.records if "answering again" in r.getMessage()]
    assert len(failing_logs) == 1
    assert len(recovery_logs) == 1
    assert poller.last_error is not None
    assert "no answer" in poller.last_error


async def test_a_restarted_device_gets_its_full_stale_after_and_quiet_failures(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """restart() is what the watch calls when a server's outlets come on: its BMC boots,
    so failures before stale_after are news (INFO), and its silence counts from then,
    however long it was silent before. Past stale_after it is a warning again."""
    device = Device(clock)
    device.answering = False
    states: list[tuple[DeviceState, DeviceState]] = []
    poller = make(clock, device, states)
    seen: list[DeviceState] = []
    for _ in range(13):  # silent for 130 s: lost
        clock.advance(10.0)
        await poller.poll_once()
    seen.append(poller.state)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="agent.health.poller")
    poller.restart()
    seen.append(poller.state)
    assert poller.silent_for() == 0.0
    clock.advance(10.0)
    await poller.poll_once()
    seen.append(poller.state)  # not lost again at once: 10 s since the restart
    clock.advance(20.0)
    await poller.poll_once()
    seen.append(poller.state)
    assert seen == ["lost", "starting", "failing", "stale"]
    levels = [(r.levelname, r.getMessage().split(" (")[0]) for r in caplog.records]
    assert levels == [
        ("INFO", "pdu-a: polling failed: pdu-a: no answer after 2 attempt(s)"),
        ("WARNING", "pdu-a: stale"),
    ]


async def test_a_hung_poll_is_cut_by_the_timeout(clock: FakeClock) -> None:
    device = Device(clock)
    device.hang = True
    settings = PollSettings(interval=10.0, timeout=0.05, stale_after=30.0, lost_after=60.0)
    poller = make(clock, device, [], settings)
    assert not await poller.poll_once()  # real 50 ms: asyncio.timeout uses the loop's clock
    assert poller.state == "failing"
    assert "health.timeout" in (poller.last_error or "")


async def test_the_schedule_keeps_its_grid_and_skips_overruns(clock: FakeClock) -> None:
    device = Device(clock)
    poller = make(clock, device, [])
    slow = device.poll

    async def poll() -> list[Reading]:
        if device.calls == 2:
            clock.advance(25.0)  # this poll overruns two slots
        return await slow()

    poller._poll = poll
    task = asyncio.create_task(poller.run())
    while device.calls < 6:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    starts = [round(p.started - poller.started_at, 6) for p in poller.polls]
    assert starts[:6] == [0.0, 10.0, 20.0, 50.0, 60.0, 70.0]


async def test_jitter_stays_within_its_band(clock: FakeClock) -> None:
    device = Device(clock)
    settings = PollSettings(
        interval=10.0, timeout=3.0, stale_after=30.0, lost_after=60.0, jitter=0.1
    )
    poller = DevicePoller("pdu-a", device.poll, settings, clock=clock, rng=random.Random(3))
    task = asyncio.create_task(poller.run())
    while device.calls < 50:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    offsets = [p.started - poller.started_at - 10.0 * i for i, p in enumerate(poller.polls)]
    assert all(-1.0 <= o <= 1.0 for o in offsets)
    assert max(offsets) - min(offsets) > 0.5  # it does spread


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="stale_after"):
        PollSettings(interval=10, timeout=1, stale_after=5, lost_after=60)
    with pytest.raises(ValueError, match="jitter"):
        PollSettings(interval=10, timeout=1, stale_after=30, lost_after=60, jitter=1.5)
