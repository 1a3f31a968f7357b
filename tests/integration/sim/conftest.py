"""Helpers for the simulator tests: net-snmp's own tools are the reference clients."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass

import pytest

TOOLS = ("snmpget", "snmpset", "snmpwalk", "snmpbulkwalk")


@dataclass(frozen=True)
class Reply:
    rc: int
    out: str
    err: str

    def values(self) -> dict[str, str]:
        """`-On` output as {oid: 'TYPE: value'}."""
        found = {}
        for line in self.out.splitlines():
            if " = " in line:
                oid, value = line.split(" = ", 1)
                found[oid.lstrip(".")] = value
        return found


def need_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"net-snmp tools {missing} missing: apt-get install snmp")


async def snmp(
    tool: str,
    endpoint: tuple[str, int],
    *args: str,
    community: str = "public",
    v3: tuple[str, str, str] | None = None,
    wait_s: float = 2.0,
    retries: int = 0,
) -> Reply:
    need_tools()
    host, port = endpoint
    if v3 is None:
        auth = ["-v2c", "-c", community]
    else:
        user, auth_key, priv_key = v3
        auth = [
            "-v3",
            "-l",
            "authPriv",
            "-u",
            user,
            "-a",
            "SHA",
            "-A",
            auth_key,
            "-x",
            "AES",
            "-X",
            priv_key,
        ]
    proc = await asyncio.create_subprocess_exec(
        tool,
        *auth,
        "-On",
        "-m",
        "",
        "-t",
        str(wait_s),
        "-r",
        str(retries),
        f"{host}:{port}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return Reply(proc.returncode or 0, out.decode(), err.decode())


async def wait_for_value(
    endpoint: tuple[str, int], oid: str, expected: str, *, tries: int = 100
) -> str:
    """Poll with snmpget until the value reads `expected` (the pending delay passes);
    returns the last value read. No timed assertion: the caller asserts the value."""
    value = ""
    for _ in range(tries):
        value = (await snmp("snmpget", endpoint, oid)).values().get(oid, "")
        if value == expected:
            break
        await asyncio.sleep(0.05)
    return value
