"""The verb registry is the one list: every published verb has a handler, roles, the
console and docs/asyncapi.yaml derive from it, and the verbs it once lacked work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.bus import Bus
from agent.conf import RackConfig, load_config
from agent.errors import PolicyRefusal
from agent.health import overrides
from agent.health.watch import HealthWatch
from agent.lifecycle import verbs as handlers_of
from agent.lifecycle.journal import Journal
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.steps.context import StepContext
from agent.record import Record
from agent.report import protocol_doc
from agent.report.apidoc import DOCS, asyncapi, main
from agent.report.reporter import Reporter
from agent.report.roles import DANGEROUS_VERBS, ROLE_VERBS
from agent.report.topics import Topics
from agent.sim.testing import relocate
from agent.store import Store
from agent.verbs import READ_VERBS, REGISTRY, VERBS, Verb, check_args, check_registry

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cmd:
    verb: str
    args: dict[str, Any] = field(default_factory=dict)
    key_id: str = "local:alice"
    approved_by: tuple[str, ...] = ()


class Unused:
    """Power and network for a test that never switches anything."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this test should not reach the devices ({name})")

    async def __call__(self) -> tuple[bool, str]:
        raise AssertionError("this test should not run a self-test")


@dataclass
class Rig:
    config: RackConfig
    bus: Bus
    store: Store
    record: Record
    health: HealthWatch
    handlers: dict[str, handlers_of.Handler]

    async def call(self, verb: str, **args: Any) -> Any:
        return await self.handlers[verb](Cmd(verb, args))


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    path, _ = relocate(ROOT / "config" / "demo-rack.toml", tmp_path)
    config = load_config(path)
    bus = Bus()
    async with Store(tmp_path / "agent.db") as store:
        topics = Topics(config.mqtt.prefix, config.rack.site, config.rack.id)
        async with Record(store, bus, "boot-1", topics) as record:
            machine = Lifecycle(
                config,
                bus,
                Journal(store, "boot-1"),
                selftest=Unused(),
                network=Unused(),
                power=Unused(),
                steps=StepContext(config=config, state_dir=tmp_path),
            )
            health = HealthWatch(config, bus)
            handlers = handlers_of.build(
                machine, Unused(), Unused(), config=config, store=store, health=health
            )
            yield Rig(config, bus, store, record, health, handlers)


async def test_every_registered_verb_has_exactly_one_handler(rig: Rig) -> None:
    local = set(rig.handlers)
    builtin = set(Reporter.BUILTIN)
    assert not local & builtin
    assert local | builtin == set(REGISTRY), "a verb is published with no handler"


def test_roles_and_the_published_contract_come_from_the_registry() -> None:
    named = set().union(*(v for v in ROLE_VERBS.values() if v is not None))
    assert named <= set(REGISTRY)
    assert {v.name for v in REGISTRY.values() if v.two_person} == DANGEROUS_VERBS
    # docs/asyncapi.yaml is exactly what asyncapi() generates (test_report_apidoc).
    assert main(["--check", str(DOCS)]) == 0
    assert set(asyncapi()["channels"]["command"]["x-verbs"]) == set(REGISTRY)


def test_the_protocol_verb_table_gives_each_verb_its_summary_and_arguments() -> None:
    table = protocol_doc.verb_table()
    rows = {line.split(" | ")[0].strip("| `"): line for line in table.splitlines()[2:]}
    assert set(rows) == set(REGISTRY)
    skip = rows["runbook.skip"]
    assert "skip a step waiting for a decision" in skip
    assert "`step` (string, required): a runbook step id" in skip
    assert "`reason` (string, required)" in skip
    assert rows["power.down"].endswith("| admin | yes | action | yes |")
    assert rows["status.get"].endswith("| none | observer | no | read | no |")
    assert rows["network.disconnect"].endswith("| operator | no | action | yes |")


def test_reads_are_named_in_the_registry_and_change_nothing() -> None:
    assert {
        "status.get", "outbox.stats", "alarms.get", "health.snapshot", "audit.head",
        "runbook.status", "network.status",
    } == READ_VERBS  # fmt: skip
    assert not any(REGISTRY[v].two_person for v in READ_VERBS)
    # A registry that called a two-person verb a read is refused when the module loads.
    bad = Verb("power.down", "x", "admin", two_person=True, read=True)
    with pytest.raises(AssertionError, match=r"power\.down is a read"):
        check_registry((*VERBS, bad))


def test_arguments_are_checked_against_the_registry() -> None:
    check_args("power.cycle", {"target": "hv-1", "pause_s": 2})
    with pytest.raises(PolicyRefusal, match=r"power.cycle: argument 'target': give"):
        check_args("power.cycle", {})
    with pytest.raises(PolicyRefusal, match=r"no argument 'pause'; it takes target"):
        check_args("power.cycle", {"target": "hv-1", "pause": 2})
    with pytest.raises(PolicyRefusal, match=r"'pause_s' = 'x': must be a number"):
        check_args("power.cycle", {"target": "hv-1", "pause_s": "x"})


async def test_the_five_verbs_that_had_no_handler_work(rig: Rig) -> None:
    assert await rig.call("alarms.get") == {"level": "none", "alarms": []}
    rig.health.alarms.raise_alarm(
        "pdu-a/temp",
        device="pdu-a",
        sensor="temp",
        kind="temperature",
        value=51.0,
        severity="warning",
        action="none",
        message="pdu-a temperature 51 C",
    )
    with pytest.raises(PolicyRefusal, match="not active; active alarms: pdu-a/temp"):
        await rig.call("alarm.ack", alarm="nope")
    assert (await rig.call("alarm.ack", alarm="pdu-a/temp", reason="seen"))[
        "acknowledged_by"
    ] == "local:alice"
    (alarm,) = (await rig.call("alarms.get"))["alarms"]
    assert alarm["acknowledged_by"] == "local:alice"

    with pytest.raises(PolicyRefusal, match="no device 'nope'"):
        await rig.call("firmware.override", device="nope", version="1", reason="r")
    await rig.call("firmware.override", device="pdu-a", version="6.9.9", reason="vendor hotfix")
    assert await overrides.load(rig.store) == {"pdu-a": "6.9.9"}

    # runbook.start asks the lifecycle to go again from safe hold; in arrival it refuses.
    with pytest.raises(PolicyRefusal, match="retry is for safe hold"):
        await rig.call("runbook.start")

    await rig.record.flush()
    head = await rig.call("audit.head")
    assert head["entries"] == 3  # the acknowledgement, the override, the refusal
    rows = await rig.store.call(
        lambda c: [tuple(r) for r in c.execute("SELECT action, actor FROM audit ORDER BY id")]
    )
    assert rows == [
        ("alarm.acknowledged", "local:alice"),
        ("firmware.override", "local:alice"),
        ("lifecycle.refused", "local:alice"),
    ]
    assert len(head["hash"]) == 64
