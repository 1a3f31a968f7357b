"""Which parts the daemon runs and how they are connected.

Each part is an async context manager built from the shared `Context`; the daemon enters
them in the order of `default_parts()` and leaves them in reverse. Parts find the ones
they depend on in ``ctx.parts`` (the lifecycle needs network, power and health), so this
file is the only place that knows the whole graph.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from agent.console import Console
from agent.errors import AgentError, PolicyRefusal
from agent.health import overrides, selftest
from agent.health.watch import HealthWatch
from agent.lifecycle import drill, verbs
from agent.lifecycle.bridges import NetworkBridge, PowerBridge
from agent.lifecycle.journal import Journal
from agent.lifecycle.machine import Lifecycle, Selftest
from agent.lifecycle.runbook import RunResult
from agent.lifecycle.states import Event
from agent.lifecycle.steps.context import StepContext
from agent.network.manager import NetworkManager
from agent.power.manager import PowerManager
from agent.report import wiring as report_wiring
from agent.report.intake import Command
from agent.report.payloads import Alarm, Snapshot
from agent.report.reporter import Reporter
from agent.verbs import REGISTRY

if TYPE_CHECKING:
    from agent.conf.schema import RackConfig
    from agent.daemon import Context, PartFactory
    from agent.store import Store

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def network_part(ctx: Context) -> AsyncIterator[None]:
    async with NetworkManager(ctx.config, ctx.bus) as manager:
        ctx.parts["network"] = manager
        yield


@contextlib.asynccontextmanager
async def power_part(ctx: Context) -> AsyncIterator[None]:
    # The lifecycle reacts to UPS decisions (staged shutdown is one of its states), so
    # the power part does not shut down on its own here.
    async with PowerManager(ctx.config, ctx.bus, auto_shutdown=False) as manager:
        ctx.parts["power"] = manager
        yield


@contextlib.asynccontextmanager
async def health_part(ctx: Context) -> AsyncIterator[None]:
    async with HealthWatch(ctx.config, ctx.bus) as watch:
        ctx.parts["health"] = watch
        yield


def _selftest(config: RackConfig, store: Store) -> Selftest:
    async def run() -> tuple[bool, str]:
        report = await selftest.run(config, overrides=await overrides.load(store))
        blocking = ", ".join(c.device for c in report.blocking())
        summary = f"{len(report.devices)} devices checked"
        return report.ok, summary + (f"; blocking: {blocking}" if blocking else "")

    return run


def _report_writer(ctx: Context) -> Callable[[RunResult], Awaitable[None]]:
    config = ctx.config

    async def write(result: RunResult) -> None:
        report = drill.build(config, result.run_id, result.records, result.ok)
        folder = config.resolve(config.drill.report_dir) / result.run_id
        path = await asyncio.to_thread(drill.write, report, folder)
        ctx.bus.emit("runbook.report", "lifecycle", run=result.run_id, path=str(path), ok=result.ok)
        log.info("recovery report written: %s", path)

    return write


async def _follow_health(machine: Lifecycle, health: HealthWatch) -> None:
    async for action in health.actions():
        reason = f"health policy {action.verb}: alarms {', '.join(action.alarms) or 'none'}"
        if action.verb == "shutdown":
            machine.post(Event.UPS_CRITICAL, actor="health", reason=reason)
        elif action.verb == "isolate":
            # The critical action: the same held isolation as the emergency button.
            await machine.isolate(actor="health", reason=reason)
        else:
            machine.set_health(action.verb == "degraded", reason)


async def _follow_ups(machine: Lifecycle, power: PowerManager) -> None:
    async for decision in power.decisions():
        if decision.kind == "critical":
            machine.post(Event.UPS_CRITICAL, actor="ups-policy", reason=decision.reason)
        elif decision.kind == "return_allowed":
            machine.post(Event.MAINS_BACK, actor="ups-policy", reason=decision.reason)


@contextlib.asynccontextmanager
async def lifecycle_part(ctx: Context) -> AsyncIterator[None]:
    config = ctx.config
    network, power = ctx.parts.get("network"), ctx.parts.get("power")
    health = ctx.parts.get("health")
    if not isinstance(network, NetworkManager) or not isinstance(power, PowerManager):
        raise AgentError("lifecycle: needs the network and power parts started before it")
    # With the record: each journal entry commits with the event that announces it.
    journal = Journal(ctx.store, ctx.boot_id, record=ctx.record)
    net_bridge = NetworkBridge(network, journal)
    steps = StepContext(
        config=config, state_dir=config.state_dir(), power=power, network=net_bridge
    )
    machine = Lifecycle(
        config,
        ctx.bus,
        journal,
        selftest=_selftest(config, ctx.store),
        network=net_bridge,
        power=PowerBridge(power),
        steps=steps,
        on_run=_report_writer(ctx),
        unpowered=(lambda: set(health.unpowered)) if isinstance(health, HealthWatch) else None,
    )
    handlers = verbs.build(
        machine,
        power,
        network,
        config=config,
        store=ctx.store,
        health=health if isinstance(health, HealthWatch) else None,
    )
    ctx.parts["lifecycle"] = machine
    ctx.parts["verbs"] = handlers  # the report part serves the same verbs over MQTT
    local = {verb: h for verb, h in handlers.items() if REGISTRY[verb].console}
    console = Console(config.state_dir() / "console.sock", local, ctx.bus)
    async with console, asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(machine.run(), name="lifecycle"),
            tg.create_task(_follow_ups(machine, power), name="lifecycle-ups"),
        ]
        if isinstance(health, HealthWatch):
            tasks.append(tg.create_task(_follow_health(machine, health), name="lifecycle-health"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()


def _snapshot(ctx: Context) -> Callable[[], Snapshot]:
    """The birth message's content: lifecycle state, devices and alarms, as now."""

    def build() -> Snapshot:
        machine, health = ctx.parts.get("lifecycle"), ctx.parts.get("health")
        state = str(machine.state) if isinstance(machine, Lifecycle) else "starting"
        if not isinstance(health, HealthWatch):
            return Snapshot(state=state)
        snap = health.snapshot()
        devices = {
            d["device"]: {
                "state": d["state"],
                "unpowered": d["unpowered"],
                "silent_s": d["silent_s"],
                "last_error": d["last_error"],
            }
            for d in snap["devices"]
        }
        alarms = [
            Alarm(
                device=a["device"],
                name=f"{a['kind']}/{a['sensor']}",
                severity=a["severity"],
                since=a["raised_at"] or 0.0,
                message=a["message"],
            )
            for a in snap["alarms"]
        ]
        return Snapshot(state=state, devices=devices, alarms=alarms)

    return build


