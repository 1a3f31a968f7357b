"""Benchmark: `isolate` to verified quarantine on a 48-port simulated switch.

Prints, per run and as a median, the time from the emergency button to a verified
quarantine (read, write, read back), as a ratio to net-snmp's `snmpbulkwalk` reading the
same Q-BRIDGE and IF-MIB columns once in the same run (the reference); and the SNMP
requests used against the minimum that diff needs (SET PDUs and varbinds against
`qbridge_stages.lower_bound`, reads against one walk per column).

The agent measured is a running one: its network manager has prepared its SET path
(`NetworkManager.ready`), as the daemon's has long before anyone presses the button.

Run: .venv/bin/python tests/bench/bench_isolate.py [runs]
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from agent.bus import Bus
from agent.conf import RackConfig, parse_config
from agent.devices.switch.driver import make_diff
from agent.devices.switch.qbridge import QBridgeDriver
from agent.devices.switch.qbridge_stages import lower_bound
from agent.network.manager import NetworkManager
from agent.network.plan import Layout, plan
from agent.sim.snmp import SimulatedRack, SwitchSpec

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-rack.toml"
PORTS = 48
COLUMNS = (
    "1.3.6.1.2.1.17.7.1.4.3.1.5",
    "1.3.6.1.2.1.17.7.1.4.3.1.2",
    "1.3.6.1.2.1.17.7.1.4.3.1.4",
    "1.3.6.1.2.1.17.7.1.4.5.1.1",
    "1.3.6.1.2.1.2.2.1.7",
    "1.3.6.1.2.1.2.2.1.8",
)


def config_for(port: int) -> RackConfig:
    doc: dict[str, Any] = tomllib.loads(DEMO.read_text())
    switch = doc["switch"][0]
    switch["snmp_port"] = port
    switch["port_count"] = PORTS
    for entry in switch["ports"]:
        entry["number"] = {21: 45, 22: 46, 23: 47, 24: 48}.get(entry["number"], entry["number"])
    doc["credentials"]["net-v2c"].update(community="public", write_community="public")
    return parse_config(tomli_w.dumps(doc), path=DEMO)


async def reference(port: int) -> float:
    """net-snmp reading the same columns once: the yardstick of this machine's SNMP."""
    start = time.perf_counter()
    for column in COLUMNS:
        proc = await asyncio.create_subprocess_exec(
            "snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr25", f"127.0.0.1:{port}", column,
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        if await proc.wait() != 0:
            raise SystemExit(f"snmpbulkwalk of {column} failed")
    return time.perf_counter() - start


async def one_run() -> dict[str, float]:
    spec = SwitchSpec("tor-1", ports=PORTS, connected=set(range(1, PORTS + 1)))
    async with SimulatedRack([spec]) as rack:
        port = rack.endpoint("tor-1")[1]
        config = config_for(port)
        ref = await reference(port)
        driver = QBridgeDriver(config.switch[0], _target(config))
        async with NetworkManager(config, Bus(), drivers={"tor-1": driver}, reconcile=False) as net:
            # The agent's manager runs from the daemon's start, long before any button is
            # pressed: its write path is prepared then (pysnmp loaded, one GET through it).
            # Wait for that here, as it would have been long done; it is not an isolation cost.
            await net.ready()
            # What the diff needs, from a separate read of the dirty switch.
            before = await driver.read()
            want = plan(config, Layout("quarantine"))["tor-1"]
            min_pdus, min_varbinds = lower_bound(make_diff(want, before))
            reads0, sets0 = driver.requests, driver.set_pdus
            start = time.perf_counter()
            report = await net.isolate_now("benchmark")
            elapsed = time.perf_counter() - start
            if not report.verified:
                raise SystemExit(f"quarantine not verified: {report.problems()}")
            pdus = driver.set_pdus - sets0
            reads = driver.requests - reads0 - pdus
    return {
        "isolate_s": elapsed,
        "reference_s": ref,
        "set_pdus": pdus,
        "min_pdus": min_pdus,
        "varbinds": driver.set_varbinds,
        "min_varbinds": min_varbinds,
        "read_requests": reads,
    }


def _target(config: RackConfig) -> Any:
    from agent.targets import switch_target  # noqa: PLC0415

    return switch_target(config, config.switch[0])


def main() -> None:
    if shutil.which("snmpbulkwalk") is None:
        raise SystemExit("snmpbulkwalk missing: apt-get install snmp")
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results = [asyncio.run(one_run()) for _ in range(runs)]
    for i, r in enumerate(results, 1):
        print(
            f"run {i}: isolate->verified {r['isolate_s'] * 1000:.1f} ms = "
            f"{r['isolate_s'] / r['reference_s']:.2f}x one snmpbulkwalk read "
            f"({r['reference_s'] * 1000:.1f} ms); SET PDUs {r['set_pdus']:.0f} "
            f"(minimum {r['min_pdus']:.0f}), varbinds {r['varbinds']:.0f} "
            f"(minimum {r['min_varbinds']:.0f}), read operations (walks) {r['read_requests']:.0f}"
        )
    ratio = statistics.median(r["isolate_s"] / r["reference_s"] for r in results)
    first = results[0]
    print(
        f"median: isolate to verified quarantine on {PORTS} ports = {ratio:.2f}x net-snmp "
        f"reading the same tables once; SNMP SETs {first['set_pdus']:.0f} PDUs / "
        f"{first['varbinds']:.0f} varbinds for a diff whose minimum is "
        f"{first['min_pdus']:.0f} PDUs / {first['min_varbinds']:.0f} varbinds "
        f"(ratio {first['set_pdus'] / first['min_pdus']:.2f} and "
        f"{first['varbinds'] / first['min_varbinds']:.2f})"
    )


if __name__ == "__main__":
    main()
