"""``cleanroom net show | isolate | release | verify``: the network part's commands.

``register(subparsers)`` adds them to the ``cleanroom`` parser (agent/cli/__init__.py).
``isolate`` (the emergency button) and ``release`` go through the running agent's console
(agent/onepath.py), which holds the isolation as a lifecycle state, audited as
``local:<user>``; with no agent running they act on the switches directly, say so, and
record the hold in the store, so the agent keeps it when it starts. ``show`` and
``verify`` only read the switches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from types import MappingProxyType
from typing import Any

from agent import onepath
from agent.cli.args import add_config
from agent.conf import RackConfig, load_config
from agent.devices.switch.drivers import drivers_for
from agent.devices.switch.model import (
    PHASES,
    ActualSwitch,
    DesiredPort,
    Phase,
    SwitchVerify,
    VerifyReport,
    compare,
)
from agent.errors import AgentError
from agent.network.invariants import check_actual
from agent.network.manager import NetworkManager
from agent.network.plan import Layout, plan


def register(subparsers: Any) -> None:
    """Add ``net`` and its subcommands to an argparse subparsers object."""
    net = subparsers.add_parser("net", help="switch VLANs: show, isolate, verify")
    sub = net.add_subparsers(dest="net_command", required=True, metavar="NET_COMMAND")
    for name, handler, text in (
        ("show", cmd_show, "desired vs actual state of every switch port, as a table"),
        ("isolate", cmd_isolate, "EMERGENCY: quarantine every port, uplinks down, and hold"),
        ("release", cmd_release, "leave emergency isolation (to safe hold, still quarantined)"),
        ("verify", cmd_verify, "read every switch back and check it against a phase"),
    ):
        p = sub.add_parser(name, help=text)
        add_config(p)
        p.add_argument("--json", action="store_true")
        if name == "show":
            p.add_argument(
                "--phase",
                choices=PHASES,
                default=None,
                help="compare against this phase (default: the running agent's layout, "
                "quarantine when no agent runs)",
            )
        elif name == "verify":
            p.add_argument("--phase", choices=PHASES, default="quarantine")
        else:
            p.add_argument(
                "--reason", required=name == "release", default="", help="for the audit log"
            )
        p.set_defaults(handler=handler)


def _fmt(port: DesiredPort | None, actual: ActualSwitch | None, number: int) -> tuple[str, str]:
    def show(pvid: int | None, untagged: frozenset[int], tagged: frozenset[int], up: object) -> str:
        vl = ",".join(str(v) for v in sorted(untagged)) or "-"
        tg = ",".join(str(v) for v in sorted(tagged)) or "-"
        state = "up" if up is True else "down" if up is False else "?"
        return f"{state:<4} pvid {pvid if pvid is not None else '-':<4} u:{vl:<8} t:{tg}"

    want = show(port.pvid, port.untagged, port.tagged, port.admin_up) if port else ""
    have = ""
    if actual is not None:
        a = actual.port(number)
        have = show(a.pvid, a.untagged, a.tagged, a.admin_up)
    return want, have


async def _read_all(config: RackConfig) -> dict[str, ActualSwitch | str]:
    found: dict[str, ActualSwitch | str] = {}
    for switch_id, driver in drivers_for(config).items():
        try:
            async with driver, asyncio.timeout(30):
                found[switch_id] = await driver.read()
        except (TimeoutError, AgentError) as exc:
            found[switch_id] = f"cannot read: {exc}"
    return found


def _layout(config: RackConfig, phase: Phase | None) -> tuple[Layout, str]:
    """The layout to compare against, and where it comes from."""
    if phase is not None:
        return Layout(phase), "asked"
    try:
        answer = onepath.ask(config, "network.status", {})
    except onepath.NoAgent:
        return Layout("quarantine"), "no agent running"
    return Layout(answer["phase"], MappingProxyType(answer["devices"])), "the agent's layout"


def cmd_show(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    layout, source = _layout(config, args.phase)
    phase = layout.phase
    desired = plan(config, layout)
    actual = asyncio.run(_read_all(config))
    rows: list[dict[str, Any]] = []
    for switch_id, want in desired.items():
        have = actual[switch_id]
        diffs = {c.port for c in compare(want, have)} if isinstance(have, ActualSwitch) else set()
        for number, port in sorted(want.ports.items()):
            w, h = _fmt(port, have if isinstance(have, ActualSwitch) else None, number)
            rows.append(
                {
                    "switch": switch_id,
                    "port": number,
                    "role": port.role,
                    "device": port.device or port.name,
                    "desired": w,
                    "actual": h if isinstance(have, ActualSwitch) else str(have),
                    "ok": isinstance(have, ActualSwitch) and number not in diffs,
                }
            )
    if args.json:
        json.dump(
            {"phase": phase, "devices": dict(layout.devices), "source": source, "ports": rows},
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        moved = ", ".join(f"{d} in {p}" for d, p in sorted(layout.devices.items()))
        print(f"desired = phase {phase!r}" + (f", {moved}" if moved else "") + f" ({source})")
        print(f"{'switch':<8} {'port':>4} {'role':<10} {'device':<10} {'desired':<38} actual")
        for r in rows:
            mark = "" if r["ok"] else "  <-- differs"
            print(
                f"{r['switch']:<8} {r['port']:>4} {r['role']:<10} {r['device'][:10]:<10} "
                f"{r['desired']:<38} {r['actual']}{mark}"
            )
    return 0 if all(r["ok"] for r in rows) else 1


def _print_report(report: VerifyReport, as_json: bool, extra: list[str]) -> None:
    problems = report.problems() + extra
    if as_json:
        out = {
            "phase": report.phase,
            "verified": report.verified and not extra,
            "problems": problems,
        }
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    state = "VERIFIED" if report.verified and not extra else "NOT VERIFIED"
    print(f"phase {report.phase}: {state}")
    for problem in problems:
        print(f"  - {problem}")


def cmd_isolate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    reason = args.reason or "operator console: cleanroom net isolate"
    try:
        answer = onepath.ask(config, "network.isolate", {"reason": reason})
    except onepath.NoAgent:
        return _isolate_directly(config, reason, args.json)
    verified = bool(answer["verified"])
    if args.json:
        json.dump({"phase": "quarantine", "verified": verified, **answer}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"phase quarantine: {'VERIFIED' if verified else 'NOT VERIFIED'} (held by the agent)")
        print(f"  {answer['summary']}")
    return 0 if verified else 1


def _isolate_directly(config: RackConfig, reason: str, as_json: bool) -> int:
    async def run() -> VerifyReport:
        async with onepath.direct(config, "isolating") as act:
            # Journaled before acting: the agent starts held isolated.
            said = act.audited("lifecycle.isolation", reason=reason, held=True)
            await act.journal.write(
                "isolation", "held", "entered", announce=said,
                reason=reason, actor=act.actor, since=time.time(),
            )  # fmt: skip
            async with NetworkManager(config, act.bus, reconcile=False) as net:
                return await net.isolate_now(reason, hold=True)

    report = asyncio.run(run())
    _print_report(report, as_json, [])
    return 0 if report.verified else 1


def cmd_release(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        answer = onepath.ask(config, "network.release", {"reason": args.reason})
    except onepath.NoAgent:
        answer = asyncio.run(_release_directly(config, args.reason))
    if args.json:
        json.dump(answer, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"emergency isolation released ({answer['state']}); the rack stays quarantined")
    return 0


async def _release_directly(config: RackConfig, reason: str) -> dict[str, Any]:
    async with onepath.direct(config, "releasing the isolation") as act:
        said = act.audited("lifecycle.isolation", reason=reason, held=False)
        await act.journal.write(
            "isolation", "released", "entered", announce=said, reason=reason, actor=act.actor
        )
    return {"released": True, "reason": reason, "state": "no agent running"}


def cmd_verify(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    phase: Phase = args.phase
    desired = plan(config, Layout(phase))
    actual = asyncio.run(_read_all(config))
    results = []
    unsafe: list[str] = []
    for switch_id, want in desired.items():
        have = actual[switch_id]
        if isinstance(have, str):
            results.append(SwitchVerify(switch_id, (), have))
            continue
        results.append(SwitchVerify(switch_id, tuple(compare(want, have))))
        unsafe += [f"unsafe: {v}" for v in check_actual(config, have, phase)]
    report = VerifyReport(phase, tuple(results))
    _print_report(report, args.json, unsafe)
    return 0 if report.verified and not unsafe else 1
