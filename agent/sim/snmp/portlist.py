"""Q-BRIDGE-MIB PortList bitmaps: each octet holds 8 ports, the most significant bit of
the first octet is port 1 (RFC 4363, PortList textual convention)."""

from __future__ import annotations

from collections.abc import Iterable


def encode(ports: Iterable[int], port_count: int) -> bytes:
    out = bytearray((port_count + 7) // 8)
    for p in ports:
        if not 1 <= p <= port_count:
            raise ValueError(f"portlist: port {p} is outside 1..{port_count}")
        out[(p - 1) // 8] |= 0x80 >> ((p - 1) % 8)
    return bytes(out)


def decode(raw: bytes) -> set[int]:
    return {
        i * 8 + bit + 1 for i, octet in enumerate(raw) for bit in range(8) if octet & (0x80 >> bit)
    }
