"""A restart honours a journaled isolation hold before it touches the switches, finishes
a release journaled before the crash instead of re-holding, survives a network that does
not verify (safe_hold, not a dead agent), and a disconnect returns to the layout the
latest connection left."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.bus import Bus
from agent.conf import load_config
from agent.errors import PolicyRefusal, VerifyError
from agent.lifecycle.bridges import NetworkBridge
from agent.lifecycle.journal import Journal
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import State
from agent.lifecycle.steps.context import StepContext
from agent.network.plan import Layout
from agent.sim.testing import relocate
from agent.store import Store

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Report:
    verified: bool = True
    switches: tuple[Any, ...] = ()

    def problems(self) -> list[str]:
        return []


@dataclass
class FakeManager:
    """The NetworkManager's surface NetworkBridge uses, with its `held` semantics; it
    starts in quarantine and not held, as the real one does after a restart."""

    fail_verify: bool = False
    layout: Layout = field(default_factory=Layout)
    held: str | None = None
    calls: list[str] = field(default_factory=list)

    async def enter_phase(self, phase: Any, devices: Any = (), *, approvals: Any = ()) -> Report:
        if self.held is not None and phase != "quarantine":
            raise PolicyRefusal(f"held: {phase} refused")
        self.calls.append(f"enter {phase}")
        if self.fail_verify:
            self.layout = Layout("quarantine")
            raise VerifyError("sw-1", f"phase {phase!r} not verified")
        self.layout = self.layout.enter(phase, tuple(devices))
        return Report()

    async def isolate_now(self, reason: str = "", *, hold: bool = False) -> Report:
        if hold:
            self.held = reason
        self.calls.append("isolate_now" + (" hold" if hold else ""))
        self.layout = Layout("quarantine")
        return Report()

    def release(self) -> None:
        self.held = None


class Power:
    async def up(self) -> tuple[bool, str]:
        return True, "ok"

    async def down(self, reason: str) -> tuple[bool, str]:
        return True, reason


async def _ok() -> tuple[bool, str]:
    return True, "ok"


async def _start(
    tmp_path: Path, manager: FakeManager, *, held: bool
) -> tuple[Lifecycle, asyncio.Task[None], Store]:
    path, _ = relocate(ROOT / "config" / "demo-rack.toml", tmp_path)
    config = load_config(path)
    store = Store(tmp_path / "agent.db")
    await store.__aenter__()
    before = Journal(store, "boot-0")
    await before.write("transition", State.OPERATIONAL, "entered")
    # The rack was operational: the bridge journaled that layout.
    await before.write(
        "network", "operational", "entered", devices=[], layout=[["operational", []]]
    )
    if held:
        # `cleanroom net isolate` with no agent running (agent/cli/net.py): the hold is
        # journaled, no 'network' entry is.
        await before.write(
            "isolation", "held", "entered", reason="intruder", actor="local:root", since=1.0
        )
    journal = Journal(store, "boot-1")
    machine = Lifecycle(
        config,
        Bus(),
        journal,
        selftest=_ok,
        network=NetworkBridge(manager, journal),  # type: ignore[arg-type]
        power=Power(),
        steps=StepContext(config=config, state_dir=tmp_path),
    )

    async def never() -> Any:
        await asyncio.Event().wait()

    async def nothing_failed() -> dict[str, str]:
        return {}

    machine.verifier.watch = never  # type: ignore[method-assign]
    machine.verifier.probe = nothing_failed  # type: ignore[method-assign]
    return machine, asyncio.create_task(machine.run()), store


async def _stop(run: asyncio.Task[None], store: Store) -> None:
    run.cancel()
    await asyncio.wait({run}, timeout=5)
    await store.__aexit__(None, None, None)


async def test_restart_with_a_hold_never_replays_the_pre_isolation_layout(tmp_path: Path) -> None:
    manager = FakeManager()
    machine, run, store = await _start(tmp_path, manager, held=True)
    try:
        async with asyncio.timeout(5):
            await machine.wait_for(State.ISOLATED)
        # The operator's isolation must hold through the restart: the switches are never
        # put back in the operational layout before the hold is re-applied.
        assert "enter operational" not in manager.calls, manager.calls
    finally:
        await _stop(run, store)


async def test_a_switch_that_does_not_verify_at_restart_does_not_kill_the_lifecycle(
    tmp_path: Path,
) -> None:
    manager = FakeManager(fail_verify=True)
    _machine, run, store = await _start(tmp_path, manager, held=False)
    try:
        await asyncio.sleep(0.5)
        # A device that does not verify degrades that device, not the agent.
        assert not run.done(), run.exception()
    finally:
        await _stop(run, store)


async def test_a_release_journaled_before_a_crash_is_not_undone_at_restart(tmp_path: Path) -> None:
    """`release` journals the release, then posts RELEASE; a crash before the loop
    journals the transition to safe_hold leaves 'isolated' as the last state. The
    restart must not re-hold the rack on its own (actor 'lifecycle'), undoing the
    operator's two-person approved release."""
    path, _ = relocate(ROOT / "config" / "demo-rack.toml", tmp_path)
    config = load_config(path)
    manager = FakeManager()
    async with Store(tmp_path / "agent.db") as store:
        before = Journal(store, "boot-0")
        await before.write("transition", State.ISOLATED, "entered")
        await before.write(
            "isolation", "held", "entered", reason="intruder", actor="local:root", since=1.0
        )
        await before.write(
            "isolation", "released", "entered", reason="all clear", actor="remote:alice"
        )
        journal = Journal(store, "boot-1")
        machine = Lifecycle(
            config,
            Bus(),
            journal,
            selftest=_ok,
            network=NetworkBridge(manager, journal),  # type: ignore[arg-type]
            power=Power(),
            steps=StepContext(config=config, state_dir=tmp_path),
        )
        run = asyncio.create_task(machine.run())
        try:
            await asyncio.sleep(0.5)
            assert machine.hold is None, machine.hold
            assert manager.held is None
            row = await store.call(
                lambda c: c.execute(
                    "SELECT subject, data FROM journal WHERE kind = 'isolation' ORDER BY id DESC"
                ).fetchone()
            )
            assert row[0] == "released", dict(row)
        finally:
            run.cancel()
            await asyncio.wait({run}, timeout=5)


async def test_disconnect_returns_to_the_layout_before_the_latest_connect(tmp_path: Path) -> None:
    """connect -> emergency isolation (hold) -> release -> ... -> operational with another
    layout -> connect -> disconnect must restore the layout of the *latest* connect, not the
    one remembered from before the isolation."""
    async with Store(tmp_path / "agent.db") as store:
        manager = FakeManager()
        bridge = NetworkBridge(manager, Journal(store, "boot-1"))  # type: ignore[arg-type]
        devices = sorted(
            load_config(relocate(ROOT / "config" / "demo-rack.toml", tmp_path)[0]).device_ids()
        )
        manager.layout = Layout("operational").enter("drill", [devices[0]])  # first layout
        await bridge.connect(("bob", "carol"))
        await bridge.hold("intruder")  # emergency isolation from connected
        bridge.release()
        manager.layout = Layout("operational")  # the rack came back through arrival/restore
        await bridge.connect(("bob", "carol"))
        await bridge.disconnect()
        assert manager.layout == Layout("operational"), manager.layout
