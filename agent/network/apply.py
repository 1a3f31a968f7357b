"""Apply = diff, write, read back, compare; and the fallback that shuts what cannot be
moved.

A switch is verified only by what it reads back after the write, never by the absence
of an error: an agent may accept a SET and ignore it, or a console user may undo it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from agent.devices.switch.driver import SwitchDriver, make_diff
from agent.devices.switch.model import (
    ActualSwitch,
    DesiredPort,
    DesiredSwitch,
    PortChange,
    SwitchVerify,
    compare,
)
from agent.errors import AgentError, NegativeReply

# Refused writes narrowed down per apply before giving up on the rest of the diff.
MAX_REFUSALS = 4


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of one apply: the verification and what was changed."""

    verify: SwitchVerify
    changes: tuple[PortChange, ...]
    after: ActualSwitch | None
    failed_ports: tuple[int, ...] = ()


async def apply_switch(driver: SwitchDriver, desired: DesiredSwitch, *, budget_s: float) -> Applied:
    """Read, write the difference, read back and compare. Device errors are returned in
    the verification (with the ports the refused write touched), not raised: the caller
    decides what a failure means."""
    changes: tuple[PortChange, ...] = ()
    failed: tuple[int, ...] = ()
    errors: list[str] = []
    before: ActualSwitch | None = None
    try:
        async with asyncio.timeout(budget_s):
            before = await driver.read()
            diff = make_diff(desired, before)
            changes = diff.changes
            # A SET PDU is all or nothing, so a refusal also stopped every other port's
            # change that travelled with it. Write again without the port(s) the refusal
            # was about (read first: the PDUs before it did apply), so that only those
            # are left for the caller's fallback (shut), not their neighbours.
            for _attempt in range(MAX_REFUSALS):
                if diff.empty:
                    break
                try:
                    await driver.apply(diff)
                    break
                except NegativeReply as exc:
                    errors.append(str(exc))
                    named = {p for p in driver.culprit(exc.oid).ports if p in desired.ports}
                    if not named or named <= set(failed):
                        break  # the switch named nothing new: narrowing cannot help
                    failed = tuple(sorted({*failed, *named}))
                    now = await driver.read()
                    diff = make_diff(_as_read(desired, now, failed), now)
    except (TimeoutError, AgentError) as exc:
        why = str(exc) if isinstance(exc, AgentError) else f"no answer within {budget_s:g} s"
        if before is None:
            # Nothing known, nothing written: the caller has nothing to fall back on.
            return Applied(
                SwitchVerify(
                    desired.switch, (), f"cannot read the switch ({why}); check its management link"
                ),
                changes,
                None,
                failed,
            )
        # A slow write, a lost reply (the write may have applied) or a device error:
        # what the switch reads back decides, and the caller falls back on that.
        errors.append(f"the write did not complete ({why})")
    # The read-back has a budget of its own: after a slow, refused or unanswered write,
    # the caller's fallback needs to know what the switch looks like. Worst case, an
    # apply takes twice the budget (and a quarantine with its fallback four times).
    try:
        async with asyncio.timeout(budget_s):
            after = await driver.read()
    except (TimeoutError, AgentError) as exc:
        why = str(exc) if isinstance(exc, AgentError) else f"no answer within {budget_s:g} s"
        return Applied(
            SwitchVerify(
                desired.switch,
                (),
                "; ".join([*errors, f"cannot read the switch back ({why})"])
                + "; check its management link",
            ),
            changes,
            None,
            failed,
        )
    error = "; ".join(errors)
    mismatches = tuple(compare(desired, after))
    return Applied(SwitchVerify(desired.switch, mismatches, error), changes, after, failed)


def unsafe_ports(desired: DesiredSwitch, actual: ActualSwitch) -> list[int]:
    """Ports of a quarantine state that are neither as planned nor shut."""
    wrong = {c.port for c in compare(desired, actual)}
    return sorted(p for p in wrong if actual.admin_up.get(p) is not False)


async def shut_ports(
    driver: SwitchDriver, actual: ActualSwitch, ports: list[int], *, budget_s: float
) -> Applied:
    """Shut ``ports`` and nothing else (their VLANs are left as they are): the last
    resort when a port cannot be moved to quarantine. Controller ports are never shut,
    the agent would cut its own management link."""
    target = _as_read(
        DesiredSwitch(actual.switch, "quarantine", MappingProxyType({})),
        actual,
        ports,
        admin_up=False,
    )
    result = await apply_switch(driver, target, budget_s=budget_s)
    return dataclasses.replace(result, failed_ports=tuple(ports))


def _as_read(
    desired: DesiredSwitch,
    actual: ActualSwitch,
    ports: Iterable[int],
    *,
    admin_up: bool | None = None,
) -> DesiredSwitch:
    """``desired`` with ``ports`` wanted exactly as read (and, if given, ``admin_up``): a
    write of that leaves them alone. PVID 0 stands for "no PVID" (a Linux bridge port can
    have none)."""
    wanted = dict(desired.ports)
    for number in ports:
        have = actual.port(number)
        old = wanted.get(number)
        if admin_up is not None:
            up = admin_up
        elif have.admin_up is not None:
            up = have.admin_up
        else:
            # Not reported: shut is the safe guess, but never for the controller's own
            # port (that would cut the agent's management link).
            up = old is not None and old.role == "controller" and old.admin_up
        wanted[number] = DesiredPort(
            number=number,
            role=old.role if old is not None else "unused",
            phase=desired.phase,
            pvid=have.pvid if have.pvid is not None else 0,
            untagged=have.untagged,
            tagged=have.tagged,
            admin_up=up,
            device=old.device if old is not None else "",
            name=old.name if old is not None else "",
        )
    return dataclasses.replace(desired, ports=MappingProxyType(wanted))
