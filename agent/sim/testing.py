"""Helpers for running the agent and its simulator side by side (tests, drills, demos).

`relocate(config, folder)` copies a rack config into ``folder`` with every loopback port
it names (SNMP, BMC, application and broker ports) moved to a free one, and its state in
``folder``, so several simulated racks and agents can run at once without colliding.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

# Ports the demo rack names, by the protocol that binds them.
_UDP_KEYS = re.compile(r"^(\s*snmp_port\s*=\s*)(\d+)", re.M)
_NUMBER_ALONE = r"(?<![\d.]){}(?![\d.])"


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A TCP (or ``socket.SOCK_DGRAM``: UDP) port free on ``host`` right now; the caller
    retries if it loses the race to another process."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def relocate(
    config: Path, folder: Path, *, store: str = "state/agent.db", fast: bool = False
) -> tuple[Path, dict[int, int]]:
    """Write a copy of ``config`` into ``folder`` on free ports; return it and the port map.

    Every number in 1024..65535 that the config uses as a port (``snmp_port``, ``port``,
    ``"--port", "N"`` in argv, and broker URLs) is replaced everywhere it appears; the
    config's relative asset paths keep working through a symlink to its asset folder.
    """
    text = config.read_text()
    udp = {int(m.group(2)) for m in _UDP_KEYS.finditer(text)}
    tcp = {int(n) for n in re.findall(r"\bport\s*=\s*(\d+)", text)}
    tcp |= {int(n) for n in re.findall(r'"--port",\s*"(\d+)"', text)}
    tcp |= {int(n) for n in re.findall(r"mqtts?://[\w.\-]+:(\d+)", text)}
    mapping = {p: free_port(socket.SOCK_DGRAM) for p in udp}
    mapping |= {p: free_port() for p in tcp - udp if 1024 <= p <= 65535}
    for old, new in mapping.items():
        text = re.sub(_NUMBER_ALONE.format(old), str(new), text)
    text = re.sub(r'^(path\s*=\s*)".*agent\.db"', rf'\1"{store}"', text, flags=re.M)
    text = re.sub(r'^(report_dir\s*=\s*)".*"', r'\1"state/drills"', text, flags=re.M)
    if fast:  # tests: the same rack, with the power-up pauses cut short
        text = re.sub(r'^(inrush_delay\s*=\s*)".*"', r'\1"100ms"', text, flags=re.M)
        text = re.sub(r'^(settle\s*=\s*)".*"', r'\1"0s"', text, flags=re.M)
    folder.mkdir(parents=True, exist_ok=True)
    for asset in config.parent.iterdir():
        if asset.is_dir() and not (folder / asset.name).exists():
            (folder / asset.name).symlink_to(asset.resolve())
    target = folder / config.name
    target.write_text(text)
    return target, mapping
