"""`cleanroom health`, `cleanroom selftest` and `cleanroom probe`: parsing and printing.

``register(subparsers)`` adds the three subcommands to the `cleanroom` parser; each
handler returns the exit code (0 ok, 1 the thing checked is wrong).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from agent.cli.args import add_config, duration
from agent.errors import ConfigError


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def _table(snapshot: dict[str, Any]) -> str:
    lines = [f"health level: {snapshot['level']}"]
    for d in snapshot["devices"]:
        state = f"{d['state']} (unpowered)" if d["unpowered"] else d["state"]
        lines.append(f"{d['device']:<14} {state:<9} {d['last_error'] or ''}")
        for r in d["readings"]:
            value = "unknown" if r["value"] is None else f"{r['value']:g} {r['unit']}"
            lines.append(f"    {r['sensor']:<36} {value:<14} {r['status']}")
        # A table the device does not have, has empty, or would not serve: said, not hidden.
        lines += [
            f"    table {table}: {state}"
            for table, state in sorted(d.get("tables", {}).items())
            if state != "read"
        ]
    lines.append(f"alarms ({len(snapshot['alarms'])}):")
    lines += [
        f"  [{a['severity']}] {a['message']} (action {a['action']})" for a in snapshot["alarms"]
    ]
    return "\n".join(lines)


def _show(args: argparse.Namespace, snapshot: dict[str, Any], source: str) -> None:
    if args.json:
        _print_json({**snapshot, "source": source})
        return
    if not args.once:
        sys.stdout.write("\x1b[2J\x1b[H")  # clear the terminal: a live table
    print(f"({source})\n{_table(snapshot)}", flush=True)


async def _health(args: argparse.Namespace) -> int:
    """What the running agent sees, through its console; the devices polled from here
    only when no agent runs with this config (and the output says so)."""
    from agent.conf import load_config  # noqa: PLC0415 - keep `cleanroom --help` fast
    from agent.console import request  # noqa: PLC0415
    from agent.errors import EnvironmentMissing  # noqa: PLC0415

    config = load_config(args.config)
    socket = config.state_dir() / "console.sock"
    if not args.direct:
        try:
            while True:
                snapshot = await request(socket, "health.snapshot", {})
                _show(args, snapshot, f"as the running agent sees it, through {socket}")
                if args.once:
                    return 0 if snapshot["level"] == "none" else 1
                await asyncio.sleep(float(config.health.interval))
        except EnvironmentMissing:
            print(
                f"cleanroom health: no agent answers on {socket}; polling the devices "
                "directly (what this command sees, not an agent's alarms)",
                file=sys.stderr,
            )
    return await _poll_directly(args, config)


async def _poll_directly(args: argparse.Namespace, config: Any) -> int:
    from agent.bus import Bus  # noqa: PLC0415
    from agent.health.watch import HealthWatch  # noqa: PLC0415

    async with HealthWatch(config, Bus()) as watch:
        while True:
            # Poll everything now rather than wait for each poller's jittered slot.
            await watch.poll_all()
            snapshot = watch.snapshot()
            _show(args, snapshot, "polled directly by this command: no agent consulted")
            if args.once:
                return 0 if snapshot["level"] == "none" else 1
            await asyncio.sleep(float(config.health.interval))


def cmd_health(args: argparse.Namespace) -> int:
    return asyncio.run(_health(args))


def cmd_selftest(args: argparse.Namespace) -> int:
    from agent.conf import load_config  # noqa: PLC0415
    from agent.health import selftest  # noqa: PLC0415

    config = load_config(args.config)
    report = asyncio.run(selftest.run(config, firmware_dir=args.firmware_dir))
    if args.json:
        _print_json(report.to_dict())
    else:
        print(selftest.render(report))
    return 0 if report.ok else 1


def _target(args: argparse.Namespace) -> Any:
    from agent.adapters.snmp import SnmpTarget, V3User  # noqa: PLC0415

    host, _, port = args.target.rpartition(":") if ":" in args.target else (args.target, "", "")
    if not port.isdigit():
        host, port = args.target, "161"
    common = {"timeout": args.timeout, "retries": 1}
    if args.v3_user:
        user = V3User(
            name=args.v3_user,
            auth_key=args.auth_key or "",
            priv_key=args.priv_key,
            auth_protocol=args.auth_protocol,
            priv_protocol=args.priv_protocol,
        )
        return SnmpTarget(host, host, int(port), version="3", user=user, **common)
    return SnmpTarget(host, host, int(port), community=args.community, **common)


def cmd_probe(args: argparse.Namespace) -> int:
    from agent.health import probe  # noqa: PLC0415

    try:
        target = _target(args)
    except ValueError as exc:
        raise ConfigError([f"probe {args.target}: {exc}"]) from exc
    doc = asyncio.run(probe.probe(target))
    if args.json:
        _print_json(doc)
    else:
        print(probe.render(doc))
    return 0


def register(subparsers: Any) -> None:
    """Add `health`, `selftest` and `probe` to the `cleanroom` subcommands."""
    p = subparsers.add_parser("health", help="live table of devices, sensors and alarms")
    add_config(p)
    p.add_argument("--once", action="store_true", help="one snapshot, then exit")
    p.add_argument(
        "--direct",
        action="store_true",
        help="poll the devices from this command even if an agent runs (for a stopped agent "
        "this is what happens anyway)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_health)

    p = subparsers.add_parser("selftest", help="the arrival report: identity and firmware")
    add_config(p)
    p.add_argument(
        "--firmware-dir",
        type=Path,
        default=None,
        help="baseline folder (default: firmware/ or $CLEANROOM_FIRMWARE_DIR)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_selftest)

    p = subparsers.add_parser("probe", help="identify an SNMP device with no config")
    p.add_argument("target", metavar="HOST[:PORT]")
    p.add_argument("--community", default="public")
    p.add_argument("--v3-user", default="")
    p.add_argument("--auth-key", default="")
    p.add_argument("--priv-key", default=None)
    p.add_argument(
        "--auth-protocol",
        default="SHA",
        choices=["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"],
    )
    p.add_argument("--priv-protocol", default="AES", choices=["DES", "AES", "AES-192", "AES-256"])
    p.add_argument("--timeout", type=duration, default=2.0, help="per request (2s, 500ms)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_probe)
