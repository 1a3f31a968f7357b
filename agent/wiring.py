"""Which parts the daemon runs and how they are connected.

Each part is an async context manager built from the shared `Context`; the daemon enters
them in the order of `default_parts()` and leaves them in reverse. Parts find the ones
they depend on in the context (the lifecycle needs network, power and health), so this
file is the only place that knows the whole graph.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from agent.errors import AgentError

if TYPE_CHECKING:
    from agent.daemon import Context, PartFactory
    from agent.lifecycle.runbook import RunResult

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def network_part(ctx: Context) -> AsyncIterator[None]:
    from agent.network.manager import NetworkManager  # noqa: PLC0415 - start-up cost

    async with NetworkManager(ctx.config, ctx.bus) as manager:
        ctx.parts["network"] = manager
        yield


@contextlib.asynccontextmanager
async def power_part(ctx: Context) -> AsyncIterator[None]:
    from agent.power.manager import PowerManager  # noqa: PLC0415

    # The lifecycle reacts to UPS decisions (staged shutdown is one of its states), so
    # the power part does not shut down on its own here.
    async with PowerManager(ctx.config, ctx.bus, auto_shutdown=False) as manager:
        ctx.parts["power"] = manager
        yield


@contextlib.asynccontextmanager
async def health_part(ctx: Context) -> AsyncIterator[None]:
    from agent.health.watch import HealthWatch  # noqa: PLC0415

    async with HealthWatch(ctx.config, ctx.bus) as watch:
        ctx.parts["health"] = watch
        yield


@contextlib.asynccontextmanager
async def lifecycle_part(ctx: Context) -> AsyncIterator[None]:
    from agent.health import selftest  # noqa: PLC0415
    from agent.health.watch import HealthWatch  # noqa: PLC0415
    from agent.lifecycle import drill  # noqa: PLC0415
    from agent.lifecycle.bridges import NetworkBridge, PowerBridge  # noqa: PLC0415
    from agent.lifecycle.journal import Journal  # noqa: PLC0415
    from agent.lifecycle.machine import Lifecycle  # noqa: PLC0415
    from agent.lifecycle.states import Event  # noqa: PLC0415
    from agent.lifecycle.steps.context import StepContext  # noqa: PLC0415
    from agent.network.manager import NetworkManager  # noqa: PLC0415
    from agent.power.manager import PowerManager  # noqa: PLC0415
    from agent.sim.compose import state_dir  # noqa: PLC0415

    config = ctx.config
    network = ctx.parts.get("network")
    power = ctx.parts.get("power")
    health = ctx.parts.get("health")
    if not isinstance(network, NetworkManager) or not isinstance(power, PowerManager):
        raise AgentError("lifecycle: needs the network and power parts started before it")
    journal = Journal(ctx.store, ctx.boot_id)
    net_bridge = NetworkBridge(network, journal)
    power_bridge = PowerBridge(power)

    async def run_selftest() -> tuple[bool, str]:
        report = await selftest.run(config)
        blocking = ", ".join(c.device for c in report.blocking())
        summary = f"{len(report.devices)} devices checked"
        return report.ok, summary + (f"; blocking: {blocking}" if blocking else "")

    async def write_report(result: RunResult) -> None:
        report = drill.build(config, result.run_id, result.records, result.ok)
        folder = config.resolve(config.drill.report_dir) / result.run_id
        path = await asyncio.to_thread(drill.write, report, folder)
        ctx.bus.emit("runbook.report", "lifecycle", run=result.run_id, path=str(path), ok=result.ok)
        log.info("recovery report written: %s", path)

    steps = StepContext(config=config, state_dir=state_dir(config), power=power, network=net_bridge)
    machine = Lifecycle(
        config,
        ctx.bus,
        journal,
        selftest=run_selftest,
        network=net_bridge,
        power=power_bridge,
        steps=steps,
        on_run=write_report,
    )
    ctx.parts["lifecycle"] = machine

    async def follow_health() -> None:
        if not isinstance(health, HealthWatch):
            return
        async for action in health.actions():
            event = {
                "degraded": Event.DEGRADE,
                "recovered": Event.RECOVERED,
                "shutdown": Event.UPS_CRITICAL,
            }.get(action.verb)
            if event is not None:
                machine.post(event, actor="health", reason=f"alarms {action.alarms}")

    async def follow_ups() -> None:
        async for decision in power.decisions():
            if decision.kind == "critical":
                machine.post(Event.UPS_CRITICAL, actor="ups-policy", reason=decision.reason)

    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(machine.run(), name="lifecycle"),
            tg.create_task(follow_health(), name="lifecycle-health"),
            tg.create_task(follow_ups(), name="lifecycle-ups"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()


def default_parts() -> list[PartFactory]:
    """The parts a production daemon runs, in start order."""
    return [network_part, power_part, health_part, lifecycle_part]
