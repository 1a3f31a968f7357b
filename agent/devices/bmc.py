"""Server power through the BMC: the driver contract and the behaviour both protocols share.

:class:`BmcDriver` is what the sequencer and the health pollers use. :class:`VerifiedBmc`
implements it once on top of four protocol primitives (read the power state, send a power
action, read sensors, read identity) that :mod:`agent.devices.bmc_redfish` and
:mod:`agent.devices.bmc_ipmi` provide. Every action

- is idempotent: it reads the state first and sends nothing when already there;
- retries transient errors (no answer, a busy BMC) with exponential backoff, and lets
  fatal ones (bad credentials, unsupported action, garbage replies) through at once;
- verifies by reading the power state back until ``verify_timeout_s``, raising
  :class:`~agent.errors.VerifyError` when the server never gets there.

Drivers report, callers decide: nothing here chooses *whether* to power a server.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from agent.errors import DeviceUnreachable, NegativeReply, VerifyError

log = logging.getLogger(__name__)

PowerState = Literal["on", "off", "unknown"]
PowerAction = Literal["on", "force_off", "graceful_shutdown", "force_restart"]
SensorKind = Literal["temperature", "fan", "power", "voltage", "other"]
ShutdownOutcome = Literal["already_off", "graceful", "forced"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class SensorReading:
    """One normalised sensor reading. ``unit`` is a UCUM code ("Cel", "W", "V") or "RPM"
    / "%"; ``value`` is None when the sensor exists but reads nothing (host off)."""

    sensor_id: str
    kind: SensorKind
    unit: str
    value: float | None


@dataclass(frozen=True, slots=True)
class BmcIdentity:
    """What the BMC reports about the server, for the firmware baseline check."""

    manufacturer: str
    model: str
    serial_number: str
    bmc_firmware: str
    bios_version: str | None = None


@dataclass(frozen=True, slots=True)
class BmcTiming:
    """How patient a driver is. Defaults suit real servers; tests shrink them."""

    verify_timeout_s: float = 120.0  # servers take a while to report power changes
    poll_interval_s: float = 1.0
    retries: int = 3  # extra attempts after a transient error
    backoff_s: float = 0.5  # first pause; doubled after each failed attempt


class BmcDriver(Protocol):
    """Power and sensors of one server through its BMC."""

    device: str

    async def power_state(self) -> PowerState: ...
    async def power_on(self) -> None: ...
    async def force_off(self) -> None: ...
    async def graceful_shutdown(self, timeout_s: float | None = None) -> None: ...
    async def force_restart(self) -> None: ...
    async def read_sensors(self) -> list[SensorReading]: ...
    async def read_identity(self) -> BmcIdentity: ...
    async def wait_until_answering(self, timeout_s: float) -> None: ...
    async def shutdown(self, graceful_timeout_s: float) -> ShutdownOutcome: ...


def is_transient(exc: Exception) -> bool:
    """Worth retrying: no answer, or a BMC saying it is busy (HTTP 5xx, IPMI 0xC0/0xC3)."""
    if isinstance(exc, DeviceUnreachable):
        return True
    if isinstance(exc, NegativeReply):
        return exc.status.startswith("5") or exc.status in ("0xc0", "0xc3")
    return False


class VerifiedBmc(abc.ABC):
    """:class:`BmcDriver` on top of a protocol's primitives (see the module docstring)."""

    def __init__(self, device: str, timing: BmcTiming) -> None:
        self.device = device
        self.timing = timing

    # -- protocol primitives -----------------------------------------------------------

    @abc.abstractmethod
    async def _read_power(self) -> PowerState:
        """One read of the power state, no retry."""

    @abc.abstractmethod
    async def _send(self, action: PowerAction) -> None:
        """Send one power action, no retry, no verification."""

    @abc.abstractmethod
    async def _read_sensors(self) -> list[SensorReading]: ...

    @abc.abstractmethod
    async def _read_identity(self) -> BmcIdentity: ...

    # -- BmcDriver ---------------------------------------------------------------------

    async def power_state(self) -> PowerState:
        """The power state; "unknown" while the BMC reports a transition. Raises
        DeviceUnreachable when the BMC stays silent through the retries."""
        return await self._retry("read the power state", self._read_power)

    async def read_sensors(self) -> list[SensorReading]:
        return await self._retry("read the sensors", self._read_sensors)

    async def read_identity(self) -> BmcIdentity:
        return await self._retry("read the identity", self._read_identity)

    async def power_on(self) -> None:
        await self._act("on", "on", self.timing.verify_timeout_s)

    async def force_off(self) -> None:
        await self._act("force_off", "off", self.timing.verify_timeout_s)

    async def graceful_shutdown(self, timeout_s: float | None = None) -> None:
        """Ask the OS to shut down; VerifyError if the server is still on after
        ``timeout_s`` (the OS ignored the request or is slow: the caller decides)."""
        timeout = self.timing.verify_timeout_s if timeout_s is None else timeout_s
        await self._act("graceful_shutdown", "off", timeout)

    async def force_restart(self) -> None:
        """Hard reset a running server; a server that is off is powered on instead, which
        is what a restart means for it (BMCs disagree on a reset of an off host)."""

        async def send_once() -> None:
            state = await self._read_power()
            await self._send("force_restart" if state == "on" else "on")

        await self._retry("send force_restart", send_once)
        await self._await_state("on", "force_restart", self.timing.verify_timeout_s)

    async def shutdown(self, graceful_timeout_s: float) -> ShutdownOutcome:
        """GracefulShutdown, wait up to ``graceful_timeout_s``, then ForceOff if still on."""
        if await self.power_state() == "off":
            return "already_off"
        try:
            await self.graceful_shutdown(graceful_timeout_s)
        except VerifyError:
            log.warning(
                "%s: graceful shutdown not done after %s s, forcing off",
                self.device,
                graceful_timeout_s,
            )
            await self.force_off()
            return "forced"
        return "graceful"

    async def wait_until_answering(self, timeout_s: float) -> None:
        """Wait for the BMC to answer (after its outlet powered on). A fatal reply, such
        as refused credentials, is raised at once: the BMC answers, but not to us."""
        last: Exception | None = None
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    try:
                        await self._read_power()
                    except (DeviceUnreachable, NegativeReply) as exc:
                        if not is_transient(exc):
                            raise
                        last = exc
                    else:
                        return
                    await asyncio.sleep(self.timing.poll_interval_s)
        except TimeoutError as exc:
            raise DeviceUnreachable(
                self.device,
                f"BMC did not answer within {timeout_s} s (last error: {last}); check that "
                "its outlet is on, its network cable and its address in the rack config",
            ) from exc

    # -- shared machinery --------------------------------------------------------------

    async def _act(self, action: PowerAction, target: PowerState, timeout_s: float) -> None:
        async def send_unless_there() -> bool:
            # Read first, inside the retry: after a lost reply the action may have landed.
            if await self._read_power() == target:
                return False
            await self._send(action)
            return True

        if await self._retry(f"send {action}", send_unless_there):
            await self._await_state(target, action, timeout_s)

    async def _await_state(self, target: PowerState, action: str, timeout_s: float) -> None:
        last: PowerState | str = "not read yet"
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    try:
                        last = await self._read_power()
                    except DeviceUnreachable as exc:
                        last = f"unreadable ({exc})"  # a BMC busy with the change: keep polling
                    if last == target:
                        return
                    await asyncio.sleep(self.timing.poll_interval_s)
        except TimeoutError as exc:
            raise VerifyError(
                self.device,
                f"{action} was sent but the power state is {last!r}, not {target!r}, after "
                f"{timeout_s} s; check the server's console, or use a forced action",
            ) from exc

    async def _retry(self, what: str, op: Callable[[], Awaitable[_T]]) -> _T:
        delay = self.timing.backoff_s
        for attempt in range(self.timing.retries + 1):
            try:
                return await op()
            except (DeviceUnreachable, NegativeReply) as exc:
                if not is_transient(exc) or attempt == self.timing.retries:
                    raise
                log.info("%s: %s failed (%s), retry in %.1f s", self.device, what, exc, delay)
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")
