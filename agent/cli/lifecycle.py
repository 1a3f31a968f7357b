"""`cleanroom status | runbook ... | drill | lifecycle graph`: the lifecycle's commands.

`status` reads the store (and asks a running agent through its local console for what
only it knows: steps waiting for a decision, prompts). The runbook verbs that act (`run`,
`resume`, `retry`, `skip`, `abort`, `ack`) go to the running agent's console, so they take
effect in its journal and audit log like any other operator action. `drill` runs the
runbook on the simulated rack built from the config and writes the recovery report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from agent.cli.args import add_config, duration
from agent.conf import RackConfig, load_config
from agent.conf.checks import find_cycle
from agent.errors import AgentError


def _print(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def _journal(config: RackConfig) -> list[tuple[float, str, str, str, str]]:
    db = config.resolve(config.store.path)
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        query = "SELECT ts, kind, subject, phase, data FROM journal ORDER BY id"
        return [
            (float(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in conn.execute(query)
        ]
    finally:
        conn.close()


def _console(config: RackConfig, verb: str, args: dict[str, Any]) -> Any:
    from agent.console import request  # noqa: PLC0415

    return asyncio.run(request(config.state_dir() / "console.sock", verb, args))


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    rows = _journal(config)
    states = [r for r in rows if r[1] == "transition" and r[3] == "entered"]
    steps: dict[str, str] = {}
    for _ts, kind, subject, phase, _data in rows:
        if kind == "step":
            steps[subject] = phase
    live: Any = None
    try:
        live = _console(config, "runbook.status", {})
    except AgentError as exc:  # the agent may simply not be running: say so
        live = {"agent": f"not reachable: {exc}"}
    data = {
        "rack": config.rack.id,
        "state": states[-1][2] if states else "never started",
        "since": states[-1][0] if states else None,
        "steps": steps,
        "agent": live,
    }
    counts: dict[str, int] = {}
    for phase in steps.values():
        counts[phase] = counts.get(phase, 0) + 1
    text = (
        f"rack {config.rack.id}: {data['state']}\n"
        f"runbook: {len(config.runbook.step)} steps, "
        + (", ".join(f"{n} {p}" for p, n in sorted(counts.items())) or "none started")
        + f"\nagent: {live}"
    )
    _print(data, args.json, text)
    return 0


def _levels(config: RackConfig) -> dict[str, int]:
    level: dict[str, int] = {}
    steps = {s.id: s for s in config.runbook.step}

    def depth(step_id: str) -> int:
        if step_id not in level:
            level[step_id] = 1 + max((depth(n) for n in steps[step_id].needs), default=-1)
        return level[step_id]

    for step_id in steps:
        depth(step_id)
    return level


def cmd_runbook_show(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    levels = _levels(config)
    rows: list[dict[str, Any]] = [
        {
            "id": s.id,
            "kind": s.kind,
            "app": s.app,
            "needs": s.needs,
            "level": levels[s.id],
            "timeout_s": float(s.timeout),
            "retries": s.retries,
            "on_failure": s.on_failure,
        }
        for s in config.runbook.step
    ]
    lines = [f"{'level':<5} {'step':<22} {'kind':<12} {'app':<10} {'on_failure':<10} needs"]
    for r in sorted(rows, key=lambda r: (r["level"], r["id"])):
        lines.append(
            f"{r['level']:<5} {r['id']:<22} {r['kind']:<12} {r['app'] or '-':<10} "
            f"{r['on_failure']:<10} {', '.join(r['needs']) or '-'}"
        )
    _print(rows, args.json, "\n".join(lines))
    return 0


def cmd_runbook_validate(args: argparse.Namespace) -> int:
    # load_config validates everything (kinds, args, references, cycles) and raises
    # ConfigError listing every problem; here we add what a runbook author wants to see.
    config = load_config(args.config)
    cycle = find_cycle(list(config.runbook.step))
    apps = {s.app for s in config.runbook.step if s.app}
    missing = [a.id for a in config.application if a.id not in apps]
    data = {
        "ok": not cycle and not missing,
        "steps": len(config.runbook.step),
        "levels": max(_levels(config).values(), default=-1) + 1,
        "applications_without_steps": missing,
    }
    text = (
        f"runbook ok: {data['steps']} steps in {data['levels']} levels"
        if data["ok"]
        else f"runbook problems: applications with no step: {missing}"
    )
    _print(data, args.json, text)
    return 0 if data["ok"] else 1


def cmd_runbook_act(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    verb, payload = {
        "run": ("runbook.start", {}),
        "resume": ("runbook.start", {}),
        "retry": ("runbook.retry", {"step": getattr(args, "step", "")}),
        "skip": (
            "runbook.skip",
            {"step": getattr(args, "step", ""), "reason": getattr(args, "reason", "")},
        ),
        "abort": ("runbook.abort", {"reason": getattr(args, "reason", "")}),
        "ack": ("prompt.ack", {"step": getattr(args, "step", "")}),
    }[args.runbook_command]
    result = _console(config, verb, payload)
    _print(result, args.json, f"{args.runbook_command}: {result}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from agent.lifecycle.states import graph  # noqa: PLC0415

    print(graph(args.format))
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    from agent.drill_run import run_drill  # noqa: PLC0415

    folder = args.workdir or Path(tempfile.mkdtemp(prefix="cleanroom-drill-"))
    report = asyncio.run(run_drill(args.config, folder, timeout=args.timeout))
    _print(
        {"report": str(report.path), "ok": report.ok, "state": report.state},
        args.json,
        f"drill {'complete' if report.ok else 'INCOMPLETE'} "
        f"({report.state}); report: {report.path}",
    )
    return 0 if report.ok else 1


def register(sub: Any) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        add_config(p)
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("status", help="lifecycle state and runbook progress")
    common(p)
    p.set_defaults(handler=cmd_status)

    runbook = sub.add_parser("runbook", help="show, validate or steer the restore runbook")
    rsub = runbook.add_subparsers(dest="runbook_command", required=True, metavar="ACTION")
    for name, handler, text in (
        ("show", cmd_runbook_show, "the steps as a table, by dependency level"),
        ("validate", cmd_runbook_validate, "check the runbook (the whole config is checked)"),
        ("run", cmd_runbook_act, "ask the agent to (re)start the arrival from safe hold"),
        ("resume", cmd_runbook_act, "ask the agent to continue from its journal"),
        ("retry", cmd_runbook_act, "retry a step waiting for a decision"),
        ("skip", cmd_runbook_act, "skip a step waiting for a decision (audited)"),
        ("abort", cmd_runbook_act, "abort the running restore"),
        ("ack", cmd_runbook_act, "acknowledge an operator prompt"),
    ):
        q = rsub.add_parser(name, help=text)
        common(q)
        if name in ("retry", "skip", "ack"):
            q.add_argument("step")
        if name in ("skip", "abort"):
            q.add_argument("--reason", required=name == "skip", default="")
        q.set_defaults(handler=handler)

    p = sub.add_parser("drill", help="run the runbook on the simulated rack, timed report")
    common(p)
    p.add_argument("--workdir", type=Path, default=None, help="where state and report go")
    p.add_argument(
        "--timeout", type=duration, default=600.0, help="give up after this long (10min)"
    )
    p.set_defaults(handler=cmd_drill)

    p = sub.add_parser("lifecycle", help="the lifecycle state table")
    lsub = p.add_subparsers(dest="lifecycle_command", required=True, metavar="ACTION")
    q = lsub.add_parser("graph", help="the table as a Mermaid or Graphviz diagram")
    q.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    q.set_defaults(handler=cmd_graph)
