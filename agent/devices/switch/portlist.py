"""Q-BRIDGE-MIB PortList bitmaps (RFC 4363, the PortList textual convention).

Each octet holds eight ports; port 1 is the most significant bit of the first octet,
port 8 its least significant bit, port 9 the MSB of the second octet, and so on. A
switch may answer with more octets than it has ports (some always send 64 or 512) or,
rarely, fewer (trailing zero octets dropped): both mean the same set, so decoding
accepts any length and encoding writes the length the switch itself uses.

Written by hand rather than through a MIB compiler: it is twelve lines, and exactness
here is the whole point (one shifted bit moves a server into the wrong VLAN).
"""

from __future__ import annotations

from collections.abc import Iterable


def octets_for(port_count: int) -> int:
    """The minimum PortList length for ``port_count`` ports."""
    if port_count < 0:
        raise ValueError(f"portlist: port count {port_count} is negative")
    return (port_count + 7) // 8


def encode(ports: Iterable[int], length: int) -> bytes:
    """The PortList of ``ports`` in exactly ``length`` octets.

    Raises ValueError naming the port when one does not fit: a silent truncation would
    drop a port from a VLAN without anyone knowing.
    """
    if length < 0:
        raise ValueError(f"portlist: length {length} octets is negative")
    out = bytearray(length)
    for port in ports:
        if not 1 <= port <= length * 8:
            raise ValueError(
                f"portlist: port {port} does not fit in {length} octets (ports 1..{length * 8});"
                " write the bitmap with the length the switch reads back"
            )
        index, bit = divmod(port - 1, 8)
        out[index] |= 0x80 >> bit
    return bytes(out)


def decode(raw: bytes) -> frozenset[int]:
    """The set of ports whose bit is set, for a PortList of any length."""
    return frozenset(
        index * 8 + bit + 1
        for index, octet in enumerate(raw)
        if octet
        for bit in range(8)
        if octet & (0x80 >> bit)
    )


def replace(raw: bytes, ports: Iterable[int], managed: Iterable[int]) -> bytes:
    """``raw`` with the bits of the ``managed`` ports set to exactly ``ports``, every
    other bit (ports the agent does not manage) kept as the switch had it."""
    managed_set = frozenset(managed)
    wanted = frozenset(ports)
    stray = sorted(wanted - managed_set)
    if stray:
        raise ValueError(f"portlist: ports {stray} are set but not among the managed ports")
    keep = decode(raw) - managed_set
    length = max(len(raw), octets_for(max(wanted | keep, default=0)))
    return encode(keep | wanted, length)
