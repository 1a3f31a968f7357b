"""How the lifecycle talks to the parts that do the work.

The lifecycle sees small protocols (`machine.Network`, `machine.Power`, the step
context's `NetworkControl` and `PowerControl`); these bridges implement them over the
network, power and health parts, and journal what the lifecycle must know after a crash
(which network phase the rack was last put in).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from agent.devices.switch.model import PHASES, Phase
from agent.errors import AgentError, PolicyRefusal
from agent.lifecycle.journal import Journal
from agent.network.manager import NetworkManager
from agent.network.plan import Layout
from agent.power.manager import PowerManager

log = logging.getLogger(__name__)


def _phase(name: str) -> Phase:
    for phase in PHASES:
        if phase == name:
            return phase
    raise AgentError(f"network phase {name!r} is not one of {PHASES}")


class NetworkBridge:
    """The lifecycle's and the runbook's view of the network part."""

    def __init__(self, manager: NetworkManager, journal: Journal) -> None:
        self.manager = manager
        self.journal = journal
        self._before_uplink: Layout | None = None  # the layout `disconnect` goes back to

    # --- the hospital uplink ----------------------------------------------------------
    # Not journaled as a phase: after a restart the rack comes back without the uplink
    # (joining it again needs a new two-person approval), in the layout before it.

    @property
    def connected(self) -> bool:
        return bool(self.manager.layout.phase == "connected")

    async def connect(self, approvals: tuple[str, ...]) -> tuple[bool, str]:
        before = self.manager.layout
        report = await self.manager.enter_phase("connected", approvals=approvals)
        if before.phase != "connected":
            # The layout this connection left, not an older one: a rack isolated and
            # brought back since an earlier connection has moved on from that one.
            self._before_uplink = before
        if not report.verified:
            _, down = await self.disconnect()
            raise PolicyRefusal(
                "network: the hospital uplink did not verify ("
                + "; ".join(report.problems())
                + f"); it was taken down again ({down})"
            )
        return True, f"hospital uplink up, verified on {len(report.switches)} switch(es)"

    async def disconnect(self) -> tuple[bool, str]:
        layout = self._before_uplink or Layout("operational")
        try:
            await self.manager.enter_phase(layout.phase)
            for device, phase in sorted(layout.devices.items()):
                await self.manager.enter_phase(phase, [device])
        except AgentError as exc:
            return False, f"the uplink is down, but the layout did not verify: {exc}"
        self._before_uplink = None
        return True, f"hospital uplink down, verified; the rack is back in {layout.phase}"

    async def isolate(self) -> tuple[bool, str]:
        try:
            report = await self.manager.enter_phase("quarantine")
        except AgentError as exc:
            return False, f"isolation failed: {exc}"
        await self._remember("quarantine", [])
        if not report.verified:
            return False, "; ".join(report.problems())
        how = "read back" + (" and proven by traffic" if report.probe_ok else "")
        return True, f"quarantine verified ({how}) on {len(report.switches)} switch(es)"

    async def emergency(self, reason: str) -> str:
        self._before_uplink = None  # quarantine now: no layout to return to from the uplink
        report = await self.manager.isolate_now(reason)
        await self._remember("quarantine", [])
        return _isolated(report.verified, report.problems())

    async def hold(self, reason: str) -> tuple[bool, str]:
        """Emergency isolation, held until `release`: quarantine verified by read-back,
        the hospital uplinks down, every other phase refused meanwhile."""
        self._before_uplink = None
        report = await self.manager.isolate_now(reason, hold=True)
        await self._remember("quarantine", [])
        return report.verified, _isolated(report.verified, report.problems())

    def release(self) -> None:
        self.manager.release()

    async def resume(self) -> None:
        """Put the switches back in the phase the journal last recorded (the network part
        starts in quarantine; a resumed restore needs its clean VLAN back)."""
        row = await self.journal.store.call(
            lambda c: c.execute(
                "SELECT data FROM journal WHERE kind = 'network' ORDER BY id DESC LIMIT 1"
            ).fetchone()
        )
        if row is None:
            return
        data: dict[str, Any] = json.loads(row[0])
        phases: list[list[Any]] = data.get("layout", [])
        for phase, devices in phases:
            if phase != "quarantine" or devices:
                log.info("network: resuming phase %s for %s", phase, devices or "all")
                await self.manager.enter_phase(_phase(phase), devices)

    # --- NetworkControl, for runbook `vlan` steps ---------------------------------------

    async def enter_phase(self, phase: str, devices: list[str]) -> str:
        report = await self.manager.enter_phase(_phase(phase), devices)
        await self._remember(phase, devices)
        scope = ", ".join(devices) if devices else "every port"
        return f"{scope} in {phase}, verified on {len(report.switches)} switch(es)"

    async def in_phase(self, phase: str, devices: list[str]) -> bool:
        report = await self.manager.verify()
        return report.verified and self._layout_has(phase, devices)

    def _layout_has(self, phase: str, devices: Iterable[str]) -> bool:
        layout = self.manager.layout
        chosen = set(devices)
        if not chosen:
            return bool(layout.phase == phase)
        return all(layout.phase_of(d) == phase for d in chosen)

    async def _remember(self, phase: str, devices: list[str]) -> None:
        layout = self.manager.layout
        # The whole layout, rack phase first, then devices moved on their own: replaying
        # it in order rebuilds the same layout after a restart.
        steps: list[list[Any]] = [[layout.phase, []]]
        steps += [[p, [d]] for d, p in sorted(layout.devices.items())]
        await self.journal.write("network", phase, "entered", devices=devices, layout=steps)


def _isolated(verified: bool, problems: list[str]) -> str:
    if verified:
        return "rack isolated: quarantine verified"
    return "rack isolated as far as possible: " + "; ".join(problems)


class PowerBridge:
    """The lifecycle's view of the power part: the whole sequence up, or down."""

    def __init__(self, manager: PowerManager) -> None:
        self.manager = manager

    async def up(self) -> tuple[bool, str]:
        try:
            report = await self.manager.power_up()
        except AgentError as exc:
            return False, f"power-up failed: {exc}"
        if report.ok:
            return True, f"{len(report.groups)} power group(s) up and verified"
        return False, "; ".join(report.errors())

    async def down(self, reason: str) -> tuple[bool, str]:
        try:
            report = await self.manager.power_down(reason)
        except AgentError as exc:
            return False, f"power-down failed: {exc}"
        if report.ok:
            return True, "workload powered down; protected outlets stay on"
        return False, "; ".join(report.errors())
