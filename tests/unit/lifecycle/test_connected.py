"""The connected state: entered by an approved network.connect from operational only,
left by network.disconnect back to operational with the uplink down, and by emergency
isolation to isolated; a restart never claims it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.bus import Bus, Subscription
from agent.conf import load_config
from agent.errors import PolicyRefusal
from agent.lifecycle.journal import Journal
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import State
from agent.lifecycle.steps.context import StepContext
from agent.lifecycle.verify import Loss
from agent.sim.testing import relocate
from agent.store import Store

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Uplink:
    """Network and power that succeed at once, and remember what the uplink is."""

    connected: bool = False
    calls: list[str] = field(default_factory=list)

    async def isolate(self) -> tuple[bool, str]:
        return True, "ok"

    async def resume(self) -> None:
        self.calls.append("resume")

    async def emergency(self, reason: str) -> str:
        self.connected = False
        return reason

    async def hold(self, reason: str) -> tuple[bool, str]:
        self.calls.append("hold")
        self.connected = False
        return True, reason

    def release(self) -> None:
        return None

    async def connect(self, approvals: tuple[str, ...]) -> tuple[bool, str]:
        self.calls.append(f"connect {','.join(approvals)}")
        self.connected = True
        return True, "hospital uplink up"

    async def disconnect(self) -> tuple[bool, str]:
        self.calls.append("disconnect")
        self.connected = False
        return True, "hospital uplink down"

    async def up(self) -> tuple[bool, str]:
        return True, "ok"

    async def down(self, reason: str) -> tuple[bool, str]:
        return True, reason


def uplink(net: Uplink) -> bool:
    return net.connected  # read each time (an attribute assert would narrow it for mypy)


async def _never_lost() -> Loss:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def _all_answer() -> dict[str, str]:
    return {}


@dataclass
class Rig:
    machine: Lifecycle
    net: Uplink
    store: Store
    transitions: Subscription

    async def entered(self, state: State) -> None:
        """Until the loop has entered ``state`` (a resumed state is not entered)."""
        async with asyncio.timeout(10):
            async for event in self.transitions:
                if event.kind == "lifecycle.transition" and event.data["state"] == state:
                    return


async def _rig(tmp_path: Path, resumed: State) -> AsyncIterator[Rig]:
    path, _ = relocate(ROOT / "config" / "demo-rack.toml", tmp_path)
    config = load_config(path)
    net = Uplink()
    async with Store(tmp_path / "agent.db") as store:
        journal = Journal(store, "boot-0")
        await journal.write("transition", resumed, "entered")
        bus = Bus()
        machine = Lifecycle(
            config, bus, Journal(store, "boot-1"), selftest=_all_answer,  # type: ignore[arg-type]
            network=net, power=net, steps=StepContext(config=config, state_dir=tmp_path),
        )  # fmt: skip
        # Every application answers, and keeps answering: operational stays put.
        machine.verifier.watch = _never_lost  # type: ignore[method-assign]
        machine.verifier.probe = _all_answer  # type: ignore[method-assign]
        transitions = bus.subscribe()
        run = asyncio.create_task(machine.run())
        try:
            yield Rig(machine, net, store, transitions)
        finally:
            run.cancel()
            await asyncio.wait({run}, timeout=5)


@pytest.fixture
async def operational(tmp_path: Path) -> AsyncIterator[Rig]:
    async for rig in _rig(tmp_path, State.OPERATIONAL):
        await rig.entered(State.OPERATIONAL)  # a restart re-verifies before saying so
        yield rig


async def test_connect_then_disconnect_back_to_operational(operational: Rig) -> None:
    machine, net = operational.machine, operational.net
    verified, _ = await machine.connect(actor="remote:bob", reason="r", approvals=("bob", "carol"))
    assert verified
    async with asyncio.timeout(5):
        await machine.wait_for(State.CONNECTED)
    assert uplink(net)
    # Connecting again is refused, and switches nothing.
    with pytest.raises(PolicyRefusal, match="joined from operational only"):
        await machine.connect(actor="remote:bob", reason="r", approvals=("bob", "carol"))
    assert net.calls.count("connect bob,carol") == 1
    await machine.disconnect(actor="remote:alice", reason="done")
    async with asyncio.timeout(5):
        await machine.wait_for(State.OPERATIONAL)
    assert not uplink(net)
    with pytest.raises(PolicyRefusal, match="not connected to the hospital uplink"):
        await machine.disconnect(actor="remote:alice", reason="again")
    assert net.calls.count("disconnect") == 1
    rows = await operational.store.call(
        lambda c: [tuple(r) for r in c.execute(
            "SELECT subject FROM journal WHERE kind = 'transition' ORDER BY id")]
    )  # fmt: skip
    assert [r[0] for r in rows][-2:] == ["connected", "operational"]


async def test_emergency_isolation_from_connected_goes_to_isolated(operational: Rig) -> None:
    machine, net = operational.machine, operational.net
    await machine.connect(actor="remote:bob", reason="r", approvals=("bob", "carol"))
    async with asyncio.timeout(5):
        await machine.wait_for(State.CONNECTED)
    await machine.isolate(actor="local:root", reason="suspicious traffic")
    async with asyncio.timeout(5):
        await machine.wait_for(State.ISOLATED)
    assert not uplink(net)
    assert "hold" in net.calls


async def test_connect_is_refused_outside_operational(tmp_path: Path) -> None:
    async for rig in _rig(tmp_path, State.SAFE_HOLD):
        async with asyncio.timeout(5):
            await rig.machine.wait_for(State.SAFE_HOLD)
        with pytest.raises(PolicyRefusal, match="connect refused in safe_hold"):
            await rig.machine.connect(actor="remote:bob", reason="r", approvals=("bob", "c"))
        assert not any(c.startswith("connect") for c in rig.net.calls)
        assert rig.machine.state is State.SAFE_HOLD


async def test_a_restart_in_connected_does_not_claim_it(tmp_path: Path) -> None:
    async for rig in _rig(tmp_path, State.CONNECTED):
        await rig.entered(State.RECOVERING)
        await rig.entered(State.OPERATIONAL)
        assert not uplink(rig.net)
        assert not any(c.startswith("connect") for c in rig.net.calls)
