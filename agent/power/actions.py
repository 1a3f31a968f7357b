"""Verified outlet actions: read first, act once, read back until the state is right.

- Idempotent: the state is read before acting; an outlet already in the wanted state
  gets no command at all.
- Verified: after the command, the state is polled (short, growing pauses) inside an
  ``asyncio.timeout`` scope until it matches; VerifyError when it never does.
- Transient vs fatal: DeviceUnreachable restarts the cycle (read, maybe act, verify)
  after a backoff, because after a lost SET nobody knows whether it happened, and the
  read says. NegativeReply and ProtocolError are raised at once: asking again gets the
  same answer.
- Protected outlets (the controller's own, the switch's) are refused for remote
  requests with PolicyRefusal. Which outlets are protected is the caller's policy.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from agent.adapters.snmp import SnmpClient
from agent.devices.pdu.driver import OutletState, PduDriver
from agent.errors import DeviceUnreachable, PolicyRefusal, VerifyError

log = logging.getLogger(__name__)

_POLL_FIRST = 0.1
_POLL_CAP = 1.0


@dataclass(frozen=True, slots=True)
class ActionResult:
    device: str
    outlet: int
    action: str  # "on", "off" or "reboot"
    before: OutletState
    after: OutletState
    sent: bool  # False when the outlet already was in the wanted state
    attempts: int  # cycles run (more than 1 after transient errors)


@dataclass(frozen=True, slots=True)
class ActionPolicy:
    """Timing knobs; the defaults suit a relay PDU on a LAN."""

    verify_timeout: float = 10.0
    attempts: int = 3
    backoff: float = 0.5


def _refuse_protected(device: str, outlet: int, remote: bool, protected: frozenset[int]) -> None:
    if remote and outlet in protected:
        raise PolicyRefusal(
            f"{device}: outlet {outlet} is protected (it feeds the rack's own control "
            "plane) and cannot be switched by a remote request; act from the rack's "
            "local console, or remove it from the protected outlets in rack.toml"
        )


async def switch_outlet(
    client: SnmpClient,
    driver: PduDriver,
    outlet: int,
    on: bool,
    *,
    remote: bool,
    protected: frozenset[int] = frozenset(),
    policy: ActionPolicy | None = None,
    rng: random.Random | None = None,
) -> ActionResult:
    """Turn ``outlet`` on or off and prove it, sending nothing if it already is."""
    device = client.target.device
    _refuse_protected(device, outlet, remote, protected)
    policy = policy or ActionPolicy()
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    wanted = OutletState.ON if on else OutletState.OFF
    action = wanted.value
    sent = False
    before: OutletState | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            current = (await driver.read_outlet(client, outlet)).state
            if before is None:
                before = current
            if current == wanted:
                return ActionResult(device, outlet, action, before, current, sent, attempt)
            await driver.set_outlet(client, outlet, on)
            sent = True
            after = await _verify(client, driver, outlet, wanted, policy.verify_timeout)
            return ActionResult(device, outlet, action, before, after, sent, attempt)
        except DeviceUnreachable:
            if attempt >= policy.attempts:
                raise
            delay = policy.backoff * 2 ** (attempt - 1) * (0.5 + rng.random() / 2)
            log.info(
                "%s: outlet %d %s: device did not answer, reading back again in %.2fs",
                device,
                outlet,
                action,
                delay,
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")


async def reboot_outlet(
    client: SnmpClient,
    driver: PduDriver,
    outlet: int,
    *,
    remote: bool,
    protected: frozenset[int] = frozenset(),
    policy: ActionPolicy | None = None,
) -> ActionResult:
    """Power-cycle ``outlet`` with the PDU's reboot command and prove it ends on.

    A reboot is not idempotent, so it is sent once: if the SET gets no answer the
    DeviceUnreachable goes to the caller, who reads the outlet before deciding.
    """
    device = client.target.device
    _refuse_protected(device, outlet, remote, protected)
    policy = policy or ActionPolicy()
    before = (await driver.read_outlet(client, outlet)).state
    await driver.reboot_outlet(client, outlet)
    after = await _verify(client, driver, outlet, OutletState.ON, policy.verify_timeout)
    return ActionResult(device, outlet, "reboot", before, after, True, 1)


async def _verify(
    client: SnmpClient, driver: PduDriver, outlet: int, wanted: OutletState, deadline: float
) -> OutletState:
    """Poll until the outlet reads ``wanted``; a silent poll is retried until the
    deadline (a PDU busy switching a relay may skip an answer)."""
    pause = _POLL_FIRST
    last: OutletState | None = None
    last_error: DeviceUnreachable | None = None
    try:
        async with asyncio.timeout(deadline):
            while True:
                try:
                    last = (await driver.read_outlet(client, outlet)).state
                except DeviceUnreachable as exc:
                    last_error = exc
                else:
                    if last == wanted:
                        return last
                await asyncio.sleep(pause)
                pause = min(_POLL_CAP, pause * 1.5)
    except TimeoutError as exc:
        seen = last.value if last is not None else "nothing (no answer)"
        state_mib = driver.family.state.mib if driver.family.state else "no state column"
        raise VerifyError(
            client.target.device,
            f"outlet {outlet} was told to go {wanted.value} but still reads {seen} after "
            f"{deadline}s ({state_mib}); check the outlet is switchable and "
            "not locked, and the PDU's own delays",
        ) from (last_error or exc)
