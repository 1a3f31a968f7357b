"""The reconcile loop: re-read every switch on an interval and handle drift.

Drift is a switch that no longer reads as the current layout wants (someone changed a
port on the console, a switch rebooted into an old config). Each drifted field raises a
``network.drift`` event naming the switch, the port and the change, and an audit entry;
then, per ``policy.drift``, the desired state is applied again (``repair``) or the drift
is only reported (``alarm``). A repair that does not verify puts the rack in quarantine.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from agent.devices.switch.model import PortChange, compare
from agent.errors import AgentError
from agent.network.apply import apply_switch

if TYPE_CHECKING:
    from agent.network.manager import NetworkManager

log = logging.getLogger(__name__)
SOURCE = "network"


async def reconcile_loop(manager: NetworkManager) -> None:
    interval = float(manager.config.policy.reconcile_interval)
    while True:
        await asyncio.sleep(interval)
        await reconcile_once(manager)


async def reconcile_once(manager: NetworkManager) -> list[PortChange]:
    """One pass over every switch; returns the drift found (empty when all is well)."""
    drifted: list[PortChange] = []
    failed_repair = False
    async with manager._lock:
        layout = manager.layout
        for switch_id, want in manager.desired(layout).items():
            driver = manager.drivers[switch_id]
            try:
                async with asyncio.timeout(manager.budget_s):
                    actual = await driver.read()
            except (TimeoutError, AgentError) as exc:
                _read_failed(manager, switch_id, exc)
                continue
            _read_ok(manager, switch_id)
            changes = compare(want, actual)
            if not changes:
                continue
            drifted += changes
            for change in changes:
                manager.bus.emit(
                    "network.drift",
                    SOURCE,
                    severity="warning",
                    switch=switch_id,
                    port=change.port,
                    field=change.field,
                    actual=_plain(change.actual),
                    desired=_plain(change.desired),
                    description=change.describe(),
                    action=manager.config.policy.drift,
                )
            manager.bus.emit(
                "network.drift",
                SOURCE,
                category="audit",
                switch=switch_id,
                phase=layout.phase,
                changes=[c.describe() for c in changes],
                action=manager.config.policy.drift,
            )
            if manager.config.policy.drift != "repair":
                continue
            applied = await apply_switch(driver, want, budget_s=manager.budget_s)
            manager.bus.emit(
                "network.repaired" if applied.verify.ok else "network.verify_failed",
                SOURCE,
                severity="info" if applied.verify.ok else "critical",
                switch=switch_id,
                ports=sorted({c.port for c in changes}),
                error=applied.verify.error,
                mismatches=[m.describe() for m in applied.verify.mismatches],
            )
            failed_repair |= not applied.verify.ok
    if failed_repair:
        await manager.isolate_now("drift could not be repaired")
    return drifted


def _plain(value: object) -> object:
    return sorted(value) if isinstance(value, frozenset) else value


def _read_failed(manager: NetworkManager, switch_id: str, exc: BaseException) -> None:
    if switch_id not in manager.unreadable:  # once on failure, once on recovery
        manager.unreadable.add(switch_id)
        log.warning("reconcile: cannot read %s: %s", switch_id, exc)
        manager.bus.emit(
            "network.read_failed", SOURCE, severity="warning", switch=switch_id, error=str(exc)
        )


def _read_ok(manager: NetworkManager, switch_id: str) -> None:
    if switch_id in manager.unreadable:
        manager.unreadable.discard(switch_id)
        log.info("reconcile: %s answers again", switch_id)
        manager.bus.emit("network.read_recovered", SOURCE, switch=switch_id)
