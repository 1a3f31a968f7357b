"""Birth, will and the published contract, against a real Mosquitto with mosquitto_sub."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import jsonschema
import msgspec

from agent.bus import Bus
from agent.report.payloads import Alarm, Snapshot, json_schemas
from agent.report.reporter import ReportSettings
from agent.store import Store
from tests.integration.report.broker import Mosquitto
from tests.integration.report.report_helpers import (
    BASE,
    Subscriber,
    agent_command,
    make_reporter,
)

SCHEMAS = json_schemas()


def schema_for(topic: str) -> str:
    rest = topic[len(BASE) + 1 :]
    if rest == "status":
        return "Status"
    if rest == "events":
        return "StreamEvent"
    if rest.startswith("telemetry/"):
        return "TelemetryBatch"
    if rest.startswith("cmd/"):
        return "CommandEnvelope"
    return "Reply"


def validate(message: dict[str, Any]) -> None:
    jsonschema.validate(message["json"], SCHEMAS[schema_for(message["topic"])])


async def test_birth_late_joiner_stream_and_clean_offline(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    bus = Bus()
    snapshot = Snapshot(
        state="operational",
        devices={"pdu1": {"load_a": 3.2}},
        alarms=[Alarm(device="ups", name="on_battery", severity="critical")],
    )
    early = Subscriber(mosquitto.port, [f"{BASE}/#"])
    await early.start()
    await early.ready(f"{BASE}/probe")
    async with Store(tmp_path / "s.db") as store:
        reporter = make_reporter(
            store,
            mosquitto.url,
            bus=bus,
            boot_id="boot-a",
            version="1.2.3",
            config_digest="cafe",
            status_provider=lambda: snapshot,
            settings=ReportSettings(status_interval=3600),
        )
        async with reporter:
            await early.wait_for(
                lambda ms: any(m["topic"] == f"{BASE}/status" for m in ms), what="birth"
            )
            bus.emit("lifecycle.transition", "lifecycle", category="status", to="operational")
            bus.emit("alarm.raised", "health", device="ups", name="on_battery")
            bus.emit("telemetry.batch", "pdu1", category="telemetry", load_a=3.4)
            bus.emit(
                "outlet.switched",
                "power",
                category="audit",
                actor="local:console",
                outlet=3,
                state="on",
            )
            await early.wait_for(
                lambda ms: len([m for m in ms if m["json"] and "seq" in m["json"]]) >= 4,
                what="4 stream messages",
            )
            # A supervisor joining late sees the full state from the retained birth.
            late = Subscriber(mosquitto.port, [f"{BASE}/status"])
            await late.start()
            await late.wait_for(lambda ms: len(ms) >= 1, what="retained status")
            await late.stop()
            status = late.messages[0]
            assert status["retain"] in (1, True)
            assert status["json"]["online"] is True
            assert status["json"]["boot_id"] == "boot-a"
            assert status["json"]["state"] == "operational"
            assert status["json"]["alarms"][0]["name"] == "on_battery"
            assert status["json"]["devices"] == {"pdu1": {"load_a": 3.2}}
        # Clean stop: the agent says offline itself (a clean DISCONNECT fires no will).
        await early.wait_for(
            lambda ms: any(
                m["topic"] == f"{BASE}/status" and m["json"]["online"] is False for m in ms
            ),
            what="offline status",
        )
        chain = await store.call(lambda c: c.execute("SELECT count(*) FROM audit").fetchone()[0])
        assert chain == 1
    await early.stop()

    stream = [m["json"] for m in early.messages if m["json"] and "seq" in m["json"]]
    # Each stream numbered on its own (events 1, 2, 3; pdu1's telemetry 1).
    assert [m["seq"] for m in stream] == [1, 2, 1, 3]
    assert {m["boot_id"] for m in stream} == {"boot-a"}
    kinds = [m["kind"] for m in stream]
    assert kinds == [
        "lifecycle.transition",
        "alarm.raised",
        "telemetry.batch",
        "audit.outlet.switched",
    ]
    audit_event = stream[3]
    assert audit_event["category"] == "audit"
    assert audit_event["data"]["actor"] == "local:console"
    assert len(audit_event["data"]["hash"]) == 64
    # Every published message validates against the published JSON Schema.
    published = [m for m in early.messages if m["topic"] != f"{BASE}/probe"]
    assert len(published) >= 6
    for message in published:
        validate(message)


async def test_will_marks_a_killed_agent_offline(mosquitto: Mosquitto, tmp_path: Path) -> None:
    sub = Subscriber(mosquitto.port, [f"{BASE}/status"])
    await sub.start()
    proc = await asyncio.create_subprocess_exec(
        *agent_command(tmp_path / "s.db", mosquitto.url, "boot-will", "--emit", "3"),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await sub.wait_for(lambda ms: any(m["json"]["online"] for m in ms), what="birth")
        assert proc.stdout is not None
        async with asyncio.timeout(20):
            while b"emitted 3" not in await proc.stdout.readline():
                pass
        await asyncio.sleep(1.5)  # the session lives on after the events it committed
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await sub.wait_for(lambda ms: not ms[-1]["json"]["online"], what="will")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sub.stop()
    will = sub.messages[-1]["json"]
    assert will["boot_id"] == "boot-will"
    assert will["online"] is False
    # It claims no time, no stream position, no state: the rack cannot know when the
    # broker publishes it. What it says holds for the whole session.
    assert (will["ts"], will["as_of_seq"], will["state"], will["outbox"]) == (None,) * 4
    assert (will["devices"], will["alarms"]) == ({}, [])
    birth = next(m["json"] for m in sub.messages if m["json"]["online"])
    assert birth["session_at"] is not None
    assert will["session_at"] == birth["session_at"]
    assert will["device_key"] == birth["device_key"] != ""
    msgspec.json.decode(sub.messages[-1]["payload"])
    validate(sub.messages[-1])
