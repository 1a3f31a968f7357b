"""`cleanroom demo` (`make demo`): the whole arrival on the simulated rack, in one command.

Starts the simulated rack of the demo config (SNMP PDUs, switch and UPS, Redfish BMCs,
the hospital applications), a Mosquitto broker on the config's MQTT port when one is
installed, and the agent; shows the lifecycle and the restore runbook as they progress;
stops when the rack is operational (or holding safe) and prints where the recovery
report is. The demo's state lives in the store's folder (``var/demo``) and is started
afresh each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from agent.adapters import systemd
from agent.bus import Event as BusEvent
from agent.conf import RackConfig, load_config
from agent.daemon import Daemon
from agent.sim.compose import SimRack, state_dir

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def _broker(config: RackConfig, folder: Path) -> AsyncIterator[str]:
    """A throwaway Mosquitto on the config's first broker port, if mosquitto exists."""
    # Debian installs the broker in /usr/sbin, which a non-root PATH often lacks.
    binary = shutil.which("mosquitto", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    url = urlsplit(config.mqtt.urls[0]) if config.mqtt.urls else None
    if binary is None or url is None or url.port is None:
        yield "no MQTT broker (install mosquitto to see the remote supervision side)"
        return
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {url.port} 127.0.0.1\nallow_anonymous true\n"
        "persistence false\nmax_queued_messages 100000\n"
    )
    proc = await asyncio.create_subprocess_exec(
        binary,
        "-c",
        str(conf),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield f"MQTT broker on {config.mqtt.urls[0]} (watch: mosquitto_sub -v -t '#' -p {url.port})"
    finally:
        proc.terminate()
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(proc.wait(), 5)


def _describe(event: BusEvent, started: float) -> str | None:
    t = f"[{time.monotonic() - started:6.1f}s]"
    data = event.data
    if event.kind == "lifecycle.transition":
        return f"{t} == {str(data.get('state')).upper()}: {data.get('reason', '')}"
    if event.kind == "runbook.step" and data.get("phase") in ("start", "done", "failed"):
        mark = {"start": "..", "done": "ok", "failed": "!!"}[str(data["phase"])]
        detail = data.get("detail") or {}
        extra = (
            detail.get("output") or detail.get("error") or "" if isinstance(detail, dict) else ""
        )
        return f"{t}    {mark} {data.get('step')} {str(extra)[:70]}".rstrip()
    if event.kind == "alarm.raised":
        return f"{t}    alarm: {data.get('message') or data.get('device')}"
    if event.kind.startswith("power.group"):
        return f"{t}    power: {event.kind.split('.')[-1]} {data.get('group', '')}"
    if event.kind == "runbook.report":
        return f"{t}    report: {data.get('path')}"
    return None


async def _demo(config_path: Path, duration: float) -> int:
    config = load_config(config_path)
    folder = state_dir(config)
    if folder.exists():
        shutil.rmtree(folder)  # the demo always starts from a rack just off the truck
    folder.mkdir(parents=True)
    print(f"demo: rack {config.rack.id} ({config.rack.name}) from {config_path}")
    started = time.monotonic()
    async with _broker(config, folder) as broker_note, SimRack(config) as sim:
        print(f"demo: simulated rack up: {len(sim.endpoints())} endpoints; {broker_note}")
        print(
            "demo: isolation is proven by reading the switch back; the traffic proof needs "
            "the network lab (root and a kernel with bridge VLAN filtering), not used here"
        )
        daemon = Daemon(config)
        runner = asyncio.create_task(daemon.run(), name="daemon")
        await daemon.ready.wait()
        assert daemon.context is not None
        events = daemon.context.bus.subscribe()
        machine = daemon.context.parts["lifecycle"]
        from agent.lifecycle.machine import Lifecycle  # noqa: PLC0415
        from agent.lifecycle.states import State  # noqa: PLC0415

        assert isinstance(machine, Lifecycle)
        reports: list[str] = []

        async def show() -> None:
            async for event in events:
                line = _describe(event, started)
                if event.kind == "runbook.report":
                    reports.append(str(event.data.get("path")))
                if line:
                    print(line, flush=True)

        printer = asyncio.create_task(show(), name="demo-progress")
        try:
            async with asyncio.timeout(duration or None):
                final = await machine.wait_for(State.OPERATIONAL, State.SAFE_HOLD, State.SHUTDOWN)
        except TimeoutError:
            final = machine.state
            print(f"demo: stopped after {duration:g}s in state {final}")
        await asyncio.sleep(0.2)  # let the last events print
        printer.cancel()
        daemon.request_stop("demo finished")
        await runner
    print(
        f"demo: rack {config.rack.id} is {str(final).upper()} after "
        f"{time.monotonic() - started:.1f}s"
    )
    for path in reports:
        print(f"demo: recovery report: {path} (timeline: {Path(path).parent / 'timeline.svg'})")
    return 0 if final == State.OPERATIONAL else 1


def run(config_path: Path, *, duration: float) -> int:
    systemd.setup_logging(logging.WARNING)
    try:
        return asyncio.run(_demo(config_path, duration))
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        return 130
