"""``cleanroom board``: argument parsing for the ARS web page (agent/board/service.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path
from typing import Any

from agent.adapters.mqtt import BrokerSettings
from agent.cli.report import _broker_args
from agent.errors import ConfigError


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            [f"--listen {text!r}: write HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"]
        )
    return host.strip("[]") or "127.0.0.1", int(port)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "board", help="the ARS web page: fleet, rack pictures, signed commands"
    )
    _broker_args(p)
    p.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (default loopback)")
    p.add_argument(
        "--rack-config",
        action="append",
        default=[],
        type=Path,
        help="a rack's config, for port roles, recovery targets and the runbook graph "
        "(repeat per rack)",
    )
    p.add_argument(
        "--name",
        default=socket.gethostname(),
        help="this board's MQTT client name; its broker session survives restarts",
    )
    p.add_argument("--session-expiry", type=int, default=3600, help="seconds (broker session)")
    p.add_argument(
        "--basic-user",
        default="",
        help="HTTP basic login (password in "
        "CLEANROOM_BOARD_PASSWORD); or set CLEANROOM_BOARD_TOKEN for a token",
    )
    p.add_argument("--tls-cert", default="")
    p.add_argument("--tls-key", default="")
    p.set_defaults(handler=cmd_board)


def settings_from(args: argparse.Namespace) -> Any:
    from agent.board.layout import load_layouts  # noqa: PLC0415
    from agent.board.service import BoardSettings  # noqa: PLC0415

    host, port = parse_listen(args.listen)
    broker = BrokerSettings(
        urls=tuple(args.broker),
        client_id=f"cleanroom-board-{args.name}",
        username=args.username,
        password=os.environ.get(args.password_env, ""),
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.cert_key_file,
        session_expiry=args.session_expiry,
        clean_start=False,
    )
    return BoardSettings(
        broker=broker,
        prefix=args.prefix,
        host=host,
        port=port,
        token=os.environ.get("CLEANROOM_BOARD_TOKEN", ""),
        basic_user=args.basic_user,
        basic_password=os.environ.get("CLEANROOM_BOARD_PASSWORD", ""),
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        layouts=load_layouts(args.rack_config),
    )


def cmd_board(args: argparse.Namespace) -> int:
    from agent.board.service import BoardService  # noqa: PLC0415

    settings = settings_from(args)

    async def run() -> None:
        async with BoardService(settings) as board:
            print(f"board: {board.url} (broker {', '.join(args.broker)})", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    return 0
