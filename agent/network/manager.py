"""The network part: plan + drivers + apply + verify + reconcile, as one async context
manager the lifecycle and the daemon hold.

    async with NetworkManager(config, bus) as net:
        report = await net.enter_phase("quarantine")   # raises VerifyError if unsafe
        ...
        await net.isolate_now("operator pressed the button")

Every phase change is planned, checked against the invariants (nothing is written if
one breaks), applied switch by switch, read back and compared. A failure of any kind
(a refused SET, a timeout, a read-back mismatch, a probe that sees an open path) puts
the whole rack back in quarantine, shuts whatever port cannot be moved there, raises an
alarm naming the ports, and raises `VerifyError` to the caller, so the lifecycle stops
in a safe state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from agent.bus import Bus
from agent.conf.schema import RackConfig
from agent.devices.switch.driver import PreparesWrites, SwitchDriver
from agent.devices.switch.model import DesiredSwitch, Phase, SwitchVerify, VerifyReport, compare
from agent.errors import AgentError, PolicyRefusal, VerifyError
from agent.network.apply import Applied, apply_switch, shut_ports, unsafe_ports
from agent.network.invariants import enforce
from agent.network.plan import Layout, plan
from agent.network.reconcile import reconcile_loop

log = logging.getLogger(__name__)
SOURCE = "network"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a traffic probe saw: ``ok`` when every path is as the layout wants."""

    ok: bool
    detail: tuple[str, ...] = ()


Probe = Callable[[Layout], Awaitable[ProbeResult]]
DriverFactory = Callable[[RackConfig], Mapping[str, SwitchDriver]]


