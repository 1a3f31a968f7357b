"""A client written from docs/protocol.md alone (tests/contract/ars_client.py: its own
canonical JSON, its own signing, Mosquitto's command line clients for MQTT 5) gets
commands accepted by a real agent through a real broker, with the shipped demo keys."""

from __future__ import annotations

import asyncio
import time
import tomllib
from pathlib import Path
from typing import Any

from agent.report.envelope import KeyEntry, Keyring, public_key_from_b64
from agent.report.intake import Command
from agent.report.payloads import Snapshot
from agent.store import Store
from tests.contract import ars_client
from tests.integration.report.broker import Mosquitto, require_broker
from tests.integration.report.report_helpers import make_reporter

ROOT = Path(__file__).resolve().parents[2]
DEMO = tomllib.loads((ROOT / "config" / "demo-rack.toml").read_text())
KEYS = ROOT / "config" / "demo" / "keys"
RACK, SITE = DEMO["rack"]["id"], DEMO["rack"]["site"]
BASE = f"cleanroom/v1/{SITE}/{RACK}"


async def test_an_independent_client_gets_commands_accepted(tmp_path: Path) -> None:
    require_broker()
    ran: list[Command] = []

    async def power_down(command: Command) -> dict[str, Any]:
        ran.append(command)
        return {"state": "power_down"}

    ring = Keyring(
        [
            KeyEntry(k["id"], k["role"], public_key_from_b64(k["id"], k["public_key"]))
            for k in DEMO["key"]
        ]
    )
    async with (
        Mosquitto() as broker,
        Store(tmp_path / "agent.db") as store,
        make_reporter(
            store,
            broker.url,
            rack_id=RACK,
            site=SITE,
            keyring=ring,
            handlers={"power.down": power_down},
            status_provider=lambda: Snapshot(state="operational"),
        ) as reporter,
    ):
        async with asyncio.timeout(20):
            await reporter.wait_connected()
        now = int(time.time())
        observer_id, observer = ars_client.load_key(KEYS / "ars-observer.pem")
        env = ars_client.sign_command(observer, observer_id, "status.get", {}, RACK, now, now + 60)
        replies = await ars_client.request(
            broker.port, BASE, env, "cleanroom/v1/ars/replies/independent-1"
        )
        assert [r["status"] for r in replies] == ["accepted", "result"], replies
        assert replies[1]["result"]["state"] == "operational"
        assert replies[1]["nonce"] == env["nonce"]

        # The two-person rule: admin-1 signs, admin-1 cannot approve, admin-2 can.
        a1_id, admin1 = ars_client.load_key(KEYS / "ars-admin-1.pem")
        a2_id, admin2 = ars_client.load_key(KEYS / "ars-admin-2.pem")
        down = ars_client.sign_command(
            admin1, a1_id, "power.down", {"reason": "drill"}, RACK, now, now + 120
        )
        own = dict(down, approvals=[ars_client.sign_approval(admin1, a1_id, down, now)])
        replies = await ars_client.request(broker.port, BASE, own, "cleanroom/v1/ars/replies/i-2")
        assert [(r["status"], r["reason"]) for r in replies] == [("refused", "approval_invalid")]
        both = dict(down, approvals=[ars_client.sign_approval(admin2, a2_id, down, now)])
        replies = await ars_client.request(broker.port, BASE, both, "cleanroom/v1/ars/replies/i-3")
        assert [r["status"] for r in replies] == ["accepted", "result"], replies
        assert [(c.verb, c.key_id, c.approved_by) for c in ran] == [
            ("power.down", "ars-admin-1", ("ars-admin-2",))
        ]
