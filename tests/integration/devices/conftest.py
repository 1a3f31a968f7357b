"""virtualpdu, OpenStack's APC PDU emulator, as a third-party SNMP peer.

It runs in its own virtualenv (``.venv-virtualpdu``, made by ``make test``; see the
Makefile for why) with its no-op core (``virtualpdu_main.py``), on a free loopback UDP
port. Without that virtualenv the tests skip and say how to get it; in CI a skip fails.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.errors import DeviceUnreachable
from agent.sim.testing import free_port

ROOT = Path(__file__).resolve().parents[3]
VPDU_PYTHON = ROOT / ".venv-virtualpdu" / "bin" / "python"
MAIN = Path(__file__).with_name("virtualpdu_main.py")
COMMUNITY = "cleanroom"
OUTLETS = 8
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class VirtualPdu:
    host: str
    port: int
    outlets: int
    log: Path

    def target(self, device: str = "virtualpdu", **kw: float) -> SnmpTarget:
        return SnmpTarget(
            device,
            self.host,
            self.port,
            community=COMMUNITY,
            timeout=kw.get("timeout", 0.5),
            retries=int(kw.get("retries", 1)),
            backoff=0.05,
        )


async def _answers(pdu: VirtualPdu) -> bool:
    async with SnmpClient(pdu.target("virtualpdu-start", timeout=0.3, retries=0)) as snmp:
        try:
            return await snmp.get_one(SYS_DESCR) == b"APC Rack PDU (virtualpdu)"
        except DeviceUnreachable:
            return False


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def virtualpdu(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VirtualPdu]:
    if not VPDU_PYTHON.exists():
        pytest.skip(
            f"virtualpdu is not installed in {VPDU_PYTHON.parent.parent}: run "
            "'make .venv-virtualpdu/.installed' (make test does)"
        )
    workdir = tmp_path_factory.mktemp("virtualpdu")
    port = free_port(socket.SOCK_DGRAM)
    config = workdir / "virtualpdu.conf"
    config.write_text(
        "[global]\n"
        "outlet_default_state = ON\n"
        "\n"
        "[rack-pdu]\n"
        "listen_address = 127.0.0.1\n"
        f"listen_port = {port}\n"
        f"community = {COMMUNITY}\n"
        "snmp_versions = 2c\n"
        f"outlet_count = {OUTLETS}\n"
    )
    log = workdir / "virtualpdu.log"
    pdu = VirtualPdu("127.0.0.1", port, OUTLETS, log)
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once per module, returns at once
            [str(VPDU_PYTHON), str(MAIN), str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not await _answers(pdu):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"virtualpdu did not start on UDP {port}:\n{log.read_text()}")
            await asyncio.sleep(0.1)
        yield pdu
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
