"""The power part as one async context manager: PDUs, BMCs, the UPS policy, sequences.

    async with PowerManager(config, bus) as power:
        report = await power.power_up(progress=print)      # PolicyRefusal on budget
        await power.set_device_power("hv-2", False, "auto") # a runbook step
        async for decision in power.decisions():            # UPS policy edges
            if decision.kind == "critical":
                await power.power_down(decision.reason)

It owns one SnmpClient per PDU (its driver detected on first use and cached, so a PDU
that is silent when the agent starts does not stop it), one per UPS, one driver per
server BMC, and a TaskGroup whose named tasks poll each UPS for the policy. It is the
`Plant` of the sequencer and the lifecycle's `PowerControl`.

Only one power operation runs at a time (a sequence, or one device). A power-down
(the UPS critical, an operator) preempts a power-up in progress: the power-up stops
where it is and raises PolicyRefusal saying why, then the power-down runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Literal, Self

from agent.adapters.snmp import SnmpClient
from agent.bus import Bus, Event
from agent.conf.schema import Bmc, RackConfig
from agent.devices.bmc import BmcDriver, BmcTiming
from agent.devices.detect import resolve_driver
from agent.devices.pdu.driver import OutletState, PduDriver
from agent.devices.ups import UpsDriver, UpsStatus
from agent.errors import AgentError, ConfigError, DeviceError, PolicyRefusal
from agent.power.actions import ActionPolicy, ActionResult, switch_outlet
from agent.power.budget import PowerBudget
from agent.power.sequencer import (
    DEFAULT_INRUSH_S,
    SOURCE,
    DeviceResult,
    Member,
    Pause,
    PowerReport,
    ProgressFn,
    Run,
    Sequencer,
    group_of,
)
from agent.power.ups_policy import EVENT_KINDS, UpsDecision, UpsPolicy, watch_ups
from agent.targets import ipmi_endpoint, pdu_target, redfish_endpoint, ups_target

log = logging.getLogger(__name__)
Via = Literal["auto", "outlet", "bmc"]
VIAS: tuple[Via, ...] = ("auto", "outlet", "bmc")


class DecisionStream:
    """UPS policy decisions from the moment it is created; ``async for`` over it."""

    def __init__(self, owner: PowerManager) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[UpsDecision] = asyncio.Queue()
        owner._streams.add(self)

    def put(self, decision: UpsDecision) -> None:
        self._queue.put_nowait(decision)

    def __aiter__(self) -> AsyncIterator[UpsDecision]:
        return self

    async def __anext__(self) -> UpsDecision:
        return await self._queue.get()

    async def get(self) -> UpsDecision:
        return await self._queue.get()

    def pending(self) -> int:
        """Decisions received and not read yet."""
        return self._queue.qsize()

    def close(self) -> None:
        self._owner._streams.discard(self)


class PowerManager:
    """Owns the power devices' clients and the UPS policy tasks. Use as ``async with``.

    ``auto_shutdown``: run the staged power-down itself when a UPS turns critical (for
    a process without a lifecycle, such as ``cleanroom power``); the daemon leaves it
    off and lets the lifecycle react to ``decisions()``. ``watch_ups``: start the UPS
    policy tasks (every ``ups_interval_s``, default the health interval).
    """

    def __init__(
        self,
        config: RackConfig,
        bus: Bus,
        *,
        action_policy: ActionPolicy | None = None,
        bmc_poll_s: float = 1.0,
        bmc_request_timeout_s: float = 10.0,
        ups_interval_s: float | None = None,
        watch_ups: bool = True,
        auto_shutdown: bool = False,
        return_min_charge_pct: float = 0.0,
    ) -> None:
        self.config = config
        self.bus = bus
        self.action_policy = action_policy or ActionPolicy()
        self.budget = PowerBudget.from_config(config)
        self.sequencer = Sequencer(config, self, self.budget, bus)
        self.policies = {
            u.id: UpsPolicy(
                u.id,
                low_runtime_s=float(u.low_runtime),
                dead_time_s=float(u.dead_time),
                return_min_charge_pct=return_min_charge_pct,
            )
            for u in config.ups
        }
        self.auto_shutdown = auto_shutdown
        self.last_shutdown: PowerReport | None = None
        self._bmc_poll_s = bmc_poll_s
        self._bmc_timeout_s = bmc_request_timeout_s
        self._ups_interval_s = ups_interval_s or float(config.health.interval)
        self._watch_ups = watch_ups
        self._protected = config.protected_outlets()
        self._owner = {
            (ref.pdu, ref.outlet): m.id
            for m in self.sequencer.members.values()
            for ref in m.outlets
        }
        self._owner |= {(ref.pdu, ref.outlet): "controller" for ref in config.controller.power}
        self._pdus: dict[str, SnmpClient] = {}
        self._drivers: dict[str, PduDriver] = {}
        self._driver_locks = {p.id: asyncio.Lock() for p in config.pdu}
        self._upses: dict[str, SnmpClient] = {}
        self._ups_driver = UpsDriver()
        self._bmcs: dict[str, BmcDriver] = {}
        self._bmc_errors: dict[str, str] = {}
        self._streams: set[DecisionStream] = set()
        self._listeners: list[Callable[[UpsDecision], None]] = []
        self._lock = asyncio.Lock()
        self._up_task: asyncio.Task[PowerReport] | None = None
        self._preempted: str | None = None
        self._stack = contextlib.AsyncExitStack()
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # --- lifetime ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        async with contextlib.AsyncExitStack() as stack:
            for pdu in self.config.pdu:
                self._pdus[pdu.id] = await stack.enter_async_context(
                    SnmpClient(pdu_target(self.config, pdu))
                )
            for ups in self.config.ups:
                self._upses[ups.id] = await stack.enter_async_context(
                    SnmpClient(ups_target(self.config, ups))
                )
            for server in self.config.server:
                if server.bmc is not None:
                    await self._open_bmc(stack, server.id, server.bmc)
            self._tg = await stack.enter_async_context(asyncio.TaskGroup())
            if self._watch_ups:
                for ups_id, policy in self.policies.items():
                    self._tasks.append(
                        self._tg.create_task(
                            watch_ups(
                                policy,
                                self._ups_reader(ups_id),
                                self._decide,
                                interval_s=self._ups_interval_s,
                            ),
                            name=f"power-ups-policy-{ups_id}",
                        )
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
        if self._up_task is not None:
            self._up_task.cancel()
        self._tasks.clear()
        self._tg = None
        for stream in list(self._streams):
            stream.close()
        # Not the body's exception: an asyncio.TaskGroup would wrap it in an
        # ExceptionGroup, and callers catch our errors (PolicyRefusal...) by type.
        await self._stack.__aexit__(None, None, None)

    async def _open_bmc(self, stack: contextlib.AsyncExitStack, device: str, bmc: Bmc) -> None:
        timing = BmcTiming(
            verify_timeout_s=float(bmc.boot_timeout), poll_interval_s=self._bmc_poll_s
        )
        try:
            if bmc.kind == "redfish":
                from agent.adapters.redfish import RedfishClient  # noqa: PLC0415 - httpx
                from agent.devices.bmc_redfish import RedfishBmc  # noqa: PLC0415

                client = await stack.enter_async_context(
                    RedfishClient(redfish_endpoint(device, bmc, self._bmc_timeout_s))
                )
                self._bmcs[device] = RedfishBmc(client, timing, bmc.system_id)
            else:
                from agent.adapters.ipmi import IpmiClient  # noqa: PLC0415 - pyghmi
                from agent.devices.bmc_ipmi import IpmiBmc  # noqa: PLC0415

                ipmi = await stack.enter_async_context(
                    IpmiClient(ipmi_endpoint(device, bmc, max(self._bmc_timeout_s, 15.0)))
                )
                self._bmcs[device] = IpmiBmc(ipmi, timing)
        except (AgentError, OSError) as exc:
            # A BMC that cannot even be set up is that server's problem, not the rack's.
            self._bmc_errors[device] = str(exc)
            log.warning("power: %s: BMC not available: %s", device, exc)

    # --- Plant (what the sequencer uses) -------------------------------------------------

    async def driver(self, pdu: str) -> PduDriver:
        """The PDU's driver, detected on first use (``driver = "auto"``) and cached."""
        found = self._drivers.get(pdu)
        if found is not None:
            return found
        async with self._driver_locks[pdu]:
            if pdu not in self._drivers:
                conf = self.config.find_pdu(pdu)
                assert conf is not None
                self._drivers[pdu] = await resolve_driver(self._pdus[pdu], conf.driver)
            return self._drivers[pdu]

    async def outlet_states(self, pdu: str) -> dict[int, OutletState]:
        client = self._client(pdu)
        readings = await (await self.driver(pdu)).read_outlets(client)
        return {r.number: r.state for r in readings}

    async def switch(self, pdu: str, outlet: int, on: bool, *, remote: bool) -> ActionResult:
        """Switch one outlet, verified and idempotent, and audit it whatever happens.
        Protected outlets are refused when switched off by a remote request."""
        action = "on" if on else "off"
        audit: dict[str, Any] = {
            "pdu": pdu,
            "outlet": outlet,
            "device": self._owner.get((pdu, outlet), ""),
            "action": action,
            "remote": remote,
        }
        protected = frozenset() if on else self._protected.get(pdu, frozenset())
        try:
            driver = await self.driver(pdu)
            result = await switch_outlet(
                self._client(pdu),
                driver,
                outlet,
                on,
                remote=remote,
                protected=protected,
                policy=self.action_policy,
            )
        except AgentError as exc:
            outcome = "refused" if isinstance(exc, PolicyRefusal) else "failed"
            self.bus.emit("power.outlet", SOURCE, "audit", result=outcome, error=str(exc), **audit)
            raise
        self.bus.emit(
            "power.outlet",
            SOURCE,
            "audit",
            result="switched" if result.sent else "already",
            before=result.before.value,
            after=result.after.value,
            attempts=result.attempts,
            **audit,
        )
        return result

    async def inlet_power(self, pdu: str) -> float | None:
        reading = await (await self.driver(pdu)).read_inlet(self._client(pdu))
        return reading.power_w

    async def ups_power(self, ups: str) -> float | None:
        return (await self.ups_status(ups)).output_power_w

    def bmc(self, device: str) -> BmcDriver | None:
        return self._bmcs.get(device)

    def _client(self, pdu: str) -> SnmpClient:
        client = self._pdus.get(pdu)
        if client is None:
            raise PolicyRefusal(f"power: no PDU {pdu!r} in the rack config")
        return client

    # --- sequences -----------------------------------------------------------------------

    async def power_up(self, progress: ProgressFn | None = None) -> PowerReport:
        """The whole rack up, group by group (see `agent.power.sequencer`). Raises
        PolicyRefusal on a budget refusal, or when a power-down preempts it."""
        async with self._lock:
            task = asyncio.create_task(self.sequencer.up(progress), name="power-up")
            self._up_task = task
            try:
                return await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                why = self._preempted
                if why is None or (current is not None and current.cancelling()):
                    raise
                self.bus.emit(
                    "power.sequence", SOURCE, direction="up", phase="interrupted", reason=why
                )
                raise PolicyRefusal(
                    f"power-up interrupted by a power-down ({why}); power up again once the "
                    "cause is gone"
                ) from None
            finally:
                self._up_task = None
                self._preempted = None

    async def power_down(self, reason: str, progress: ProgressFn | None = None) -> PowerReport:
        """The whole workload down, groups in reverse, graceful first, protected outlets
        (controller, switch) left on. Preempts a power-up in progress."""
        up = self._up_task
        if up is not None and not up.done():
            self._preempted = reason
            up.cancel()
        async with self._lock:
            return await self.sequencer.down(reason, progress)

    # --- PowerControl (the lifecycle's protocol) -----------------------------------------

    async def set_device_power(
        self,
        device: str,
        on: bool,
        via: str = "auto",
        *,
        remote: bool = True,
        progress: ProgressFn | None = None,
    ) -> str:
        """Switch one device; a one-line summary. ``via``: "outlet" (its PDU outlets),
        "bmc" (its BMC's power action, outlets already on) or "auto" (on: outlets then
        the BMC when it has one; off: a graceful BMC shutdown when it has a BMC, else
        its outlets). ``remote`` (the default: runbook steps and signed commands) refuses
        switching a protected outlet off. Raises DeviceError when the device did not
        reach the state, PolicyRefusal when the budget or a protection refuses."""
        if via not in VIAS:
            raise PolicyRefusal(f"power: via {via!r} is not one of {', '.join(VIAS)}")
        seq = self.sequencer
        member = self._member(device)
        group = group_of(self.config, device)
        name = group.name if group else ""
        outcome = DeviceResult(device, name)
        async with self._lock:
            if on:
                run = Run(seq, "up", f"{device} on via {via}", progress)
                await seq.snapshot(run)
                pause = Pause(float(group.inrush_delay) if group else DEFAULT_INRUSH_S, run, name)
                # A server with no outlets (controlled only by its BMC) or whose outlets
                # are all on goes through its BMC; one whose outlets all read off cannot.
                all_on = all(run.state(r) == OutletState.ON for r in member.outlets)
                if via == "outlet" and not member.outlets:
                    raise PolicyRefusal(
                        f"{device}: it has no outlets in the rack config (controlled only by "
                        "its BMC); use via 'bmc' or 'auto'"
                    )
                if via == "bmc" or (via == "auto" and member.bmc is not None and all_on):
                    self._need_bmc(member)
                    if member.outlets and all(
                        run.state(r) == OutletState.OFF for r in member.outlets
                    ):
                        raise PolicyRefusal(
                            f"{device}: every outlet of it is off, so its BMC cannot answer; "
                            "switch its outlets on first (via 'outlet' or 'auto')"
                        )
                    outcome.powered = True
                    await seq.bmc_up(run, name, member, outcome, pause)
                else:
                    await seq.outlets_on(run, name, member, outcome, pause)
                    if via == "auto" and member.bmc is not None and outcome.powered:
                        await seq.bmc_up(run, name, member, outcome, pause)
            else:
                self._refuse_protected_off(member, via, remote)
                run = Run(seq, "down", f"{device} off via {via}", progress)
                await seq.snapshot(run)
                if via == "bmc":
                    self._need_bmc(member)
                if via != "outlet" and member.bmc is not None:
                    await seq.bmc_down(run, name, member, outcome)
                if via == "outlet" and not member.outlets:
                    raise PolicyRefusal(
                        f"{device}: it has no outlets in the rack config (controlled only by "
                        "its BMC); use via 'bmc' or 'auto'"
                    )
                if via == "outlet" or (via == "auto" and member.bmc is None):
                    await seq.outlets_off(
                        run, name, member, outcome, remote=remote, keep_protected=False
                    )
        if outcome.errors:
            raise DeviceError(
                device, f"power {'on' if on else 'off'} via {via}: " + "; ".join(outcome.errors)
            )
        done = ", ".join(outcome.actions or [f"already {'on' if on else 'off'}"])
        return f"{device}: {done}" + "".join(f"; warning: {w}" for w in outcome.warnings)

    async def device_power(self, device: str) -> bool | None:
        """Whether the device runs: False when every outlet is off; for a server with a
        BMC, the host's power state; None when nothing can tell."""
        member = self._member(device)
        states: list[OutletState] = []
        for ref in member.outlets:
            try:
                driver = await self.driver(ref.pdu)
                states.append((await driver.read_outlet(self._client(ref.pdu), ref.outlet)).state)
            except (DeviceError, ConfigError):
                states.append(OutletState.UNKNOWN)
        if states and all(s == OutletState.OFF for s in states):
            return False
        bmc = self.bmc(device)
        if bmc is not None:
            try:
                state = await bmc.power_state()
            except DeviceError:
                return None
            return {"on": True, "off": False}.get(state)
        if any(s == OutletState.ON for s in states):
            return True
        return None

    async def set_outlet_power(
        self, pdu: str, outlet: int, on: bool, *, remote: bool = True
    ) -> str:
        """Switch one outlet by number (the operator's escape hatch). Switching on is
        budgeted as its device's; switching a protected outlet off is refused when
        ``remote``."""
        async with self._lock:
            owner = self._owner.get((pdu, outlet), "")
            if on and owner in self.sequencer.members:
                run = Run(self.sequencer, "up", f"{pdu}:{outlet} on", None)
                await self.sequencer.snapshot(run)
                group = group_of(self.config, owner)
                self.budget.check(owner, group=group.name if group else "")
            result = await self.switch(pdu, outlet, on, remote=remote)
        what = f" ({owner})" if owner else ""
        done = "switched" if result.sent else "already"
        return f"{pdu}:{outlet}{what}: {done} {result.after.value}"

    async def status(self) -> dict[str, Any]:
        """Everything ``cleanroom power status`` shows, as plain data: PDUs, UPSes,
        devices (outlets and host state) and the budget of every feed."""
        async with self._lock:
            run = Run(self.sequencer, "up", "status", None)
            await self.sequencer.snapshot(run)
        hosts: dict[str, str] = {}

        async def host(device: str, bmc: BmcDriver) -> None:
            try:
                async with asyncio.timeout(self._bmc_timeout_s):
                    hosts[device] = await bmc.power_state()
            except (DeviceError, TimeoutError) as exc:
                hosts[device] = f"unreachable ({exc})" if str(exc) else "unreachable"

        upses: list[dict[str, Any]] = []
        async with asyncio.TaskGroup() as tg:
            for device, bmc in self._bmcs.items():
                # "off" is inferred from outlets only when it has some and every one of
                # them read off; otherwise (none, or some unknown) its BMC says.
                outlets = self.sequencer.members[device].outlets
                if outlets and all(run.state(r) == OutletState.OFF for r in outlets):
                    hosts[device] = "off (no outlet power)"
                else:
                    tg.create_task(host(device, bmc), name=f"power-status-{device}")
        for ups in self.config.ups:
            entry: dict[str, Any] = {"id": ups.id, "budget_w": ups.budget_w}
            try:
                st = await self.ups_status(ups.id)
            except DeviceError as exc:
                entry |= {"reachable": False, "error": str(exc)}
            else:
                entry |= {
                    "reachable": True,
                    "on_battery": st.on_battery,
                    "runtime_s": st.runtime_s,
                    "charge_pct": st.charge_pct,
                    "output_w": st.output_power_w,
                }
            upses.append(entry)
        devices = []
        for member in self.sequencer.members.values():
            group = group_of(self.config, member.id)
            devices.append(
                {
                    "id": member.id,
                    "kind": member.kind,
                    "group": group.name if group else "",
                    "host": hosts.get(member.id),
                    "outlets": [
                        {
                            "pdu": r.pdu,
                            "outlet": r.outlet,
                            "state": run.state(r).value,
                            "protected": r.outlet in self._protected.get(r.pdu, ()),
                        }
                        for r in member.outlets
                    ],
                }
            )
        pdus = [self._pdu_status(run, p.id, p.outlets) for p in self.config.pdu]
        feeds = [
            {
                "feed": f.feed,
                "kind": f.kind,
                "load_w": f.load_w,
                "nominal_w": f.nominal_w,
                "unaccounted_w": f.unaccounted_w,
                "budget_w": f.budget_w,
            }
            for f in self.budget.feeds()
        ]
        return {"pdus": pdus, "upses": upses, "devices": devices, "budget": feeds}

    def _pdu_status(self, run: Run, pdu: str, expected: int) -> dict[str, Any]:
        """One PDU in ``power status``: did it answer, could its outlet table be read,
        and does the number of outlets it reports match rack.toml (three different
        things: a silent PDU, a table it refuses, and a table with fewer rows)."""
        read = sum(1 for (p, _) in run.states if p == pdu)
        error = run.dead.get(pdu)
        warning = None
        if error is None and read != expected:
            warning = (
                f"rack.toml says {expected} outlets, the PDU reports {read}"
                + (" (its outlet table is absent or empty)" if read == 0 else "")
                + "; check `outlets` and `driver` for this PDU"
            )
        return {
            "id": pdu,
            "reachable": pdu not in run.unreachable,
            "outlets_readable": error is None,
            "driver": self._drivers[pdu].family.key if pdu in self._drivers else None,
            "error": error,
            "outlets_read": read,
            "outlets_expected": expected,
            "warning": warning,
        }

    def _member(self, device: str) -> Member:
        member = self.sequencer.members.get(device)
        if member is None:
            known = ", ".join(sorted(self.sequencer.members))
            raise PolicyRefusal(
                f"power: no powered device {device!r} in the rack config (known: {known})"
            )
        return member

    def _need_bmc(self, member: Member) -> None:
        if member.bmc is None:
            raise PolicyRefusal(f"{member.id}: has no BMC in the rack config; use via 'outlet'")
        if member.id in self._bmc_errors:
            raise DeviceError(member.id, f"BMC not available: {self._bmc_errors[member.id]}")

    def _refuse_protected_off(self, member: Member, via: str, remote: bool) -> None:
        guarded = [r for r in member.outlets if r.outlet in self._protected.get(r.pdu, ())]
        cuts_outlets = via == "outlet" or (via == "auto" and member.bmc is None)
        if remote and guarded and cuts_outlets:
            where = ", ".join(f"{r.pdu}:{r.outlet}" for r in guarded)
            raise PolicyRefusal(
                f"{member.id}: outlet(s) {where} are protected (they feed the rack's control "
                "plane) and are never switched off by a remote command; act from the rack's "
                "local console"
            )

    # --- the UPS policy ------------------------------------------------------------------

    async def ups_status(self, ups: str) -> UpsStatus:
        client = self._upses.get(ups)
        if client is None:
            raise PolicyRefusal(f"power: no UPS {ups!r} in the rack config")
        return await self._ups_driver.read_status(client)

    def _ups_reader(self, ups: str) -> Callable[[], Any]:
        async def read() -> UpsStatus:
            return await self.ups_status(ups)

        return read

    def decisions(self) -> DecisionStream:
        """A stream of every UPS policy decision from now on (``async for``; close it)."""
        return DecisionStream(self)

    def add_decision_listener(self, listener: Callable[[UpsDecision], None]) -> None:
        """Call ``listener`` synchronously with every decision (it must not block)."""
        self._listeners.append(listener)

    def _decide(self, decision: UpsDecision) -> None:
        self.bus.publish(
            Event(kind=EVENT_KINDS[decision.kind], source=SOURCE, data=decision.to_dict())
        )
        for stream in list(self._streams):
            stream.put(decision)
        for listener in list(self._listeners):
            listener(decision)
        if decision.kind == "critical" and self.auto_shutdown and self._tg is not None:
            self._tasks.append(
                self._tg.create_task(self._shutdown(decision), name="power-ups-shutdown")
            )

    async def _shutdown(self, decision: UpsDecision) -> None:
        try:
            self.last_shutdown = await self.power_down(f"UPS critical: {decision.reason}")
        except AgentError as exc:
            # Reported, not raised: the policy tasks must keep watching the UPS.
            log.error("power: staged shutdown after %s failed: %s", decision.reason, exc)  # noqa: TRY400
