"""Benchmark: one full health cycle of a 40-device simulated rack.

The simulated rack (24 PDUs of three vendors with 24 outlets, 8 switches of 24 ports,
8 UPSes) runs in a child process, so its pysnmp responders do not count against the
agent. In this process the HealthWatch polls every device once per cycle: SNMP reads,
decoding, normalisation, thresholds and one telemetry batch per device on the bus,
drained by a subscriber as the report would. We print its CPU seconds and wall time per
cycle, the share of one core that costs at a 10 s interval (the target is 2 %), and next
to it the CPU that net-snmp's own tools (snmpget, snmpbulkwalk) spend fetching the very
same OIDs in the same run: a ratio, never a bare time.

Run: ``python tests/bench/bench_health.py`` (``make bench``); ``--short`` runs 3 cycles
(``make test`` does, through tests/bench/test_bench_short.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from agent.adapters.snmp import SnmpClient, SnmpTarget, Value
from agent.bus import Bus
from agent.conf import load_config
from agent.health.poller import PollSettings
from agent.health.readers.base import Reader
from agent.health.readers.pdu import PduReader
from agent.health.readers.switch import SwitchReader
from agent.health.readers.ups import UpsReader
from agent.health.watch import HealthWatch

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("apc_rpdu2", "raritan_pdu2", "eaton_epdu")
CYCLES = 20
INTERVAL_S = 10.0

SIM = """
import asyncio, json, sys
from agent.sim.snmp import PduSpec, SimulatedRack, SwitchSpec, UpsSpec
plan = json.loads(sys.argv[1])
specs = []
for device, kind, family, port in plan:
    if kind == "pdu":
        specs.append(PduSpec(device, family, outlets=24, port=port, ramp_s=0.0,
                             loads_w={n: 100.0 + n for n in range(1, 25)},
                             initial={n: n % 3 != 0 for n in range(1, 25)}))
    elif kind == "switch":
        specs.append(SwitchSpec(device, ports=24, connected=set(range(1, 20)), port=port))
    else:
        specs.append(UpsSpec(device, port=port))