@contextlib.asynccontextmanager
async def report_part(ctx: Context) -> AsyncIterator[None]:
    """Remote supervision: sends what the record (always on, see agent/record.py)
    commits; the command verbs it serves are looked up when a command arrives, once
    the lifecycle has filled them in."""
    config = ctx.config
    if not config.mqtt.urls:
        log.warning(
            "no [mqtt] urls: remote supervision is off; events and audit entries are "
            "recorded in the store's outbox and sent once a broker is configured"
        )
        yield
        return

    async def dispatch(command: Command) -> object:
        handlers = ctx.parts.get("verbs")
        handler = handlers.get(command.verb) if isinstance(handlers, dict) else None
        if handler is None:
            raise PolicyRefusal(f"{command.verb}: not available while the agent is starting")
        return await handler(command)

    # Every registry verb the reporter does not answer itself is the lifecycle's.
    domain_verbs = set(REGISTRY) - set(Reporter.BUILTIN)
    reporter = Reporter(
        ctx.store,
        ctx.bus,
        report_wiring.broker_settings(config),
        rack_id=config.rack.id,
        site=config.rack.site,
        boot_id=ctx.boot_id,
        version=ctx.version,
        config_digest=config.digest,
        keyring=report_wiring.keyring(config),
        handlers=dict.fromkeys(domain_verbs, dispatch),
        status_provider=_snapshot(ctx),
        settings=report_wiring.report_settings(config),
        record=ctx.record,
    )
    async with reporter:
        ctx.parts["report"] = reporter
        yield


def default_parts() -> list[PartFactory]:
    """The parts a production daemon runs, in start order."""
    return [report_part, network_part, power_part, health_part, lifecycle_part]
