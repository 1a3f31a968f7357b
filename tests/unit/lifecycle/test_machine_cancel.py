"""The lifecycle's run loop never swallows its own cancellation.

When an event from outside wins, the loop cancels the running entry action and waits for
it to end. An entry action may take a moment to stop (it cleans up); if the agent stops
the lifecycle during that moment, the loop must end, not carry on into the next state
with the stop request lost (the bug class `agent/cancel.py` exists for)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agent.bus import Bus
from agent.conf import load_config
from agent.lifecycle.journal import Journal
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import Event, State
from agent.lifecycle.steps.context import StepContext
from agent.sim.testing import relocate
from agent.store import Store

ROOT = Path(__file__).resolve().parents[3]


class SlowToStop:
    """A self-test that runs until cancelled, then cleans up for a while."""

    def __init__(self) -> None:
        self.cleaning = asyncio.Event()

    async def __call__(self) -> tuple[bool, str]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cleaning.set()
            await asyncio.sleep(0.5)
            raise
        return True, "unreachable"


class Quiet:
    """Network and power that succeed at once (the test never gets that far)."""

    async def isolate(self) -> tuple[bool, str]:
        return True, "ok"

    async def resume(self) -> None:
        return None

    async def emergency(self, reason: str) -> str:
        return reason

    async def hold(self, reason: str) -> tuple[bool, str]:
        return True, reason

    def release(self) -> None:
        return None

    connected = False

    async def connect(self, approvals: tuple[str, ...]) -> tuple[bool, str]:
        return True, "ok"

    async def disconnect(self) -> tuple[bool, str]:
        return True, "ok"

    async def up(self) -> tuple[bool, str]:
        return True, "ok"

    async def down(self, reason: str) -> tuple[bool, str]:
        return True, reason


async def test_a_stop_while_the_entry_action_cleans_up_ends_the_loop(tmp_path: Path) -> None:
    path, _ = relocate(ROOT / "config" / "demo-rack.toml", tmp_path)
    config = load_config(path)
    selftest = SlowToStop()
    async with Store(tmp_path / "agent.db") as store:
        machine = Lifecycle(
            config,
            Bus(),
            Journal(store, "boot-1"),
            selftest=selftest,
            network=Quiet(),
            power=Quiet(),
            steps=StepContext(config=config, state_dir=tmp_path),
        )
        run = asyncio.create_task(machine.run(), name="lifecycle")
        async with asyncio.timeout(10):
            await machine.wait_for(State.SELFTEST)
        assert machine.post(Event.OPERATOR_ABORT, actor="test") is None
        async with asyncio.timeout(10):
            await selftest.cleaning.wait()  # the loop now awaits the cancelled self-test
        run.cancel()
        done, _ = await asyncio.wait({run}, timeout=5)
        if not done:  # the bug: the loop went on into safe hold, its stop lost
            run.cancel()
            await asyncio.wait({run}, timeout=5)
        assert done, f"the run loop swallowed its cancellation (state {machine.state})"
        assert run.cancelled()
