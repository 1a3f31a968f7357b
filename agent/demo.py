"""`cleanroom demo`: the agent against the simulated demo rack, in one command.

Runs the daemon on the demo config with its store under ``var/demo`` for ``duration``
seconds (0: until interrupted), printing what it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from agent.adapters import systemd
from agent.conf import load_config
from agent.daemon import Daemon

log = logging.getLogger(__name__)


async def _demo(config_path: Path, duration: float) -> int:
    config = load_config(config_path)
    print(f"demo: rack {config.rack.id} from {config_path}")
    daemon = Daemon(config)
    runner = asyncio.create_task(daemon.run(), name="daemon")
    if duration > 0:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(duration):
                await asyncio.shield(runner)
        daemon.request_stop(f"demo duration of {duration:g}s elapsed")
    return await runner


def run(config_path: Path, *, duration: float) -> int:
    systemd.setup_logging()
    return asyncio.run(_demo(config_path, duration))
