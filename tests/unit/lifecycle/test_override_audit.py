"""A firmware override is in force only together with its audit entry: both are durable
when the handler returns (one transaction, as journal entries are), so a power cut right
after it cannot leave the override used with no audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.bus import Bus
from agent.conf import load_config
from agent.console import LocalCommand
from agent.lifecycle import verbs
from agent.lifecycle.journal import Journal
from agent.record import Record
from agent.report.topics import Topics
from agent.sim.testing import relocate
from agent.store import Store

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Machine:
    bus: Bus
    journal: Journal


async def test_firmware_override_is_audited_in_the_transaction_that_stores_it(
    tmp_path: Path,
) -> None:
    path, _ = relocate(ROOT / "config" / "demo-rack.toml", tmp_path)
    config = load_config(path)
    device = config.device_ids()[0]
    async with Store(tmp_path / "agent.db") as store:
        bus = Bus()
        async with Record(store, bus, "boot-1", Topics("cleanroom/v1", "s", "r")) as record:
            machine = Machine(bus, Journal(store, "boot-1", record=record, bus=bus))
            handler = verbs._records(machine, config, store, None)["firmware.override"]  # type: ignore[arg-type]
            await handler(
                LocalCommand(
                    "firmware.override",
                    {"device": device, "version": "9.9", "reason": "x"},
                    key_id="local:root",
                )
            )
            # "Power is cut now": what is durable is what the store holds at this instant.
            stored, audited = await store.call(
                lambda c: (
                    c.execute(
                        "SELECT count(*) FROM meta WHERE key LIKE 'firmware.override%'"
                    ).fetchone()[0],
                    c.execute(
                        "SELECT count(*) FROM audit WHERE action = 'firmware.override'"
                    ).fetchone()[0],
                )
            )
            assert stored == 1
            assert audited == 1, "the override is in force with no audit entry"