async def main():
    async with SimulatedRack(specs, settle_interval=5.0):
        print("ready", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


class CountingClient(SnmpClient):
    """An SnmpClient that remembers which OIDs a cycle asked for (for net-snmp's turn)."""

    def __init__(self, target: SnmpTarget) -> None:
        super().__init__(target)
        self.gets: list[tuple[str, ...]] = []
        self.walks: list[str] = []
        self.recording = True

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        if self.recording:
            self.gets.append(tuple(oids))
        return await super().get(oids)

    async def walk(self, subtree: str) -> list[tuple[str, Value]]:
        if self.recording:
            self.walks.append(subtree)
        return await super().walk(subtree)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def plan_rack() -> list[tuple[str, str, str, int]]:
    ports = iter(free_ports(40))
    plan = [(f"pdu-{i:02d}", "pdu", FAMILIES[i % 3], next(ports)) for i in range(24)]
    plan += [(f"sw-{i}", "switch", "", next(ports)) for i in range(8)]
    plan += [(f"ups-{i}", "ups", "", next(ports)) for i in range(8)]
    return plan


def net_snmp_cpu(clients: dict[str, CountingClient]) -> float:
    """CPU seconds (user + system) net-snmp's tools spend on one cycle's OIDs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for client in clients.values():
        where = f"{client.target.host}:{client.target.port}"
        base = ["-v2c", "-c", "public", "-t", "2", "-r", "1", "-On", "-Oq", where]
        for oids in client.gets:
            subprocess.run(["snmpget", *base, *oids], check=True, capture_output=True)
        for subtree in client.walks:
            subprocess.run(
                ["snmpbulkwalk", "-Cr25", *base, subtree], check=True, capture_output=True
            )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


async def run_bench(cycles: int = CYCLES) -> dict[str, float]:
    plan = plan_rack()
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SIM, json.dumps(plan), stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    try:
        assert sim.stdout is not None
        line = await asyncio.wait_for(sim.stdout.readline(), 120)
        assert line.strip() == b"ready", line
        config = load_config(ROOT / "config" / "demo-rack.toml")  # for its thresholds
        bus = Bus()
        sub = bus.subscribe()
        async with AsyncExitStack() as stack:
            clients: dict[str, CountingClient] = {}
            readers: dict[str, Reader] = {}
            for device, kind, family, port in plan:
                target = SnmpTarget(device, "127.0.0.1", port, timeout=2.0, retries=1)
                client = await stack.enter_async_context(CountingClient(target))
                clients[device] = client
                if kind == "pdu":
                    readers[device] = PduReader(device, client, family)
                elif kind == "switch":
                    readers[device] = SwitchReader(device, client)
                else:
                    readers[device] = UpsReader(device, client)
            # A one-hour schedule: only the explicit cycles below poll (after the first
            # scheduled poll of each device, which the warm-up absorbs).
            slow = PollSettings(
                interval=3600.0, timeout=10.0, stale_after=3600.0, lost_after=7200.0
            )
            watch = await stack.enter_async_context(
                HealthWatch(
                    config,
                    bus,
                    readers=readers,
                    settings=dict.fromkeys(readers, slow),
                    # Every cycle publishes its batches (the dearest case): the telemetry
                    # gate of [mqtt] telemetry_interval would let most cycles through silent.
                    telemetry_interval=1e-3,
                )
            )
            await asyncio.sleep(0.5)
            await watch.poll_all()  # warm-up: driver detection, digit caches, v2c sessions
            for client in clients.values():
                client.gets.clear()
                client.walks.clear()
            await watch.poll_all()  # the reference cycle whose OIDs net-snmp repeats
            for client in clients.values():
                client.recording = False
            while sub.get_nowait() is not None:
                pass
            cpu0, wall0 = time.process_time(), time.perf_counter()
            batches = 0
            for _ in range(cycles):
                await watch.poll_all()
                while (event := sub.get_nowait()) is not None:
                    batches += event.kind == "telemetry.batch"
            cpu = (time.process_time() - cpu0) / cycles
            wall = (time.perf_counter() - wall0) / cycles
            failed = [d for d, p in watch.pollers.items() if p.state != "ok"]
            oids = sum(len(o) for c in clients.values() for o in c.gets)
            walks = sum(len(c.walks) for c in clients.values())
        reference = net_snmp_cpu(clients) if shutil.which("snmpbulkwalk") else float("nan")
    finally:
        sim.terminate()
        await sim.wait()
    return {
        "devices": float(len(plan)),
        "batches_per_cycle": batches / cycles,
        "cycles": float(cycles),
        "agent_cpu_s_per_cycle": cpu,
        "agent_wall_s_per_cycle": wall,
        "core_share_at_10s_pct": 100.0 * cpu / INTERVAL_S,
        "net_snmp_cpu_s_per_cycle": reference,
        "agent_over_net_snmp": cpu / reference if reference else float("nan"),
        "gets_oids": float(oids),
        "walks": float(walks),
        "devices_not_ok": float(len(failed)),
    }


def report(result: dict[str, float]) -> str:
    return "\n".join(
        [
            f"health cycle, {result['devices']:.0f}-device simulated rack "
            f"({result['cycles']:.0f} cycles):",
            f"  agent CPU per cycle        {result['agent_cpu_s_per_cycle'] * 1000:8.2f} ms",
            f"  agent wall per cycle       {result['agent_wall_s_per_cycle'] * 1000:8.2f} ms",
            f"  share of one core at 10 s  {result['core_share_at_10s_pct']:8.3f} %"
            "  (target <= 2 %)",
            f"  net-snmp CPU, same OIDs    {result['net_snmp_cpu_s_per_cycle'] * 1000:8.2f} ms "
            f"({result['walks']:.0f} bulk walks + {result['gets_oids']:.0f} OIDs by GET)",
            f"  agent / net-snmp CPU       {result['agent_over_net_snmp']:8.3f}x",
            f"  telemetry batches / cycle  {result['batches_per_cycle']:8.1f}  "
            f"(one per device, never one per OID)",
            f"  devices not ok             {result['devices_not_ok']:8.0f}",
        ]
    )


def main() -> None:
    # Alarms raised on the simulated values are expected here; keep the output to the table.
    logging.basicConfig(level=logging.ERROR)
    cycles = 3 if "--short" in sys.argv[1:] else CYCLES
    result = asyncio.run(run_bench(cycles))
    print(report(result))
    if result["devices_not_ok"] or result["batches_per_cycle"] != result["devices"]:
        sys.exit("benchmark run is not valid: a device failed or batches were lost")


if __name__ == "__main__":
    main()