class NetworkManager:
    """Owns the switch drivers and the reconcile task. Use as ``async with``."""

    def __init__(
        self,
        config: RackConfig,
        bus: Bus,
        *,
        drivers: Mapping[str, SwitchDriver] | None = None,
        probe: Probe | None = None,
        switch_budget_s: float = 30.0,
        reconcile: bool = True,
    ) -> None:
        self.config = config
        self.bus = bus
        if drivers is None:
            from agent.devices.switch.drivers import drivers_for  # noqa: PLC0415 - no cycle at import

            drivers = drivers_for(config)
        missing = sorted({s.id for s in config.switch} - set(drivers))
        if missing:
            raise PolicyRefusal(f"network: no driver for switches {missing}; give one each")
        self.drivers = dict(drivers)
        self.probe = probe
        self.budget_s = switch_budget_s
        self.layout = Layout("quarantine")
        self.last_report: VerifyReport | None = None
        self.unreadable: set[str] = set()  # switches the reconcile loop cannot read
        # Emergency isolation held (its reason) until `release`: no phase but quarantine
        # may be entered, and reconcile keeps quarantine (the layout cannot change).
        self.held: str | None = None
        self._reconcile = reconcile
        self._lock = asyncio.Lock()
        self._op: asyncio.Task[VerifyReport] | None = None
        self._stack = contextlib.AsyncExitStack()
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._prepared: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        async with contextlib.AsyncExitStack() as stack:
            for driver in self.drivers.values():
                await stack.enter_async_context(driver)
            self._tg = await stack.enter_async_context(asyncio.TaskGroup())
            self._prepared = self._tg.create_task(
                self._prepare_writes(), name="network-prepare-writes"
            )
            self._tasks.append(self._prepared)
            if self._reconcile:
                self._tasks.append(
                    self._tg.create_task(reconcile_loop(self), name="network-reconcile")
                )
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        if self._op is not None:
            self._op.cancel()
        self._tasks.clear()
        self._tg = None
        await self._stack.__aexit__(exc_type, exc, tb)

    async def ready(self) -> None:
        """Wait until the drivers' write paths are prepared (started on opening, in the
        background; a failure there is only logged, the first write then pays it)."""
        if self._prepared is not None:
            await asyncio.shield(self._prepared)

    async def _prepare_writes(self) -> None:
        """So that an emergency isolation does not load the SET library first: each
        driver that can prepares its write path, the switches at once."""

        async def one(switch_id: str, driver: PreparesWrites) -> None:
            try:
                async with asyncio.timeout(self.budget_s):
                    await driver.prepare_writes()
            except (TimeoutError, AgentError) as exc:
                log.info("%s: write path not prepared ahead (%s)", switch_id, exc)

        await asyncio.gather(
            *(one(i, d) for i, d in self.drivers.items() if isinstance(d, PreparesWrites))
        )

    # --- the public operations -----------------------------------------------------

    def desired(self, layout: Layout | None = None) -> dict[str, DesiredSwitch]:
        return plan(self.config, layout or self.layout)

    async def enter_phase(
        self, phase: Phase, devices: Iterable[str] = (), *, approvals: Iterable[str] = ()
    ) -> VerifyReport:
        """Move the rack (or only ``devices``) to ``phase`` and prove it.

        ``connected`` joins the hospital network: it needs ``approvals``, the ids of two
        different keys that signed the command (checked by report/; repeated here so no
        caller can skip it). Raises VerifyError, after putting the rack back in
        quarantine, when the switches do not read back as planned.
        """
        if self.held is not None and phase != "quarantine":
            raise PolicyRefusal(
                f"network: emergency isolation holds ({self.held}); phase {phase!r} is "
                "refused until it is released (network.release, `cleanroom net release`)"
            )
        if phase == "connected" and len(set(approvals)) < 2:
            raise PolicyRefusal(
                "network: entering 'connected' joins the clean VLAN to the hospital network "
                f"and needs two different approvers, got {sorted(set(approvals)) or 'none'}; "
                "send the command with a second signature"
            )
        chosen = tuple(devices)
        unknown = sorted(set(chosen) - set(self.config.device_ids()))
        if unknown:
            raise PolicyRefusal(f"network: no devices {unknown} in the rack config")
        layout = self.layout.enter(phase, chosen)
        desired = plan(self.config, layout)
        enforce(desired, self.config.vlans)  # before a single write
        async with self._lock:
            report = await self._interruptible(phase, self._apply(layout, desired))
            if report.verified:
                self.layout = layout
                if not chosen:  # a rack phase: the controller's interfaces follow it
                    report = await self._with_host(report, phase)
                self._published_applied(report, layout)
                return report
            failed_report = report
            self._alarm_verify_failed(report)
            await self._quarantine(f"phase {phase!r} failed to verify")
        raise VerifyError(
            ",".join(s.switch for s in failed_report.switches if not s.ok) or SOURCE,
            f"phase {phase!r} not verified, the rack was put back in quarantine: "
            + "; ".join(failed_report.problems()),
        )

    async def _interruptible(
        self, phase: Phase, work: Coroutine[Any, Any, VerifyReport]
    ) -> VerifyReport:
        """Run a phase change as a task `isolate_now` can cancel without cancelling the
        caller: the caller then gets a PolicyRefusal saying why."""
        if self._tg is None:
            work.close()
            raise RuntimeError("NetworkManager used outside 'async with'; open it first")
        task = self._tg.create_task(work, name=f"network-enter-{phase}")
        self._op = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and current is not None and not current.cancelling():
                raise PolicyRefusal(
                    f"network: entering phase {phase!r} was interrupted by an emergency "
                    "isolation; the rack is in quarantine, enter the phase again when ready"
                ) from None
            raise
        finally:
            self._op = None

    async def isolate_now(
        self, reason: str = "emergency isolation", *, hold: bool = False
    ) -> VerifyReport:
        """The emergency button: quarantine everything now, the controller's hospital
        uplink down too. Interrupts a phase change in progress, never raises for a
        device failure (it shuts what it cannot move and reports it), and always
        publishes what it achieved. ``hold``: stay isolated until `release`."""
        if hold:
            self.held = reason
        self.bus.emit("network.isolate", SOURCE, category="audit", reason=reason, hold=hold)
        if self._op is not None:
            self._op.cancel()
        async with self._lock:
            return await self._quarantine(reason)

    def release(self) -> None:
        """Leave emergency isolation: phases may be entered again (the caller audits)."""
        self.held = None

    async def _with_host(self, report: VerifyReport, phase: Phase) -> VerifyReport:
        """The controller's own interfaces follow the rack's phase (the hospital-facing
        one is up only when connected), where the config names them; a failure there is
        one more thing the report says is not verified."""
        controller = self.config.controller
        if not (controller.uplink_interface or controller.switch_interface):
            return report
        from agent.network.host import apply_host  # noqa: PLC0415 - netlink, when used

        try:
            await apply_host(self.config, phase, trunk=controller.switch_interface)
        except AgentError as exc:
            failed = SwitchVerify("controller", (), f"controller interfaces: {exc}")
            return VerifyReport(
                report.phase, (*report.switches, failed), report.probe_ok, report.probe_detail
            )
        return report

    async def verify(self) -> VerifyReport:
        """Read every switch and compare with the current layout; no write."""
        async with self._lock:
            report = await self._read_verify(self.layout)
        self.last_report = report
        if not report.verified:
            self._alarm_verify_failed(report)
        return report

    # --- machinery --------------------------------------------------------------------

    async def _apply(self, layout: Layout, desired: dict[str, DesiredSwitch]) -> VerifyReport:
        results: list[SwitchVerify] = []
        for switch_id, want in desired.items():
            applied = await apply_switch(self.drivers[switch_id], want, budget_s=self.budget_s)
            self._audit_applied(applied, layout)
            results.append(applied.verify)
        report = VerifyReport(layout.phase, tuple(results))
        if report.verified and self.probe is not None:
            probed = await self.probe(layout)
            report = VerifyReport(layout.phase, tuple(results), probed.ok, probed.detail)
        self.last_report = report
        return report

    async def _read_verify(self, layout: Layout) -> VerifyReport:
        results = []
        for switch_id, want in plan(self.config, layout).items():
            try:
                async with asyncio.timeout(self.budget_s):
                    actual = await self.drivers[switch_id].read()
            except (TimeoutError, AgentError) as exc:
                results.append(SwitchVerify(switch_id, (), f"read failed: {exc}"))
                continue
            results.append(SwitchVerify(switch_id, tuple(compare(want, actual))))
        report = VerifyReport(layout.phase, tuple(results))
        if report.verified and self.probe is not None:
            probed = await self.probe(layout)
            report = VerifyReport(layout.phase, tuple(results), probed.ok, probed.detail)
        return report

    async def _quarantine(self, reason: str) -> VerifyReport:
        layout = Layout("quarantine")
        desired = plan(self.config, layout)
        enforce(desired, self.config.vlans)
        results = []
        for switch_id, want in desired.items():
            driver = self.drivers[switch_id]
            applied = await apply_switch(driver, want, budget_s=self.budget_s)
            self._audit_applied(applied, layout)
            verify = applied.verify
            if not verify.ok:
                verify = await self._fall_back(driver, want, applied)
            results.append(verify)
        self.layout = layout
        report = await self._with_host(VerifyReport("quarantine", tuple(results)), "quarantine")
        if report.verified and self.probe is not None:
            probed = await self.probe(layout)
            report = VerifyReport("quarantine", report.switches, probed.ok, probed.detail)
        self.last_report = report
        self.bus.emit(
            "network.isolated",
            SOURCE,
            reason=reason,
            verified=report.verified,
            problems=report.problems(),
        )
        if not report.verified:
            self._alarm_verify_failed(report)
        return report

    async def _fall_back(
        self, driver: SwitchDriver, want: DesiredSwitch, applied: Applied
    ) -> SwitchVerify:
        """Shut every port that is neither quarantined nor shut (never the controller's)."""
        after = applied.after
        if after is None:
            return applied.verify
        ports = [
            p
            for p in sorted(set(unsafe_ports(want, after)) | set(applied.failed_ports))
            if p in want.ports
            and want.ports[p].role != "controller"
            and after.admin_up.get(p) is not False
        ]
        if not ports:
            # Everything wrong is already shut: safe, but say which ports stay wrong.
            return applied.verify
        shut = await shut_ports(driver, after, ports, budget_s=self.budget_s)
        self.bus.emit(
            "network.ports_shut",
            SOURCE,
            category="audit",
            switch=want.switch,
            ports=ports,
            reason=applied.verify.error or "read back differs from quarantine",
        )
        return SwitchVerify(
            want.switch,
            applied.verify.mismatches,
            (applied.verify.error + "; " if applied.verify.error else "")
            + f"ports {ports} could not be quarantined and were shut"
            + ("" if shut.verify.ok else f" (shutting failed too: {shut.verify.error})"),
        )

    def _audit_applied(self, applied: Applied, layout: Layout) -> None:
        if applied.changes:
            self.bus.emit(
                "network.apply",
                SOURCE,
                category="audit",
                switch=applied.verify.switch,
                phase=layout.phase,
                devices=dict(layout.devices),
                changes=[c.describe() for c in applied.changes],
                ok=applied.verify.ok,
            )

    def _published_applied(self, report: VerifyReport, layout: Layout) -> None:
        self.bus.emit(
            "network.applied",
            SOURCE,
            phase=layout.phase,
            devices=dict(layout.devices),
            switches=[s.switch for s in report.switches],
            probe=report.probe_ok,
        )

    def _alarm_verify_failed(self, report: VerifyReport) -> None:
        for switch in report.switches:
            if switch.ok:
                continue
            self.bus.emit(
                "network.verify_failed",
                SOURCE,
                severity="critical",
                switch=switch.switch,
                phase=report.phase,
                ports=sorted({m.port for m in switch.mismatches}),
                error=switch.error,
                mismatches=[m.describe() for m in switch.mismatches],
            )
        if report.probe_ok is False:
            self.bus.emit(
                "network.verify_failed",
                SOURCE,
                severity="critical",
                phase=report.phase,
                probe=list(report.probe_detail),
            )
