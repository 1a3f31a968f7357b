"""One poller per device (the coordinator pattern of Home Assistant's
DataUpdateCoordinator): its own schedule, timeout, last success and last error.

A poller runs as its own task, so a slow or dead device only ever delays itself: every
poll is bounded by an ``asyncio.timeout`` scope, and the next poll is planned on the
poller's own grid (``start + k * interval``, plus a random jitter of +/- ``jitter *
interval`` so forty pollers do not hit the management VLAN in the same millisecond).
A poll that overruns its slot skips the missed slots instead of queueing them.

The device's state is explicit:

- ``starting``: not polled yet;
- ``ok``: the last poll succeeded;
- ``failing``: polls fail, but the device was heard from less than ``stale_after`` ago;
- ``stale``: silent for ``stale_after`` (its last readings are kept, flagged stale);
- ``lost``: silent for ``lost_after``.

It logs once when the device starts failing and once when it recovers, not once per
poll. Time comes from an injectable :class:`Clock`, so tests drive the schedule and the
stale/lost timers without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from agent.errors import AgentError
from agent.health.sensors import Reading

log = logging.getLogger(__name__)

DeviceState = Literal["starting", "ok", "failing", "stale", "lost"]
PollFn = Callable[[], Awaitable[list[Reading]]]


class Clock(Protocol):
    """Monotonic time and a way to wait for it."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: time.monotonic() and asyncio.sleep()."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class PollSettings:
    interval: float
    timeout: float
    stale_after: float
    lost_after: float
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not (0 < self.interval <= self.stale_after <= self.lost_after):
            raise ValueError(
                f"poll settings: need 0 < interval ({self.interval}) <= stale_after "
                f"({self.stale_after}) <= lost_after ({self.lost_after}); fix [health] "
                "or the device's dead_time in the rack config"
            )
        if self.timeout <= 0:
            raise ValueError(f"poll settings: timeout {self.timeout} must be > 0 seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"poll settings: jitter {self.jitter} must be in [0, 1)")


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One poll attempt, for the snapshot and for tests that check the schedule."""

    started: float
    finished: float
    ok: bool


ResultFn = Callable[["DevicePoller", list[Reading]], None]
StateFn = Callable[["DevicePoller", DeviceState, DeviceState], None]


def _ignore_result(_poller: DevicePoller, _readings: list[Reading]) -> None:
    return None


def _ignore_state(_poller: DevicePoller, _old: DeviceState, _new: DeviceState) -> None:
    return None


class DevicePoller:
    """Polls one device forever (:meth:`run`) or once (:meth:`poll_once`)."""

    def __init__(
        self,
        device: str,
        poll: PollFn,
        settings: PollSettings,
        *,
        on_result: ResultFn = _ignore_result,
        on_state: StateFn = _ignore_state,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        history: int = 64,
    ) -> None:
        self.device = device
        self.settings = settings
        self._poll = poll
        self._on_result = on_result
        self._on_state = on_state
        self.clock: Clock = clock or MonotonicClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.state: DeviceState = "starting"
        self.started_at = self.clock.now()
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.consecutive_failures = 0
        self.polls: deque[PollRecord] = deque(maxlen=history)
        # Set by the watch while the device has no power: its silence is logged as news,
        # not as a warning (the journal of an arrival is not a wall of expected failures).
        self.expected_silent = False
        self._booting = False  # restarted (just powered): failures before stale are news

    # --- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Poll on the grid until cancelled."""
        interval = self.settings.interval
        start = self.clock.now()
        self.started_at = start
        slot = 0
        while True:
            planned = start + slot * interval + self._jitter()
            delay = planned - self.clock.now()
            if delay > 0:
                await self.clock.sleep(delay)
            await self.poll_once()
            # Next slot strictly in the future: an overrun skips slots, never bunches them.
            elapsed = self.clock.now() - start
            slot = max(slot + 1, int(elapsed // interval) + 1)

    def _jitter(self) -> float:
        spread = self.settings.jitter * self.settings.interval
        return self._rng.uniform(-spread, spread) if spread else 0.0

    async def poll_once(self) -> bool:
        """One bounded poll; updates the state. True when it succeeded."""
        started = self.clock.now()
        error: str | None = None
        readings: list[Reading] = []
        try:
            async with asyncio.timeout(self.settings.timeout):
                readings = await self._poll()
        except TimeoutError:
            error = (
                f"no complete answer within {self.settings.timeout:g} s (health.timeout); "
                "check the device's power and network, or raise the timeout"
            )
        except AgentError as exc:
            error = str(exc)
        except (OSError, ValueError) as exc:
            # A reader bug or an OS-level failure must degrade this device, not the agent.
            error = f"{type(exc).__name__}: {exc}"
        finished = self.clock.now()
        ok = error is None
        self.polls.append(PollRecord(started, finished, ok))
        if ok:
            self._succeeded(finished)
            self._on_result(self, readings)
        else:
            assert error is not None
            self._failed(finished, error)
        return ok

    # --- state ---------------------------------------------------------------------------

    def _succeeded(self, now: float) -> None:
        self.last_success = now
        self.consecutive_failures = 0
        if self.state not in ("ok", "starting"):
            log.info("%s: answering again (state was %s)", self.device, self.state)
        self._set_state("ok")

    def _failed(self, now: float, error: str) -> None:
        self.last_error = error
        self.last_error_at = now
        self.consecutive_failures += 1
        if self.consecutive_failures == 1:
            level = logging.INFO if self.expected_silent or self._booting else logging.WARNING
            log.log(level, "%s: polling failed: %s", self.device, error)
        self.check_silence(now)
        if self.state in ("ok", "starting"):
            self._set_state("failing")

    def silent_for(self, now: float | None = None) -> float:
        """Seconds since the device last answered, or since the poller (re)started if it
        has not answered since."""
        now = self.clock.now() if now is None else now
        last = self.last_success
        return now - (self.started_at if last is None else max(last, self.started_at))

    def restart(self, now: float | None = None) -> None:
        """Judge the device as if it had just been added: back to ``starting``, silence
        counted from now. For a device that was silent for a known reason (its power was
        off) and should now get its full ``stale_after`` to answer."""
        self.started_at = self.clock.now() if now is None else now
        self.consecutive_failures = 0
        self.expect_boot()
        self._set_state("starting")

    def expect_boot(self) -> None:
        """The device may be booting: its failures are logged as news (INFO) until it
        answers or its ``stale_after`` passes; stale and lost still warn, and alarms are
        the watch's business either way."""
        self._booting = True

    def check_silence(self, now: float | None = None) -> DeviceState:
        """Move to stale or lost when the device has been silent long enough."""
        if self.state == "ok":
            return self.state
        silent = self.silent_for(now)
        if silent >= self.settings.lost_after:
            self._set_state("lost")
        elif silent >= self.settings.stale_after:
            self._set_state("stale")
        return self.state

    def _set_state(self, new: DeviceState) -> None:
        old = self.state
        if new == old:
            return
        self.state = new
        if new in ("ok", "stale", "lost"):
            self._booting = False  # answered, or had its full stale_after to do so
        if new in ("stale", "lost"):
            log.log(
                logging.INFO if self.expected_silent else logging.WARNING,
                "%s: %s (silent for %.0f s; last error: %s)",
                self.device,
                new,
                self.silent_for(),
                self.last_error,
            )
        self._on_state(self, old, new)
