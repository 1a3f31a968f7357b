"""Plain HTTP probes (runbook `wait_http` steps) through httpx.

Redfish has its own adapter (`redfish.py`); this one only asks "does this URL answer with
this status and this text?", with our errors out.
"""

from __future__ import annotations

import httpx

from agent.errors import DeviceUnreachable, ProtocolError


async def probe(url: str, *, io_timeout: float, verify: bool = True) -> tuple[int, str]:
    """GET ``url``; returns the status and the first 64 KiB of the body as text."""
    try:
        async with httpx.AsyncClient(timeout=io_timeout, verify=verify) as client:
            response = await client.get(url)
    except httpx.TransportError as exc:
        raise DeviceUnreachable(url, f"no answer: {exc.__class__.__name__}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ProtocolError(url, f"bad HTTP exchange: {exc}") from exc
    return response.status_code, response.text[:65536]
