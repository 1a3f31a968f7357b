"""The ARS tools end to end: keys, send, the two-person approve flow, watch, audit verify."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.cli.report import main
from agent.report.envelope import Keyring, key_entry
from agent.report.intake import Command
from agent.report.payloads import Snapshot
from agent.store import Store
from tests.integration.report.broker import Mosquitto
from tests.integration.report.report_helpers import RACK, SITE, make_reporter

DEMO_KEYS = Path(__file__).resolve().parents[3] / "config" / "demo" / "keys"


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    status = await asyncio.to_thread(main, list(argv))
    return status, capsys.readouterr().out


async def test_ars_tools(
    mosquitto: Mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = []
    for name, role in (("olivia", "observer"), ("bob", "admin"), ("carol", "admin")):
        status, _ = await cli(
            capsys, "keys", "new", "--id", name, "--out", str(tmp_path / f"{name}.pem")
        )
        assert status == 0
        status, out = await cli(
            capsys, "keys", "show", str(tmp_path / f"{name}.pem"), "--role", role
        )
        assert status == 0
        assert f'id = "{name}"' in out
        shown = json.loads(
            (await cli(capsys, "keys", "show", str(tmp_path / f"{name}.pem"), "--json"))[1]
        )
        entries.append(key_entry(name, name, role, shown["public_key"], False))
        assert (tmp_path / f"{name}.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    # The shipped demo key (PKCS#8 PEM, as openssl writes it) signs for its file name.
    demo_key = DEMO_KEYS / "ars-observer.pem"
    shown = json.loads((await cli(capsys, "keys", "show", str(demo_key), "--json"))[1])
    assert shown["key_id"] == "ars-observer"
    entries.append(key_entry("demo", "ars-observer", "observer", shown["public_key"], False))
    powered: list[Command] = []

    async def power_down(command: Command) -> dict[str, Any]:
        powered.append(command)
        return {"group": command.args["group"], "state": "off"}

    db = tmp_path / "agent.db"
    broker = ["--broker", mosquitto.url, "--site", SITE, "--wait", "15"]
    async with (
        Store(db) as store,
        make_reporter(
            store,
            mosquitto.url,
            boot_id="boot-cli",
            version="9.9",
            keyring=Keyring(entries),
            handlers={"power.down": power_down},
            status_provider=lambda: Snapshot(state="operational"),
        ) as reporter,
    ):
        # A command published before the rack subscribed is lost (by design: commands are
        # not queued for an offline rack), so wait for its session.
        async with asyncio.timeout(20):
            await reporter.wait_connected()
        status, out = await cli(
            capsys,
            "send",
            "status.get",
            "--rack",
            RACK,
            "--key",
            str(tmp_path / "olivia.pem"),
            "--json",
            *broker,
        )
        assert status == 0, out
        replies = json.loads(out)
        assert [r["status"] for r in replies] == ["accepted", "result"]
        assert replies[1]["result"]["state"] == "operational"
        status, out = await cli(
            capsys, "send", "status.get", "--rack", RACK, "--key", str(demo_key), *broker
        )
        assert status == 0, out
        assert out.startswith("accepted")

        # Two-person rule: Bob prepares, Bob cannot approve himself, Carol approves.
        prepared = tmp_path / "cmd.json"
        status, _ = await cli(
            capsys,
            "send",
            "power.down",
            "--rack",
            RACK,
            "--key",
            str(tmp_path / "bob.pem"),
            "--args",
            '{"group": "all"}',
            "--prepare",
            str(prepared),
            *broker,
        )
        assert status == 0
        status, out = await cli(capsys, "send", "--envelope", str(prepared), *broker)
        assert status == 1
        assert "approval_required" in out
        status, _ = await cli(capsys, "approve", str(prepared), "--key", str(tmp_path / "bob.pem"))
        assert status == 2  # refused locally: same key
        status, _ = await cli(
            capsys, "approve", str(prepared), "--key", str(tmp_path / "carol.pem")
        )
        assert status == 0
        status, out = await cli(capsys, "send", "--envelope", str(prepared), *broker)
        # The same envelope was already used once (refused, but its nonce was not spent):
        assert status == 0, out
        assert "result" in out
        assert [(c.key_id, c.approved_by) for c in powered] == [("bob", ("carol",))]

        status, out = await cli(capsys, "watch", "--broker", mosquitto.url, "--for", "1", "--json")
        assert status == 0
        board = json.loads(out)
        assert [(r["site"], r["rack"], r["online"], r["state"]) for r in board] == [
            (SITE, RACK, True, "operational")
        ]

    status, out = await cli(capsys, "audit", "verify", "--store", str(db))
    assert status == 0, out
    assert "audit log OK" in out
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET actor = 'someone-else' WHERE id = 2")
    status, out = await cli(capsys, "audit", "verify", "--store", str(db), "--json")
    assert status == 1
    assert json.loads(out)["problems"]
