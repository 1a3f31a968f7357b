"""Synthetic fleet traffic for the board's benchmark: N racks, each publishing what a
real rack publishes (agent/report/payloads.py): a retained birth status, one telemetry
batch per device every period (a 24-outlet PDU's batch is about 2.5 kB), and events,
each with the rack's boot id and a per-boot sequence per stream (the events topic, each
telemetry topic), as real racks number them (docs/protocol.md).

Bounded in count and time; loopback brokers only by default. Publishing goes through
the MQTT adapter (one connection, QoS 0, as the racks' telemetry may be).

    python -m agent.board.loadgen --broker mqtt://127.0.0.1:1883 --racks 200 --for 60
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msgspec

from agent.adapters.mqtt import BrokerSettings, Link, connect
from agent.errors import ConfigError
from agent.report.payloads import OutboxStats, Status, StreamEvent, TelemetryBatch

PREFIX = "cleanroom/v1"
DEVICES = (
    "pdu-a",
    "pdu-b",
    "ups-1",
    "tor-1",
    "stor-1",
    "hv-1",
    "hv-2",
    "hv-3",
    "bkp-1",
    "controller",
)
MAX_RACKS = 5000


def _readings(device: str, rng: random.Random) -> list[dict[str, object]]:
    if device.startswith("pdu"):
        out: list[dict[str, object]] = [
            {
                "sensor": "inlet/current",
                "kind": "pdu_load_a",
                "unit": "A",
                "value": round(rng.uniform(3, 7), 2),
                "status": "ok",
            },
            {
                "sensor": "temperature",
                "kind": "temperature",
                "unit": "Cel",
                "value": round(rng.uniform(22, 28), 1),
                "status": "ok",
            },
        ]
        out += [
            {
                "sensor": f"outlet/{n}/state",
                "kind": "outlet_state",
                "unit": "1",
                "value": 1.0,
                "status": "ok",
            }
            for n in range(1, 25)
        ]
        return out
    if device.startswith("ups"):
        return [
            {
                "sensor": "source/on_battery",
                "kind": "ups_on_battery",
                "unit": "1",
                "value": 0.0,
                "status": "ok",
            },
            {
                "sensor": "battery/runtime",
                "kind": "ups_runtime",
                "unit": "s",
                "value": float(rng.randint(3000, 4000)),
                "status": "ok",
            },
            {
                "sensor": "battery/charge",
                "kind": "ups_charge",
                "unit": "%",
                "value": 100.0,
                "status": "ok",
            },
        ]
    if device.startswith("tor"):
        return [
            {
                "sensor": f"port/{n}/{what}",
                "kind": f"port_{what}",
                "unit": "1",
                "value": 1.0,
                "status": "ok",
            }
            for n in range(1, 25)
            for what in ("admin", "oper")
        ]
    return [
        {
            "sensor": "temperature/Inlet Temp",
            "kind": "temperature",
            "unit": "Cel",
            "value": round(rng.uniform(20, 25), 1),
            "status": "ok",
        },
        {
            "sensor": "fan/Fan1",
            "kind": "fan",
            "unit": "RPM",
            "value": float(rng.randint(5000, 6000)),
            "status": "ok",
        },
        {
            "sensor": "power/System Power Control",
            "kind": "power_w",
            "unit": "W",
            "value": float(rng.randint(300, 500)),
            "status": "ok",
        },
    ]


@dataclass
class SimulatedRack:
    site: str
    rack: str
    boot_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = 0  # the events stream
    telemetry_seq: dict[str, int] = field(default_factory=dict)  # per telemetry topic

    @property
    def base(self) -> str:
        return f"{PREFIX}/{self.site}/{self.rack}"

    def status(self) -> bytes:
        return msgspec.json.encode(
            Status(
                rack=self.rack,
                site=self.site,
                online=True,
                boot_id=self.boot_id,
                as_of_seq=self.seq,
                ts=time.time(),
                version="loadgen",
                state="operational",
                outbox=OutboxStats(backlog=0, max_messages=200000),
            )
        )

    def telemetry(self, device: str, rng: random.Random) -> bytes:
        seq = self.telemetry_seq[device] = self.telemetry_seq.get(device, 0) + 1
        now = time.time()
        data = {"device": device, "ts": now, "state": "ok", "readings": _readings(device, rng)}
        return msgspec.json.encode(
            TelemetryBatch(
                boot_id=self.boot_id,
                seq=seq,
                ts=now,
                device=device,
                kind="telemetry.batch",
                data=data,
            )
        )

    def event(self, rng: random.Random) -> bytes:
        self.seq += 1
        device = rng.choice(DEVICES)
        return msgspec.json.encode(
            StreamEvent(
                boot_id=self.boot_id,
                seq=self.seq,
                ts=time.time(),
                kind="device.state",
                source="health",
                category="event",
                data={"device": device, "old": "ok", "new": "ok", "error": None},
            )
        )


@dataclass
class LoadReport:
    racks: int
    messages: int
    seconds: float


def check_target(url: str, *, allow_remote: bool = False) -> None:
    host = urlsplit(url).hostname or ""
    if not allow_remote and host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(
            [
                f"--broker {url}: the load generator targets a loopback broker only; "
                "pass --allow-remote to load a broker you own"
            ]
        )


async def _publish_period(
    link: Link, racks: list[SimulatedRack], period: float, rng: random.Random, deadline: float
) -> int:
    """One period: every rack's device batches and one event, spread evenly."""
    plan = [(rack, device) for rack in racks for device in (*DEVICES, "")]
    step = period / max(1, len(plan))
    start = time.monotonic()
    sent = 0
    for index, (rack, device) in enumerate(plan):
        if time.monotonic() >= deadline:
            break
        due = start + index * step
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if device:
            await link.publish(
                f"{rack.base}/telemetry/{device}", rack.telemetry(device, rng), qos=0
            )
        else:
            await link.publish(f"{rack.base}/events", rack.event(rng), qos=0)
        sent += 1
    return sent


async def run(
    url: str, *, racks: int, seconds: float, period: float = 10.0, sites: int = 20, seed: int = 1
) -> LoadReport:
    if not 1 <= racks <= MAX_RACKS:
        raise ConfigError([f"--racks {racks}: give 1 to {MAX_RACKS}"])
    rng = random.Random(seed)  # noqa: S311 - synthetic readings
    fleet = [SimulatedRack(f"site-{i % sites:02d}", f"rack-{i:04d}") for i in range(racks)]
    settings = BrokerSettings(urls=(url,), client_id=f"cleanroom-loadgen-{uuid.uuid4().hex[:8]}")
    sent = 0
    started = time.monotonic()
    deadline = started + seconds
    async with connect(settings) as link:
        for rack in fleet:
            await link.publish(f"{rack.base}/status", rack.status(), qos=1, retain=True)
            sent += 1
        while time.monotonic() < deadline:
            sent += await _publish_period(link, fleet, period, rng, deadline)
    return LoadReport(racks, sent, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.board.loadgen")
    parser.add_argument("--broker", required=True)
    parser.add_argument("--racks", type=int, default=200)
    parser.add_argument("--for", dest="seconds", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=10.0)
    parser.add_argument("--allow-remote", action="store_true")
    args = parser.parse_args(argv)
    check_target(args.broker, allow_remote=args.allow_remote)
    report = asyncio.run(
        run(args.broker, racks=args.racks, seconds=args.seconds, period=args.period)
    )
    print(
        f"loadgen: {report.messages} messages from {report.racks} racks in {report.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
