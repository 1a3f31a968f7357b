"""The `cleanroom` command: argument parsing and printing only.

This package holds every command module (net, power, health, report, lifecycle); each
subcommand calls into the part that does the work. Human output by default;
``--json`` where a machine reads the answer. Exit codes: 0 ok, 1 the thing checked is
wrong (bad config, failed check), 2 usage error, and 78 (EX_CONFIG, sysexits.h) when
`run` or `sim` cannot start on its config: the systemd units do not restart on it
(RestartPreventExitStatus=78), since a config error repeats until a person fixes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent import __version__
from agent.cli.args import add_config, duration
from agent.errors import AgentError, ConfigError

Handler = Callable[[argparse.Namespace], int]

EXIT_CONFIG = 78
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo-rack.toml"


def _print_problems(exc: ConfigError) -> None:
    print(f"{len(exc.problems)} config problem(s):", file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def cmd_version(args: argparse.Namespace) -> int:
    if args.json:
        _print_json({"name": "cleanroom-agent", "version": __version__})
    else:
        print(f"cleanroom-agent {__version__}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from agent.conf import config_to_builtins, load_config  # noqa: PLC0415 - keep start fast

    args.file = args.file or args.config
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        if args.json:
            _print_json({"ok": False, "problems": exc.problems})
        else:
            print(f"{args.file}: {len(exc.problems)} problem(s):", file=sys.stderr)
            for problem in exc.problems:
                print(f"  - {problem}", file=sys.stderr)
        return 1
    from agent.conf.advice import warnings  # noqa: PLC0415

    advice = warnings(config)
    if args.json:
        _print_json({"ok": True, "warnings": advice, "config": config_to_builtins(config)})
    else:
        for warning in advice:
            print(f"{args.file}: warning: {warning}", file=sys.stderr)
        print(
            f"{args.file}: ok (rack {config.rack.id} at {config.rack.site}: "
            f"{len(config.pdu)} PDU, {len(config.switch)} switch, {len(config.ups)} UPS, "
            f"{len(config.server)} servers, {len(config.runbook.step)} runbook steps; "
            f"digest {config.digest[:12]})"
        )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from agent import daemon  # noqa: PLC0415
    from agent.conf import load_config  # noqa: PLC0415

    try:
        return daemon.run(load_config(args.config))
    except ConfigError as exc:
        _print_problems(exc)
        return EXIT_CONFIG


def cmd_demo(args: argparse.Namespace) -> int:
    from agent import demo  # noqa: PLC0415

    return demo.run(Path(args.config), duration=args.duration)


def cmd_sim(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from agent.conf import load_config  # noqa: PLC0415
    from agent.sim.compose import check_faults, run_forever  # noqa: PLC0415

    try:
        config = load_config(args.config)
        if args.faults is not None:
            check_faults(config, args.faults)
    except ConfigError as exc:
        _print_problems(exc)
        return EXIT_CONFIG
    try:
        asyncio.run(
            run_forever(config, set_log_path=args.set_log, json_lines=args.json, faults=args.faults)
        )
    except KeyboardInterrupt:
        return 0
    return 0


# The command modules of this package: one is imported only when its command is run
# (or for --help), so `cleanroom run` starts without loading them all.
PART_COMMANDS: dict[str, str] = {
    "net": "agent.cli.net",
    "health": "agent.cli.health",
    "selftest": "agent.cli.health",
    "probe": "agent.cli.health",
    "power": "agent.cli.power",
    "keys": "agent.cli.report",
    "send": "agent.cli.report",
    "approve": "agent.cli.report",
    "watch": "agent.cli.report",
    "audit": "agent.cli.report",
    "board": "agent.cli.board",
    "status": "agent.cli.lifecycle",
    "runbook": "agent.cli.lifecycle",
    "drill": "agent.cli.lifecycle",
    "lifecycle": "agent.cli.lifecycle",
}


def _register_parts(sub: Any, argv: Sequence[str] | None) -> None:
    import importlib  # noqa: PLC0415

    words = list(sys.argv[1:] if argv is None else argv)
    wanted = next((w for w in words if not w.startswith("-")), None)
    modules = {PART_COMMANDS[wanted]} if wanted in PART_COMMANDS else set[str]()
    if wanted is None or wanted not in {*PART_COMMANDS, *BUILTIN}:
        modules = set(PART_COMMANDS.values())  # --help, or a typo: show everything
    for name in sorted(modules):
        importlib.import_module(name).register(sub)


BUILTIN = frozenset({"version", "check-config", "run", "demo", "sim"})


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cleanroom", description="Autopilot of a mobile clean-room rack."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("version", help="print the agent's version")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_version)

    p = sub.add_parser("check-config", help="validate a rack config and print every problem")
    p.add_argument("file", type=Path, nargs="?", help="the rack config (or give --config)")
    add_config(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_check_config)

    p = sub.add_parser("run", help="run the agent (the daemon) in the foreground")
    add_config(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("demo", help="run the agent against the simulated demo rack")
    add_config(p, default=DEMO_CONFIG)
    p.add_argument(
        "--duration",
        type=duration,
        default=0.0,
        help="stop after this long, like 90s or 5min (0: when the demo is done)",
    )
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("sim", help="run the simulated rack described by a rack config")
    add_config(p, default=DEMO_CONFIG)
    p.add_argument("--json", action="store_true", help="one JSON line per device endpoint")
    p.add_argument(
        "--set-log",
        type=Path,
        default=None,
        help="append every SET and power effect to this JSONL file",
    )
    p.add_argument(
        "--faults",
        type=Path,
        default=None,
        metavar="FILE",
        help="play this fault scenario (TOML, see the README) from the start, and again on "
        "each SIGHUP; device 'rack' takes power_off, power_on and power_cut",
    )
    p.set_defaults(handler=cmd_sim)

    _register_parts(sub, argv)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        _print_problems(exc)
        return 1
    except AgentError as exc:
        print(f"cleanroom: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `cleanroom ... | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 0
