"""A real Mosquitto broker on a free loopback port, for tests and benchmarks.

Shared by every test that needs a broker (``from broker import Mosquitto``, or the
``mosquitto`` fixture of this folder's conftest). It writes its own config:

- ``max_queued_messages`` raised to 1,000,000: Mosquitto's default of 1000 *silently*
  drops QoS 1 messages queued for a slow subscriber, which would look like a bug in the
  agent;
- ``persistence false`` unless asked (a test of a persistent subscriber session across a
  broker restart asks for it; the database then lives in the broker's temp folder);
- stop and restart on the SAME port, so clients can reconnect to the URL they know.

Use it as ``async with Mosquitto() as broker:`` (or ``with``); ``await broker.stop()``,
``await broker.start()``, ``broker.kill()``; ``broker.url`` is ``mqtt://127.0.0.1:PORT``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from agent.sim.testing import free_port

MOSQUITTO = "/usr/sbin/mosquitto"


def mosquitto_path() -> str | None:
    """The broker binary, or None when Debian's ``mosquitto`` package is missing."""
    if Path(MOSQUITTO).exists():
        return MOSQUITTO
    return shutil.which("mosquitto")


def clients_present() -> bool:
    """True when ``mosquitto_pub`` and ``mosquitto_sub`` (``mosquitto-clients``) exist."""
    return shutil.which("mosquitto_pub") is not None and shutil.which("mosquitto_sub") is not None


def require_broker() -> None:
    """Skip the calling test (with the package to install) when Mosquitto or its clients
    are missing; CI turns such a skip into a failure."""
    if mosquitto_path() is None:
        pytest.skip("mosquitto is not installed: apt-get install mosquitto")
    if not clients_present():
        pytest.skip("mosquitto_pub/mosquitto_sub are missing: apt-get install mosquitto-clients")


class Mosquitto:
    """One broker process, restartable on its port, with its own temp folder."""

    def __init__(
        self,
        *,
        persistence: bool = False,
        extra_config: Sequence[str] = (),
        port: int | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        binary = mosquitto_path()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed; apt-get install mosquitto")
        self.binary = binary
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.persistence = persistence
        self.extra_config = tuple(extra_config)
        self.start_timeout = start_timeout
        self._dir = Path(tempfile.mkdtemp(prefix="mosquitto-"))
        self.conf_path = self._dir / "mosquitto.conf"
        self.log_path = self._dir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def folder(self) -> Path:
        return self._dir

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "max_queued_messages 1000000",
            "max_queued_bytes 0",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self._dir}/",
            "autosave_interval 0",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            # Mosquitto drops root for user "mosquitto" otherwise, which cannot write
            # our temp folder.
            lines.append("user root")
        lines.extend(self.extra_config)
        self.conf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _spawn(self) -> None:
        if self.running:
            raise RuntimeError(f"mosquitto on port {self.port} is already running")
        self._proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(
                f"mosquitto exited with {self._proc.returncode} before accepting on "
                f"port {self.port}; its log:\n{self.log_text()}"
            )

    def start_sync(self) -> None:
        self._spawn()
        deadline = time.monotonic() + self.start_timeout
        while not self._accepts():
            self._check_alive()
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(
                    f"mosquitto did not accept on port {self.port} within "
                    f"{self.start_timeout} s; its log:\n{self.log_text()}"
                )
            time.sleep(0.02)

    async def start(self) -> None:
        self._spawn()
        async with asyncio.timeout(self.start_timeout):
            while not await asyncio.to_thread(self._accepts):
                self._check_alive()
                await asyncio.sleep(0.02)

    def stop_sync(self, sig: int = signal.SIGTERM) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker (SIGTERM: clean, saves persistence; SIGKILL: a crash)."""
        await asyncio.to_thread(self.stop_sync, sig)

    def kill(self) -> None:
        self.stop_sync(signal.SIGKILL)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start_sync()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)
