"""Simulated hospital applications: what the demo runbook restores and boots.

Two halves, joined by files in the agent's state folder (``{state_dir}/apps/<app>/``):

- the commands the runbook runs (``python -m agent.sim.apps restore|check|start``) stand
  in for a restore tool and a hypervisor CLI: ``restore`` copies the verified image and
  records its SHA-256, ``start`` asks for the application to run on a server;
- `AppHost`, inside the simulated rack, serves each started application on its TCP
  port while the server hosting it is powered, as a VM would, so `wait_tcp` steps and
  health probes see a real listener that goes away with the server's power.

Every command is idempotent: running it twice leaves the same files.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import shutil
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

_SYNC_INTERVAL = 0.1


def _write_json(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    tmp.replace(path)  # atomic: a crash leaves the old file or the new, never half


def restore(image: Path, app: str, into: Path) -> str:
    folder = into / app
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    marker = folder / "restored.json"
    if marker.exists() and json.loads(marker.read_text()).get("sha256") == digest:
        return f"{app}: already restored from {image.name}"
    shutil.copyfile(image, folder / "image")
    _write_json(marker, {"app": app, "image": str(image), "sha256": digest})
    return f"{app}: restored {image.name} ({digest[:12]})"


def is_restored(app: str, into: Path) -> bool:
    marker = into / app / "restored.json"
    if not marker.exists() or not (into / app / "image").exists():
        return False
    data = json.loads(marker.read_text())
    return bool(hashlib.sha256((into / app / "image").read_bytes()).hexdigest() == data["sha256"])


def start(app: str, port: int, server: str, into: Path) -> str:
    if not is_restored(app, into):
        raise SystemExit(f"{app}: not restored in {into}; run the restore step first")
    _write_json(into / app / "start.json", {"app": app, "port": port, "server": server})
    return f"{app}: start requested on {server}, port {port}"


class AppHost:
    """Serves every started application while its server is powered on."""

    def __init__(
        self, apps_dir: Path, server_on: Callable[[str], bool], host: str = "127.0.0.1"
    ) -> None:
        self.apps_dir = apps_dir
        self.server_on = server_on
        self.host = host
        self._servers: dict[str, asyncio.Server] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="sim-apphost")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for server in self._servers.values():
            server.close()
        self._servers.clear()

    def running(self) -> set[str]:
        return set(self._servers)

    async def _run(self) -> None:
        while True:
            await self.sync()
            await asyncio.sleep(_SYNC_INTERVAL)

    async def sync(self) -> None:
        wanted: dict[str, tuple[int, str]] = {}
        if self.apps_dir.is_dir():
            for request in self.apps_dir.glob("*/start.json"):
                with contextlib.suppress(OSError, ValueError, KeyError):
                    data = json.loads(request.read_text())
                    app = str(data["app"])
                    if is_restored(app, self.apps_dir) and self.server_on(str(data["server"])):
                        wanted[app] = (int(data["port"]), str(data["server"]))
        for app in set(self._servers) - set(wanted):
            self._servers.pop(app).close()
        for app, (port, server) in wanted.items():
            if app not in self._servers:
                with contextlib.suppress(OSError):  # port busy: try again next sync
                    self._servers[app] = await asyncio.start_server(
                        self._greeter(app, server), self.host, port, reuse_address=True
                    )

    @staticmethod
    def _greeter(
        app: str, server: str
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def greet(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(f"{app} running on {server}\n".encode())
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()

        return greet


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agent.sim.apps", description="demo restore tool and VM starter"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("restore")
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--app", required=True)
    p.add_argument("--into", type=Path, required=True)
    p = sub.add_parser("check")
    p.add_argument("--app", required=True)
    p.add_argument("--into", type=Path, required=True)
    p.add_argument("--started", action="store_true", help="also require a start request")
    p = sub.add_parser("start")
    p.add_argument("--app", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--from", dest="into", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "restore":
        print(restore(args.image, args.app, args.into))
    elif args.command == "check":
        ok = is_restored(args.app, args.into)
        if args.started:
            ok = ok and (args.into / args.app / "start.json").exists()
        print(f"{args.app}: {'in place' if ok else 'not in place'}")
        return 0 if ok else 1
    else:
        print(start(args.app, args.port, args.server, args.into))
    return 0


if __name__ == "__main__":
    sys.exit(main())
