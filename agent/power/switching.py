"""One device or outlet on, off or cycled: the same meaning for every path (a signed
command, the local console, the CLI acting directly when no agent runs).

A TARGET is a device id (``hv-1``) or one outlet as ``PDU:OUTLET`` (``pdu-a:7``).
``cycle`` is off, a pause (`DEFAULT_PAUSE_S` unless asked otherwise, at most
`MAX_PAUSE_S`), then on.
"""

from __future__ import annotations

import asyncio
import re
from typing import Literal, Protocol

from agent.conf import RackConfig
from agent.errors import PolicyRefusal

VIAS = ("auto", "outlet", "bmc")

Action = Literal["on", "off", "cycle"]
DEFAULT_PAUSE_S = 5.0
MAX_PAUSE_S = 300.0
_OUTLET = re.compile(r"^(?P<pdu>[^:\s]+):(?P<outlet>\d+)$")


class Power(Protocol):
    async def set_device_power(
        self, device: str, on: bool, via: str = "auto", *, remote: bool = True
    ) -> str: ...

    async def set_outlet_power(
        self, pdu: str, outlet: int, on: bool, *, remote: bool = True
    ) -> str: ...


def check_target(config: RackConfig, verb: str, target: str) -> tuple[str, int] | None:
    """``(pdu, outlet)`` for an outlet target, None for a device; refuses anything else."""
    match = _OUTLET.match(target)
    if match is not None and config.find_pdu(match.group("pdu")) is not None:
        return match.group("pdu"), int(match.group("outlet"))
    if target in config.device_ids():
        return None
    raise PolicyRefusal(
        f"{verb}: {target!r} is neither a device id nor PDU:OUTLET; "
        f"devices: {', '.join(config.device_ids())}"
    )


def check_pause(verb: str, pause_s: float | None) -> float:
    pause = DEFAULT_PAUSE_S if pause_s is None else float(pause_s)
    if not 0.0 <= pause <= MAX_PAUSE_S:
        raise PolicyRefusal(
            f"{verb}: pause of {pause:g} s: give 0 to {MAX_PAUSE_S:g} s "
            f"(default {DEFAULT_PAUSE_S:g})"
        )
    return pause


async def switch(
    power: Power,
    config: RackConfig,
    target: str,
    action: Action,
    *,
    via: str = "auto",
    remote: bool = True,
    pause_s: float | None = None,
) -> list[str]:
    """Do it; one summary line per switching. ``remote`` refuses protected outlets off."""
    verb = f"power.{action}"
    outlet = check_target(config, verb, target)
    if via not in VIAS:
        raise PolicyRefusal(f"{verb}: via {via!r}: use one of {', '.join(VIAS)}")
    pause = check_pause(verb, pause_s) if action == "cycle" else 0.0

    async def one(on: bool) -> str:
        if outlet is not None:
            return await power.set_outlet_power(outlet[0], outlet[1], on, remote=remote)
        return await power.set_device_power(target, on, via, remote=remote)

    if action == "on":
        return [await one(True)]
    lines = [await one(False)]
    if action == "cycle":
        await asyncio.sleep(pause)
        lines.append(await one(True))
    return lines
