"""Recovery across a restart, and the `hold` policy, on the lifecycle alone.

The rack is faked at its edges: the verifier says what is lost (its `watch`) and what
answers (its `probe`), power-up is counted and can be made to hang (the moment the agent
is killed), and the applications have no runbook steps of their own, so a recovery attempt
is power-up, an empty runbook and a probe. Each "agent" is a `Lifecycle` on the same store,
the first one cancelled mid-recovery as a crash would stop it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path

import msgspec

from agent.bus import Bus
from agent.conf import RackConfig, load_config
from agent.lifecycle.journal import Journal
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import State
from agent.lifecycle.steps.context import StepContext
from agent.lifecycle.steps.registry import build_executors
from agent.lifecycle.verify import Loss, Verifier
from agent.sim.testing import relocate
from agent.store import Store

ROOT = Path(__file__).resolve().parents[3]
OUTAGE_AGO_S = 600.0  # the outage began this long before the first agent noticed it


def _config(tmp_path: Path, **policy: object) -> RackConfig:
    """The demo rack with the applications' runbook steps removed (see the module doc)
    and ``policy`` applied to the application ``lab``."""
    config = load_config(relocate(ROOT / "config" / "demo-rack.toml", tmp_path)[0])
    runbook = msgspec.structs.replace(
        config.runbook, step=[s for s in config.runbook.step if not s.app]
    )
    apps = [
        msgspec.structs.replace(a, **policy) if a.id == "lab" else a for a in config.application
    ]
    return msgspec.structs.replace(config, runbook=runbook, application=apps)


class Rack:
    """Network and power that succeed; power-up is counted, and hangs if told to."""

    def __init__(self, *, hang: bool = False) -> None:
        self.hang = hang
        self.ups = 0
        self.powering = asyncio.Event()

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

    @property
    def connected(self) -> bool:
        return False  # these tests never join the hospital uplink

    async def connect(self, approvals: tuple[str, ...]) -> tuple[bool, str]:
        return False, "not in these tests"

    async def disconnect(self) -> tuple[bool, str]:
        return True, "the uplink is down"

    async def up(self) -> tuple[bool, str]:
        self.ups += 1
        self.powering.set()
        if self.hang:
            await asyncio.Event().wait()
        return True, "ok"

    async def down(self, reason: str) -> tuple[bool, str]:
        return True, reason


class FakeVerifier(Verifier):
    """`watch` returns ``loss`` once; `probe` finds every application answering, or with
    ``down_until`` lab down until that rack was powered up (by a recovery)."""

    def __init__(
        self, config: RackConfig, bus: Bus, loss: Loss | None, down_until: Rack | None = None
    ) -> None:
        steps = StepContext(config=config, state_dir=Path(config.source).parent)
        super().__init__(config, build_executors(steps), bus)
        self.loss = loss
        self.down_until = down_until

    async def watch(self) -> Loss:
        if self.loss is None:
            await asyncio.Event().wait()  # nothing is ever lost
        assert self.loss is not None
        loss, self.loss = self.loss, None
        return loss

    async def probe(self) -> dict[str, str]:
        if self.down_until is not None and not self.down_until.ups:
            return {"lab": "wait-lab (wait_tcp) does not answer"}
        return {}


async def _selftest() -> tuple[bool, str]:
    raise AssertionError("a resumed agent does not run the self-test")


def _machine(
    config: RackConfig, store: Store, bus: Bus, boot: str, rack: Rack, loss: Loss | None
) -> Lifecycle:
    machine = Lifecycle(
        config,
        bus,
        Journal(store, boot, bus=bus),
        selftest=_selftest,
        network=rack,
        power=rack,
        steps=StepContext(config=config, state_dir=Path(config.source).parent),
    )
    machine.verifier = FakeVerifier(config, bus, loss)
    return machine


async def _seed_operational(store: Store) -> None:
    """A journal that left the rack operational (a restart re-verifies, then watches)."""
    journal = Journal(store, "boot-0")
    await journal.write("transition", State.OPERATIONAL, "entered", reason="seeded")


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done, "the lifecycle did not stop"
    assert task.cancelled()


async def test_the_downtime_of_a_recovery_counts_from_the_outage_across_a_restart(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    since = time.time() - OUTAGE_AGO_S
    async with Store(tmp_path / "agent.db") as store:
        await _seed_operational(store)
        # The first agent notices the outage, enters recovering and dies powering up.
        bus = Bus()
        rack = Rack(hang=True)
        lost = Loss(["lab"], since, {"lab": "wait-lab (wait_tcp) does not answer"})
        first = _machine(config, store, bus, "boot-1", rack, lost)
        run = asyncio.create_task(first.run())
        async with asyncio.timeout(10):
            await rack.powering.wait()
        assert first.state is State.RECOVERING
        await _stop(run)
        # The second agent resumes the recovery and reports the outage as it was (lab
        # still down until it powers the rack, as the reset left it).
        bus = Bus()
        events = bus.subscribe()
        rack = Rack()
        second = _machine(config, store, bus, "boot-2", rack, None)
        second.verifier = FakeVerifier(config, bus, None, down_until=rack)
        run = asyncio.create_task(second.run())
        async with asyncio.timeout(10):
            await second.wait_for(State.OPERATIONAL)
        await _stop(run)
    done = []
    while (event := events.get_nowait()) is not None:
        if event.kind == "recovery.done":
            done.append(event)
    assert len(done) == 1, "the resumed recovery reports the outage"
    assert done[0].data["outage_started"] == since
    (lab,) = done[0].data["apps"]
    assert lab["app"] == "lab"
    assert lab["downtime_s"] >= OUTAGE_AGO_S, "downtime measured from the restart"


async def test_an_outage_found_at_a_restart_keeps_its_start_across_another(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)

    async with Store(tmp_path / "agent.db") as store:
        await _seed_operational(store)
        # Restarted in operational, the first agent finds lab down and dies recovering it.
        rack = Rack(hang=True)
        first = _machine(config, store, Bus(), "boot-1", rack, None)
        first.verifier = FakeVerifier(config, first.bus, None, down_until=Rack())
        run = asyncio.create_task(first.run())
        async with asyncio.timeout(10):
            await rack.powering.wait()
        assert first.loss is not None
        found = first.loss.since
        await _stop(run)
        await asyncio.sleep(0.2)  # the second restart comes later
        bus = Bus()
        events = bus.subscribe()
        rack = Rack()
        second = _machine(config, store, bus, "boot-2", rack, None)
        second.verifier = FakeVerifier(config, bus, None, down_until=rack)  # still down
        run = asyncio.create_task(second.run())
        async with asyncio.timeout(10):
            await second.wait_for(State.OPERATIONAL)
        await _stop(run)
    done = [e for e in iter(events.get_nowait, None) if e.kind == "recovery.done"]
    assert [d.data["outage_started"] for d in done] == [found]


async def test_the_hold_policy_goes_to_safe_hold_naming_the_application(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, recovery="hold")
    async with Store(tmp_path / "agent.db") as store:
        await _seed_operational(store)
        rack = Rack()
        lost = Loss(["lab"], time.time(), {"lab": "wait-lab (wait_tcp) does not answer"})
        machine = _machine(config, store, Bus(), "boot-1", rack, lost)
        run = asyncio.create_task(machine.run())
        async with asyncio.timeout(10):
            await machine.wait_for(State.SAFE_HOLD)
        await _stop(run)
        rows = await store.call(
            lambda c: c.execute(
                "SELECT kind, subject, phase, data FROM journal WHERE boot_id = 'boot-1' "
                "ORDER BY id"
            ).fetchall()
        )
    entries = [(k, s, p, json.loads(d)) for k, s, p, d in rows]
    held: Mapping[str, object] = entries[-1][3]
    assert entries[-1][:3] == ("transition", "safe_hold", "entered")
    assert "lab" in str(held["reason"])
    assert "hold" in str(held["reason"])
    assert [s for k, s, p, _d in entries if k == "transition" and p == "entered"] == [
        "recovering",  # re-verified at the restart: every application answered
        "operational",
        "recovering",  # lab lost
        "safe_hold",
    ]
    assert rack.ups == 0, "a held application's recovery powered the rack"
    assert not [e for e in entries if e[0] in ("run", "step")], "a recovery step ran"
