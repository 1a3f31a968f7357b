"""The record is always on: with no ``[mqtt] urls`` (a drill strips them) the journal,
the audit chain and the outbox are written all the same, from the daemon's first event
(``agent.started``) on."""

from __future__ import annotations

import json
from pathlib import Path

from agent.drill_run import run_drill
from agent.report.audit import read_entries, verify
from agent.store import Store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo-rack.toml"


async def test_a_drill_without_mqtt_is_journaled_audited_and_in_the_outbox(
    tmp_path: Path,
) -> None:
    outcome = await run_drill(DEMO, tmp_path, timeout=180)
    assert outcome.ok, outcome
    assert "urls" not in (tmp_path / DEMO.name).read_text()  # no broker at all
    async with Store(tmp_path / "state" / "agent.db") as store:
        kinds = await store.call(
            lambda c: [json.loads(bytes(r[0]))["kind"] for r in c.execute(
                "SELECT payload FROM outbox WHERE category != 'telemetry' ORDER BY id"
            )]
        )  # fmt: skip
        chain = await store.call(verify)
        entries = await store.call(read_entries)
        states = await store.call(
            lambda c: [r[0] for r in c.execute(
                "SELECT subject FROM journal WHERE kind = 'transition' ORDER BY id"
            )]
        )  # fmt: skip
    assert states[:2] == ["arrival", "selftest"], states
    assert "operational" in states
    assert kinds[0] == "agent.started", kinds[:5]
    assert "lifecycle.transition" in kinds
    assert chain.ok, chain.problems
    actions = {e.action for e in entries}
    assert "network.apply" in actions, actions  # the isolation's VLAN moves
    assert any(a.startswith("power.") for a in actions), actions
