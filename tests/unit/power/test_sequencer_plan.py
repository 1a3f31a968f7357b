"""The sequencer's pure parts: which devices it powers, in which groups and order, and
how a run's outcome is summarised for the operator, the lifecycle and MQTT."""

from __future__ import annotations

from pathlib import Path

from agent.conf import load_config, parse_config
from agent.power.sequencer import (
    DEFAULT_INRUSH_S,
    DeviceResult,
    GroupResult,
    PowerReport,
    group_of,
    groups_of,
    members_of,
)

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"


def test_demo_groups_and_members() -> None:
    config = load_config(DEMO)
    assert [g.name for g in groups_of(config)] == ["network", "storage", "hypervisors"]
    members = members_of(config)
    assert members["tor-1"].kind == "switch"
    assert members["tor-1"].bmc is None
    assert [(r.pdu, r.outlet) for r in members["hv-2"].outlets] == [("pdu-a", 4), ("pdu-b", 4)]
    assert members["hv-2"].bmc is not None
    group = group_of(config, "bkp-1")
    assert group is not None
    assert group.name == "hypervisors"
    assert group_of(config, "ups-1") is None


def test_without_power_groups_switches_come_first_then_servers() -> None:
    text = DEMO.read_text()
    cut = text.index("[[power_group]]")
    rest = text[text.index("[health]") :]
    config = parse_config(text[:cut] + rest, path=DEMO)
    (only,) = groups_of(config)
    assert only.name == "all"
    assert only.members == ["tor-1", "stor-1", "hv-1", "hv-2", "hv-3", "bkp-1"]
    assert float(only.inrush_delay) == DEFAULT_INRUSH_S


def test_report_outcomes_errors_warnings_and_summary() -> None:
    up = DeviceResult("hv-1", "hypervisors", powered=True)
    up.note("outlet pdu-a:3 on")
    up.warn("outlet pdu-b:3: no answer; running on its other feed(s)")
    failed = DeviceResult("hv-2", "hypervisors")
    kept = DeviceResult("tor-1", "network", powered=True, kept_on=True)
    report = PowerReport(
        "up", "test", [GroupResult("hypervisors", [up]), GroupResult("network", [kept])]
    )
    report.close()
    assert (report.ok, report.degraded) == (True, True)
    assert report.summary().startswith("power up ok in ")
    assert report.summary().endswith(": 1 kept_on, 1 on, 1 warning(s)")
    report.groups[0].devices.append(failed)
    failed.fail("outlet pdu-a:4: still reads off")
    assert (report.ok, report.degraded) == (False, False)
    assert report.errors() == ["hv-2: outlet pdu-a:4: still reads off"]
    assert report.warnings() == ["hv-1: outlet pdu-b:3: no answer; running on its other feed(s)"]
    data = report.to_dict()
    assert data["ok"] is False
    assert [d["outcome"] for d in data["groups"][0]["devices"]] == ["on", "failed"]
    report.refusal = "power budget: ..."
    assert report.errors()[0] == "power budget: ..."
    assert " refused in " in report.summary()
