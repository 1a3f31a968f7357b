"""A stand-in agent process for the tests that kill it: a real Reporter on a real store.

It runs until killed (SIGKILL in the tests) or SIGTERM (clean stop). With ``--emit N`` it
publishes N events on the bus, ``--every`` seconds apart, and prints ``emitted N`` once
all of them are committed to the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from agent.adapters.mqtt import BrokerSettings
from agent.bus import Bus
from agent.report.envelope import Keyring
from agent.report.payloads import Snapshot
from agent.report.reporter import Reporter, ReportSettings
from agent.store import Store


async def main(args: argparse.Namespace) -> None:
    bus = Bus()
    settings = BrokerSettings(
        urls=(args.url,),
        client_id=f"agent-{args.rack}",
        keepalive=5,
        backoff_min=0.05,
        backoff_max=0.5,
        connect_timeout=5,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with (
        Store(args.store) as store,
        Reporter(
            store,
            bus,
            settings,
            rack_id=args.rack,
            site=args.site,
            boot_id=args.boot,
            version="test",
            config_digest="digest",
            keyring=Keyring([]),
            handlers={},
            status_provider=lambda: Snapshot(state="operational"),
            settings=ReportSettings(window=args.window),
        ) as reporter,
    ):
        print("ready", flush=True)
        for index in range(args.emit):
            bus.emit("test.tick", "agent_proc", index=index)
            if args.every:
                await asyncio.sleep(args.every)
        if args.emit:
            while reporter.outbox.last_seq < args.emit:
                reporter.outbox.changed.clear()
                await reporter.outbox.changed.wait()
            print(f"emitted {args.emit}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--boot", required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--rack", required=True)
    parser.add_argument("--emit", type=int, default=0)
    parser.add_argument("--every", type=float, default=0.0)
    parser.add_argument("--window", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
