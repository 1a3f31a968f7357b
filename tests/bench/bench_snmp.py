"""SNMP read cost: our adapter against net-snmp's own snmpbulkwalk, in the same run.

Starts one net-snmp ``snmpd`` on loopback, polls it as 40 devices (40 SnmpClients, one
per device id, all walking the same subtree concurrently) and prints:

- our client's process CPU per 1000 OIDs decoded into our own types (gufo-snmp reads
  plus our retry/pool/decode layer, event loop included);
- ``snmpbulkwalk``'s CPU per 1000 OIDs for the same walks (children rusage: MIB loading
  disabled, numeric output, the same max-repetitions);
- the ratio ours / net-snmp (target: at most 0.5), per round and the median: rounds
  alternate between the two clients, so a load change on the host hits both.

snmpd's own CPU is in neither figure: it is not reaped until the end.

Usage: python tests/bench/bench_snmp.py [--short]   (about 45 s; --short about 10 s)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent.adapters.snmp import SnmpClient, SnmpTarget
from tests.integration.power.snmpd_fixture import RO_COMMUNITY, Snmpd, snmpd_path

DEVICES = 40
REPETITIONS = 25


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def open_clients(server: Snmpd) -> list[SnmpClient]:
    """40 clients, one per device id, each allowed one request in flight (a poller)."""
    clients = [
        SnmpClient(
            SnmpTarget(
                f"bench-{n:02d}",
                server.host,
                server.port,
                community=RO_COMMUNITY,
                timeout=5.0,
                retries=1,
                max_in_flight=1,
                max_repetitions=REPETITIONS,
            )
        )
        for n in range(DEVICES)
    ]
    for client in clients:
        await client.__aenter__()
    return clients


async def ours(clients: list[SnmpClient], subtree: str) -> tuple[float, int]:
    """CPU seconds (the whole process: event loop and worker threads) and OIDs decoded
    for one walk by each client, all at once."""
    start = time.process_time()
    results = await asyncio.gather(*(c.walk(subtree) for c in clients))
    return time.process_time() - start, sum(len(rows) for rows in results)


def netsnmp(server: Snmpd, subtree: str) -> tuple[float, int]:
    """CPU seconds (reaped children) and OIDs printed by snmpbulkwalk for the same walks,
    two at a time."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MIBS": ""}
    command = [
        "snmpbulkwalk",
        *("-v2c", "-c", RO_COMMUNITY, "-m", "", "-On", "-Oq", f"-Cr{REPETITIONS}"),
        *("-t", "5", "-r", "1", f"{server.host}:{server.port}", subtree),
    ]

    def one(_: int) -> int:
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        return len(done.stdout.splitlines())

    before = children_cpu()
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(one, range(DEVICES)))
    return children_cpu() - before, sum(counts)


async def compare(server: Snmpd, subtree: str, rounds: int) -> list[float]:
    """Alternate our walks and net-snmp's, so both see the same machine load (other work
    on a shared host moves either figure by 20-30 % from one second to the next), and
    return the ratio of each round."""
    clients = await open_clients(server)
    try:
        await ours(clients, subtree)  # warm-up (sessions, worker threads): not counted
        ratios = []
        for n in range(rounds):
            our_cpu, our_oids = await ours(clients, subtree)
            ref_cpu, ref_oids = await asyncio.to_thread(netsnmp, server, subtree)
            ours_per_k = our_cpu / our_oids * 1e6
            ref_per_k = ref_cpu / ref_oids * 1e6
            ratios.append(ours_per_k / ref_per_k)
            print(
                f"round {n + 1}: ours {our_oids:>7} OIDs {ours_per_k:6.2f} ms CPU / 1000 OIDs, "
                f"net-snmp {ref_oids:>7} OIDs {ref_per_k:6.2f} ms / 1000: {ratios[-1]:.2f}x",
                flush=True,
            )
        return ratios
    finally:
        for client in clients:
            await client.__aexit__(None, None, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="about 10 s instead of about 45 s")
    args = parser.parse_args()
    if snmpd_path() is None:
        print("snmpd is not installed: apt-get install snmpd", file=sys.stderr)
        return 2
    # host-resources (installed software, processes, storage): thousands of rows of
    # mixed types; the whole of mib-2 for the long run.
    subtree, rounds = ("1.3.6.1.2.1.25", 5) if args.short else ("1.3.6.1.2.1", 21)
    print(
        f"subtree {subtree}, {DEVICES} devices, {rounds} rounds, max-repetitions {REPETITIONS}"
        " (both clients)"
    )
    with Snmpd() as server:
        ratios = asyncio.run(compare(server, subtree, rounds))
    ratio = statistics.median(ratios)
    verdict = "OK" if ratio <= 0.5 else "ABOVE TARGET"
    print(f"ratio ours / net-snmp, median of {rounds}: {ratio:.2f}x (target <= 0.5x): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
