"""What step executors may use: the config, where state lives, and the controls the
lifecycle hands them (power, network, operator prompts), as small protocols so the
executors never import the parts that implement them."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agent.conf.schema import RackConfig


class PowerControl(Protocol):
    async def set_device_power(self, device: str, on: bool, via: str) -> str: ...

    async def device_power(self, device: str) -> bool | None: ...


class NetworkControl(Protocol):
    async def enter_phase(self, phase: str, devices: list[str]) -> str: ...

    async def in_phase(self, phase: str, devices: list[str]) -> bool: ...


@dataclass
class Prompts:
    """Operator prompts waiting for an acknowledgement (local console or signed command)."""

    pending: dict[str, str] = field(default_factory=dict)
    _events: dict[str, asyncio.Event] = field(default_factory=dict)
    acked: dict[str, str] = field(default_factory=dict)  # step id -> who acknowledged

    def ask(self, step_id: str, message: str) -> asyncio.Event:
        self.pending[step_id] = message
        return self._events.setdefault(step_id, asyncio.Event())

    def acknowledge(self, step_id: str, actor: str) -> bool:
        if step_id not in self.pending:
            return False
        self.acked[step_id] = actor
        self.pending.pop(step_id)
        self._events.setdefault(step_id, asyncio.Event()).set()
        return True


@dataclass
class StepContext:
    config: RackConfig
    state_dir: Path
    power: PowerControl | None = None
    network: NetworkControl | None = None
    prompts: Prompts = field(default_factory=Prompts)
    python: str = sys.executable
    # True while the lifecycle runs a drill: network moves go to the drill VLAN only.
    drill: bool = False

    def expand(self, arg: str, **extra: str) -> str:
        """Fill the placeholders a runbook may use in argv: {python}, {state_dir},
        {config_dir}, and per kind ones such as {image}."""
        values = {
            "python": self.python,
            "state_dir": str(self.state_dir),
            "config_dir": str(Path(self.config.source).parent) if self.config.source else ".",
            **extra,
        }
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        return arg
