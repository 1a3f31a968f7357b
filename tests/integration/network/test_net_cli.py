"""`cleanroom net show | isolate | verify` against the simulated switch, through the
argparse wiring the lead adds to agent/cli.py (`register`)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from agent.cli.net import register
from agent.report.audit import verify
from agent.store import Store

from .conftest import Lab, rack_toml


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cleanroom")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


async def test_show_isolate_verify(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "rack.toml"
    text = rack_toml(lab.rack.endpoint("tor-1")[1])
    config.write_text(text.replace('"../var/demo/agent.db"', '"state/agent.db"'))
    base = ["--config", str(config)]
    # The commands run their own event loop, as from a shell: in a thread here.
    assert await asyncio.to_thread(_run, ["net", "verify", *base]) == 1
    dirty = capsys.readouterr().out
    assert "NOT VERIFIED" in dirty
    assert "tor-1 port 24: admin is up, should be down" in dirty
    assert "unsafe: tor-1 port 24: [uplink]" in dirty
    assert "unsafe: tor-1 port 1: [pvid]" in dirty

    assert await asyncio.to_thread(_run, ["net", "show", *base]) == 1
    table = capsys.readouterr().out
    line = next(x for x in table.splitlines() if x.split()[:2] == ["tor-1", "24"])
    assert "differs" in line

    assert await asyncio.to_thread(_run, ["net", "isolate", *base]) == 0
    out, err = capsys.readouterr()
    assert "phase quarantine: VERIFIED" in out
    assert "no agent is running" in err  # acting directly, and saying so
    assert lab.switch.port_states()[24].admin_up is False
    # Audited in the agent's store, and the hold journaled for the agent to keep.
    async with Store(tmp_path / "state" / "agent.db") as store:
        rows = await store.call(lambda c: [tuple(r) for r in c.execute(
            "SELECT actor, action FROM audit ORDER BY id")])  # fmt: skip
        held = await store.call(lambda c: c.execute(
            "SELECT subject FROM journal WHERE kind = 'isolation'").fetchall())  # fmt: skip
        assert (await store.call(verify)).ok
    assert rows[0][1] == "cli.direct"
    assert rows[0][0].startswith("local:")
    assert {a for _, a in rows} >= {"lifecycle.isolation", "network.isolate", "network.apply"}
    assert [tuple(r) for r in held] == [("held",)]

    assert await asyncio.to_thread(_run, ["net", "verify", "--json", *base]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "phase": "quarantine",
        "verified": True,
        "problems": [],
    }
    assert await asyncio.to_thread(_run, ["net", "show", "--json", *base]) == 0
    rows = json.loads(capsys.readouterr().out)["ports"]
    assert len(rows) == 24
    assert all(r["ok"] for r in rows)
