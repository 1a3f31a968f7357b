"""Apply = diff, write, read back, compare; and the fallback that shuts what cannot be
moved.

A switch is verified only by what it reads back after the write, never by the absence
of an error: an agent may accept a SET and ignore it, or a console user may undo it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from types import MappingProxyType

from agent.errors import AgentError, NegativeReply
from agent.network.driver import SwitchDriver, make_diff
from agent.network.model import (
    ActualSwitch,
    DesiredPort,
    DesiredSwitch,
    PortChange,
    SwitchVerify,
    compare,
)


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
    try:
        async with asyncio.timeout(budget_s):
            before = await driver.read()
            diff = make_diff(desired, before)
            changes = diff.changes
            error = ""
            if not diff.empty:
                try:
                    await driver.apply(diff)
                except NegativeReply as exc:
                    failed = driver.culprit(exc.oid).ports
                    error = str(exc)
            after = await driver.read()
    except TimeoutError:
        return Applied(
            SwitchVerify(
                desired.switch,
                (),
                f"no complete read and write within {budget_s:.0f}s; the switch is slow or "
                "unreachable, check its management link",
            ),
            changes,
            None,
            failed,
        )
    except AgentError as exc:
        return Applied(SwitchVerify(desired.switch, (), str(exc)), changes, None, failed)
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
    # The target is the port exactly as read, only shut, so the diff is the admin
    # status alone. PVID 0 stands for "no PVID" (a Linux bridge port can have none).
    desired_ports = {}
    for number in ports:
        have = actual.port(number)
        desired_ports[number] = DesiredPort(
            number=number,
            role="unused",
            phase="quarantine",
            pvid=have.pvid if have.pvid is not None else 0,
            untagged=have.untagged,
            tagged=have.tagged,
            admin_up=False,
        )
    target = DesiredSwitch(actual.switch, "quarantine", MappingProxyType(desired_ports))
    result = await apply_switch(driver, target, budget_s=budget_s)
    return dataclasses.replace(result, failed_ports=tuple(ports))
