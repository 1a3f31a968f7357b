"""The board's fleet model and restore timeline, from wire payloads (pure logic)."""

from __future__ import annotations

import msgspec

from agent.board.layout import RackLayout, Step, vlan_role
from agent.board.model import FleetModel
from agent.report.payloads import Alarm, Status, StreamEvent

BASE = "cleanroom/v1/chu/r1"


def _event(seq: int, event_kind: str, ts: float, **data: object) -> bytes:
    return msgspec.json.encode(
        StreamEvent(
            boot_id="b", seq=seq, ts=ts, kind=event_kind, source="t", category="event", data=data
        )
    )


def _status(online: bool, alarms: list[Alarm]) -> bytes:
    return msgspec.json.encode(
        Status(
            rack="r1",
            site="chu",
            online=online,
            boot_id="b",
            as_of_seq=0,
            ts=5.0,
            state="restore",
            alarms=alarms,
        )
    )


def test_alarms_from_status_and_events_share_names_and_rank_the_rack() -> None:
    model = FleetModel("cleanroom/v1", clock=lambda: 100.0)
    alarm = Alarm(device="hv-1", name="temperature/temperature/Inlet", severity="critical")
    assert model.update(f"{BASE}/status", _status(True, [alarm])) == ("chu", "r1")
    model.update("cleanroom/v1/chu/r2/status", _status(True, []))
    assert [r["rack"] for r in model.fleet()] == ["r1", "r2"]  # the alarmed rack first
    cleared = _event(
        1, "alarm.cleared", 101.0, device="hv-1", kind="temperature", sensor="temperature/Inlet"
    )
    model.update(f"{BASE}/events", cleared)
    assert model.row(("chu", "r1"))["alarms"] == {}
    assert model.rows.racks[("chu", "r1")].alarms == []  # watch's Board agrees
    model.update(f"{BASE}/status", _status(False, []))
    assert [r["rack"] for r in model.fleet()] == ["r1", "r2"]  # offline is on top
    assert model.update(f"{BASE}/events", b"not json") is None
    assert model.ignored == 1


def test_timeline_critical_path_and_targets() -> None:
    layout = RackLayout(
        "chu",
        "r1",
        "rack",
        apps={"lab": ("Lab", 10.0)},
        steps={
            "net": Step("net", "", "net", ()),
            "verify": Step("verify", "lab", "verify", ()),
            "restore": Step("restore", "lab", "restore", ("net", "verify")),
        },
    )
    model = FleetModel("cleanroom/v1", {("chu", "r1"): layout})
    model.update(
        f"{BASE}/events",
        _event(1, "lifecycle.transition", 0.0, previous="power_up", state="restore"),
    )
    for seq, (step, phase, ts) in enumerate(
        [
            ("net", "start", 0.0),
            ("verify", "start", 0.0),
            ("verify", "done", 1.0),
            ("net", "done", 3.0),
            ("restore", "start", 3.0),
            ("restore", "done", 12.0),
        ],
        start=2,
    ):
        model.update(
            f"{BASE}/events",
            _event(
                seq, "runbook.step", ts, step=step, phase=phase, app="lab" if step != "net" else ""
            ),
        )
    picture = model.picture(("chu", "r1"))
    assert picture is not None
    timeline = picture["timeline"]
    assert timeline["critical"] == ["net", "restore"]
    (lab,) = timeline["apps"]
    assert (lab["achieved_s"], lab["target_s"], lab["met"]) == (12.0, 10.0, False)


def test_port_roles_follow_the_network_phase() -> None:
    assert vlan_role("server", "quarantine") == "quarantine"
    assert vlan_role("server", "operational") == "clean"
    assert vlan_role("drill", "operational") == "quarantine"
    assert vlan_role("drill", "drill") == "drill"
    assert vlan_role("uplink", "connected") == "uplink"


def test_the_will_keeps_the_last_state_and_dates_itself_from_receipt() -> None:
    now = [100.0]
    model = FleetModel("cleanroom/v1", clock=lambda: now[0])
    model.update(f"{BASE}/status", _status(True, []))
    will = Status(
        rack="r1", site="chu", online=False, boot_id="b", as_of_seq=None, ts=None,
        session_at=4.0, state=None, outbox=None,
    )  # fmt: skip
    now[0] = 250.0
    model.update(f"{BASE}/status", msgspec.json.encode(will))
    row = model.row(("chu", "r1"))
    # Offline since the will was heard (it carries no time), still in its last state.
    assert (row["online"], row["since"], row["state"]) == (False, 250.0, "restore")
    assert model.rows.racks[("chu", "r1")].last_seen == 250.0


def test_command_forms_are_the_verb_registry() -> None:
    from agent.board.verbs import forms  # noqa: PLC0415
    from agent.verbs import REGISTRY  # noqa: PLC0415

    by_verb = {f["verb"]: f for f in forms()}
    assert set(by_verb) == set(REGISTRY)
    for name, verb in REGISTRY.items():
        form = by_verb[name]
        assert (form["role"], form["dangerous"]) == (verb.role, verb.two_person)
        args = {a.name for a in verb.args} - {"force"}
        assert set(form["schema"]["properties"]) == args, name
        assert set(form["schema"]["required"]) <= args
    assert "force" not in by_verb["power.off"]["schema"]["properties"]  # console only
    assert "network.disconnect" in by_verb
