"""``cleanroom power status | on | off | cycle TARGET | up | down``: the power commands.

``register(subparsers)`` adds them to the ``cleanroom`` parser (agent/cli/__init__.py). With an
agent running, ``on``, ``off``, ``cycle`` and ``down`` are requests to it through its
console (agent/onepath.py: serialised with its own work, audited as ``local:<user>``),
and ``up`` is refused (the agent powers the rack in its lifecycle). With no agent they
talk to the PDUs, BMCs and UPS directly, say so, and audit what they did in the agent's
store, so the rack can be powered by hand when everything else is failing. ``status``
only reads.

TARGET is a device id (``hv-1``, ``tor-1``) or one outlet as ``PDU:OUTLET``
(``pdu-a:7``). The console is local, but a protected outlet (the controller's, the
switch's) is still only switched off with ``--force``: one typo must not cut the rack
off from the ARS. ``up`` and ``down`` print each step as it happens; with ``--json``
they print JSON Lines (``{"progress": ...}`` per step, then ``{"report": ...}``), the
other commands one JSON object. Exit code 0 when the rack did what was asked, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TextIO, TypeVar

from agent import onepath
from agent.bus import Bus
from agent.cli.args import add_config, duration
from agent.conf import RackConfig, load_config
from agent.errors import AgentError, ConfigError, PolicyRefusal
from agent.power import switching
from agent.power.manager import VIAS, PowerManager
from agent.power.sequencer import PowerReport, Progress
from agent.power.switching import Action

# Steps that take time: shown when they start even when the output is not a terminal.
_WAITS = frozenset({"inrush delay", "BMC answers", "settle", "host shutdown", "host on"})
T = TypeVar("T")


def register(subparsers: Any) -> None:
    """Add ``power`` and its subcommands to an argparse subparsers object."""
    power = subparsers.add_parser("power", help="outlets, servers and the whole rack's power")
    sub = power.add_subparsers(dest="power_command", required=True, metavar="POWER_COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        add_config(p)
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("status", help="every outlet, host, PDU, UPS and power budget")
    common(p)
    p.set_defaults(handler=cmd_status)
    for name, text in (
        ("on", "power a device (outlets, then its BMC) or one PDU:OUTLET on"),
        ("off", "power a device (graceful BMC shutdown) or one PDU:OUTLET off"),
        ("cycle", "off, pause, on"),
    ):
        p = sub.add_parser(name, help=text)
        common(p)
        p.add_argument("target", metavar="TARGET", help="a device id, or PDU:OUTLET")
        p.add_argument(
            "--via",
            choices=VIAS,
            default="auto",
            help="auto (default): outlets then BMC to go on, the BMC's graceful shutdown "
            "to go off (outlets when it has no BMC); outlet; bmc",
        )
        if name != "on":
            p.add_argument(
                "--force",
                action="store_true",
                help="allow switching a protected outlet (controller, switch) off",
            )
        if name == "cycle":
            p.add_argument(
                "--pause",
                type=duration,
                default=switching.DEFAULT_PAUSE_S,
                help=f"seconds off (default {switching.DEFAULT_PAUSE_S:g})",
            )
        p.set_defaults(handler=cmd_switch, action=name)
    p = sub.add_parser("up", help="the whole power-up sequence, group by group, within budget")
    common(p)
    p.set_defaults(handler=cmd_up)
    p = sub.add_parser("down", help="the staged power-down: servers gracefully, then outlets")
    common(p)
    p.add_argument("--reason", default="operator at the console: cleanroom power down")
    p.set_defaults(handler=cmd_down)


# --- plumbing ------------------------------------------------------------------------------


def _run(config: RackConfig, op: Callable[[PowerManager], Awaitable[T]]) -> T:
    async def main() -> T:
        # The CLI is a one-shot: the daemon (when running) owns the UPS policy.
        async with PowerManager(config, Bus(), watch_ups=False) as power:
            return await op(power)

    return asyncio.run(main())


def _dump(data: Any, out: TextIO | None = None, *, indent: int | None = 2) -> None:
    stream = out or sys.stdout  # looked up per call: tests and callers may swap it
    json.dump(data, stream, indent=indent, sort_keys=True, default=str)
    stream.write("\n")
    stream.flush()


class LiveProgress:
    """Prints each step of a sequence as it happens. On a terminal a started step shows
    at once and its line is completed in place; in a log only results and waits show."""

    def __init__(self, out: TextIO, *, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json
        self.tty = out.isatty() and not as_json
        self._t0 = time.monotonic()
        self._open: tuple[str, str] | None = None

    def __call__(self, p: Progress) -> None:
        if self.as_json:
            _dump(
                {"progress": asdict(p) | {"at": round(p.at - self._t0, 3)}}, self.out, indent=None
            )
            return
        stamp = f"{p.at - self._t0:7.1f}s"
        label = f"{p.group or '-':<12} {p.device or '':<8} {p.step}"
        detail = f"  ({p.detail})" if p.detail else ""
        if p.status == "start":
            self.finish()
            if self.tty:
                self.out.write(f"{stamp}  {label} ...{detail}")
                self._open = (p.device, p.step)
            elif p.step in _WAITS:
                self.out.write(f"{stamp}  {label} ...{detail}\n")
        elif self.tty and self._open == (p.device, p.step):
            self.out.write(f"\r\033[K{stamp}  {label}: {p.status}{detail}\n")
            self._open = None
        else:
            self.finish()
            self.out.write(f"{stamp}  {label}: {p.status}{detail}\n")
        self.out.flush()

    def finish(self) -> None:
        if self._open is not None:
            self.out.write("\n")
            self._open = None


def _print_report(report: PowerReport, as_json: bool) -> None:
    if as_json:
        _dump({"report": report.to_dict()}, indent=None)
        return
    print(report.summary())
    for problem in report.errors():
        print(f"  error: {problem}")
    for warning in report.warnings():
        print(f"  warning: {warning}")


def _fail(args: argparse.Namespace, exc: AgentError) -> int:
    hint = ""
    if isinstance(exc, PolicyRefusal) and "protected" in str(exc) and args.action != "on":
        hint = "from this console, add --force to switch it anyway"
    if args.json:
        _dump({"ok": False, "error": str(exc), "hint": hint or None})
    else:
        print(f"cleanroom power {args.action}: {exc}", file=sys.stderr)
        if hint:
            print(f"  ({hint})", file=sys.stderr)
    return 1


# --- commands ------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    status = _run(config, lambda power: power.status())
    problems = [p["id"] for p in status["pdus"] if not p["outlets_readable"]]
    problems += [u["id"] for u in status["upses"] if not u["reachable"]]
    if args.json:
        _dump(status | {"ok": not problems})
        return 0 if not problems else 1
    for pdu in status["pdus"]:
        if not pdu["reachable"]:
            state = f"UNREACHABLE: {pdu['error']}"
        elif not pdu["outlets_readable"]:
            state = f"answers, but its outlets cannot be read: {pdu['error']}"
        else:
            state = f"ok ({pdu['driver']}), {pdu['outlets_read']} outlets"
        print(f"pdu {pdu['id']:<10} {state}")
        if pdu["warning"]:
            print(f"    warning: {pdu['warning']}")
    for ups in status["upses"]:
        if not ups["reachable"]:
            print(f"ups {ups['id']:<10} UNREACHABLE: {ups['error']}")
            continue
        source = {True: "ON BATTERY", False: "on mains", None: "source unknown"}[ups["on_battery"]]
        runtime = "?" if ups["runtime_s"] is None else f"{ups['runtime_s'] / 60:.0f} min"
        print(
            f"ups {ups['id']:<10} {source}, runtime {runtime}, charge "
            f"{ups['charge_pct'] if ups['charge_pct'] is not None else '?'} %, "
            f"output {ups['output_w'] if ups['output_w'] is not None else '?'} W"
        )
    print(f"\n{'device':<10} {'group':<12} {'host':<22} outlets")
    for dev in status["devices"]:
        outlets = "  ".join(
            f"{o['pdu']}:{o['outlet']}={o['state']}{'*' if o['protected'] else ''}"
            for o in dev["outlets"]
        )
        host = dev["host"] or "-"
        print(f"{dev['id']:<10} {dev['group'] or '-':<12} {host[:22]:<22} {outlets}")
    print("  (* protected: never switched off remotely nor by a power-down)")
    print(f"\n{'feed':<14} {'load W':>8} {'budget W':>9}")
    for feed in status["budget"]:
        name = f"{feed['kind']} {feed['feed']}"
        print(f"{name:<14} {feed['load_w']:>8.0f} {feed['budget_w']:>9.0f}")
    return 0 if not problems else 1


def cmd_switch(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    action: Action = args.action
    try:
        switching.check_target(config, f"power {action}", args.target)
    except PolicyRefusal as exc:
        raise ConfigError([str(exc)]) from None
    request: dict[str, Any] = {"target": args.target, "via": args.via}
    if action != "on":
        request["force"] = bool(args.force)
    if action == "cycle":
        request["pause_s"] = args.pause
    try:
        try:
            answer = onepath.ask(config, f"power.{action}", request)
            lines = str(answer["result"]).split("; ")
        except onepath.NoAgent:
            lines = asyncio.run(_switch_directly(config, args))
    except AgentError as exc:
        if isinstance(exc, ConfigError):
            raise
        return _fail(args, exc)
    if args.json:
        _dump({"ok": True, "target": args.target, "action": action, "summary": lines})
    else:
        for line in lines:
            print(line)
    return 0


async def _switch_directly(config: RackConfig, args: argparse.Namespace) -> list[str]:
    async with onepath.direct(config, f"power {args.action} {args.target}") as act:
        act.audit(f"power.{args.action}", target=args.target, via=args.via)
        async with PowerManager(config, act.bus, watch_ups=False) as power:
            return await switching.switch(
                power,
                config,
                args.target,
                args.action,
                via=args.via,
                remote=not getattr(args, "force", False),
                pause_s=getattr(args, "pause", None),
            )


def cmd_up(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        onepath.ask(config, "runbook.status", {})
    except onepath.NoAgent:
        pass
    else:
        print(
            "cleanroom power up: an agent is running and powers the rack in its lifecycle; "
            "from safe hold, `cleanroom runbook run` starts the arrival again",
            file=sys.stderr,
        )
        return 1
    live = LiveProgress(sys.stdout, as_json=args.json)

    async def run() -> PowerReport:
        async with onepath.direct(config, "powering the rack up") as act:
            act.audit("power.up", reason="operator at the console: cleanroom power up")
            async with PowerManager(config, act.bus, watch_ups=False) as power:
                return await power.power_up(progress=live)

    try:
        report = asyncio.run(run())
    except PolicyRefusal as exc:
        live.finish()
        if args.json:
            _dump({"report": {"ok": False, "refusal": str(exc)}}, indent=None)
        else:
            print(f"power up STOPPED: {exc}")
        return 1
    _print_report(report, args.json)
    return 0 if report.ok else 1


def cmd_down(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        answer = onepath.ask(config, "power.down", {"reason": args.reason})
    except onepath.NoAgent:
        pass
    else:  # the agent's staged shutdown: a lifecycle state, followed with `cleanroom status`
        _dump(answer) if args.json else print(f"power down: {answer['accepted']} (agent)")
        return 0
    live = LiveProgress(sys.stdout, as_json=args.json)

    async def run() -> PowerReport:
        async with onepath.direct(config, "powering the rack down") as act:
            act.audit("power.down", reason=args.reason)
            async with PowerManager(config, act.bus, watch_ups=False) as power:
                return await power.power_down(args.reason, progress=live)

    report = asyncio.run(run())
    _print_report(report, args.json)
    return 0 if report.ok else 1
