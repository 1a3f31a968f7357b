"""The Q-BRIDGE write order per vendor profile, on a dirty factory switch: stages in
the profile's order, each write computed against the state before it, unmanaged ports'
bits kept, and the profile chosen by the longest sysObjectID prefix."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from agent.conf import load_config
from agent.devices.switch.driver import make_diff
from agent.devices.switch.model import ActualSwitch
from agent.devices.switch.qbridge_quirks import (
    GENERIC,
    MEMBERSHIP_FIRST,
    QBridgeProfile,
    profile_for,
)
from agent.devices.switch.qbridge_stages import (
    Pdu,
    StageWrites,
    Write,
    lower_bound,
    pack,
    plan_writes,
)
from agent.network.plan import Layout, plan

ROOT = Path(__file__).resolve().parents[3]
DEMO = load_config(ROOT / "config" / "demo-rack.toml")
ALL = frozenset(range(1, 29))  # the switch has 28 ports; the config manages 24


def factory() -> ActualSwitch:
    return ActualSwitch(
        switch="tor-1",
        vlans=frozenset({1}),
        egress=MappingProxyType({1: ALL}),
        untagged=MappingProxyType({1: ALL}),
        pvid=MappingProxyType(dict.fromkeys(ALL, 1)),
        admin_up=MappingProxyType(dict.fromkeys(ALL, True)),
    )


def replay(start: ActualSwitch, stages: list[StageWrites] | list[Pdu]) -> ActualSwitch:
    """Apply the writes as an RFC 4363 agent would, refusing what it refuses: each PDU
    is checked against the state before it (RFC 3416 4.2.5), then applied."""
    egress = {v: set(p) for v, p in start.egress.items()}
    untagged = {v: set(p) for v, p in start.untagged.items()}
    pvid, admin = dict(start.pvid), dict(start.admin_up)
    for stage in stages:
        seen_before = {v: set(p) for v, p in egress.items()}
        for w in stage.writes:
            if w.kind == "pvid":
                assert w.value in seen_before, f"PVID {w.value} names a VLAN not yet created"
            if w.kind == "untagged":
                assert isinstance(w.value, frozenset)
                assert w.value <= seen_before.get(w.key, set()), "untagged outside egress"
        for w in stage.writes:
            if w.kind == "create":
                egress[w.key], untagged[w.key] = set(), set()
            elif w.kind == "pvid":
                assert w.value in egress, f"PVID {w.value} names a VLAN not yet created"
                pvid[w.key] = int(w.value)
            elif w.kind == "admin":
                admin[w.key] = bool(w.value)
            else:
                assert isinstance(w.value, frozenset)
                if w.kind == "untagged":
                    assert w.value <= egress[w.key], "untagged outside egress"
                    untagged[w.key] = set(w.value)
                else:
                    egress[w.key] = set(w.value)
                    untagged[w.key] &= set(w.value)
    return ActualSwitch(
        "tor-1",
        frozenset(egress),
        MappingProxyType({v: frozenset(p) for v, p in egress.items()}),
        MappingProxyType({v: frozenset(p) for v, p in untagged.items()}),
        MappingProxyType(pvid),
        MappingProxyType(admin),
    )


@pytest.mark.parametrize("profile", [GENERIC, MEMBERSHIP_FIRST], ids=lambda p: p.name)
@pytest.mark.parametrize("phase", ["quarantine", "restore", "drill"])
def test_writes_reach_the_plan_and_keep_unmanaged_ports(
    profile: QBridgeProfile, phase: str
) -> None:
    want = plan(DEMO, Layout(phase))["tor-1"]  # type: ignore[arg-type]
    stages = plan_writes(make_diff(want, factory()), profile)
    order = [s.stage for s in stages]
    assert order == [s for s in profile.order if s in order]
    assert order[0] == "shut"
    after = replay(factory(), stages)
    assert make_diff(want, after).empty
    assert after.egress[1] == {25, 26, 27, 28}  # ports the config does not manage
    assert all(after.pvid[p] == 1 for p in (25, 26, 27, 28))
    assert make_diff(want, after).empty
    assert plan_writes(make_diff(want, after), profile) == []


def test_generic_moves_the_pvid_before_any_membership() -> None:
    want = plan(DEMO, Layout("quarantine"))["tor-1"]
    order = [s.stage for s in plan_writes(make_diff(want, factory()), GENERIC)]
    assert order == ["shut", "create", "pvid", "leave", "join-egress", "join-untagged"]
    first = plan_writes(make_diff(want, factory()), GENERIC)[0]
    assert {w.key for w in first.writes} >= {24}  # the hospital uplink is cut first


def test_lower_bound_counts_each_changed_object_once() -> None:
    want = plan(DEMO, Layout("quarantine"))["tor-1"]
    pdus, varbinds = lower_bound(make_diff(want, factory()))
    assert pdus == 3  # create, then egress, then untagged
    stages = plan_writes(make_diff(want, factory()), GENERIC)
    assert varbinds == sum(len(s.writes) for s in stages)
    assert lower_bound(make_diff(want, replay(factory(), stages))) == (0, 0)


@pytest.mark.parametrize(
    ("oid", "name"),
    [
        ("1.3.6.1.4.1.8072.3.2.10", "generic"),
        ("1.3.6.1.4.1.47196.4.1.1.1.100", "membership-first"),
        ("1.3.6.1.4.1.47196.4.1.10", "generic"),
        ("1.3.6.1.4.1.9.1.516", "generic"),
    ],
)
def test_profile_by_longest_sys_object_id_prefix(oid: str, name: str) -> None:
    assert profile_for(oid).name == name


def test_profile_must_shut_first_and_open_last() -> None:
    with pytest.raises(ValueError, match="starting with 'shut'"):
        QBridgeProfile("bad", (), ("create", "shut", "pvid", "leave", "join-egress",
                                    "join-untagged", "open"))  # fmt: skip


def size(write: Write) -> int:
    return 20 if write.kind in ("admin", "pvid", "create") else 26


@pytest.mark.parametrize("profile", [GENERIC, MEMBERSHIP_FIRST], ids=lambda p: p.name)
@pytest.mark.parametrize("phase", ["quarantine", "restore", "drill"])
@pytest.mark.parametrize("budget", [40, 200, 1172])
def test_packed_pdus_reach_the_plan_with_each_pdu_checked_against_the_state_before(
    profile: QBridgeProfile, phase: str, budget: int
) -> None:
    want = plan(DEMO, Layout(phase))["tor-1"]  # type: ignore[arg-type]
    stages = plan_writes(make_diff(want, factory()), profile)
    pdus = pack(stages, profile, size, budget)
    assert [w for p in pdus for w in p.writes] == [w for s in stages for w in s.writes]
    for pdu in pdus:  # shut and open travel alone; a PDU sets an object once
        assert pdu.stages in (("shut",), ("open",)) or not {"shut", "open"} & set(pdu.stages)
        assert len({(w.kind, w.key) for w in pdu.writes}) == len(pdu.writes)
        assert len(pdu.writes) == 1 or sum(map(size, pdu.writes)) <= budget
    assert make_diff(want, replay(factory(), pdus)).empty


def test_generic_isolation_needs_four_pdus_the_minimum_and_a_shut_of_its_own() -> None:
    want = plan(DEMO, Layout("quarantine"))["tor-1"]
    diff = make_diff(want, factory())
    pdus = pack(plan_writes(diff, GENERIC), GENERIC, size, 1172)
    assert [p.label for p in pdus] == ["shut", "create", "pvid+leave+join-egress", "join-untagged"]
    assert len(pdus) <= 1.5 * lower_bound(diff)[0]
    assert 24 in {w.key for w in pdus[0].writes}  # the hospital uplink, shut alone first
    # PVID moves before (or with) any membership change, never after it.
    third = [w.kind for w in pdus[2].writes]
    assert third.index("egress") > max(i for i, k in enumerate(third) if k == "pvid")


def test_membership_first_keeps_one_pdu_per_stage() -> None:
    want = plan(DEMO, Layout("quarantine"))["tor-1"]
    pdus = pack(plan_writes(make_diff(want, factory()), MEMBERSHIP_FIRST), MEMBERSHIP_FIRST,
                size, 1172)  # fmt: skip
    assert all(len(p.stages) == 1 for p in pdus)


def test_a_profile_must_break_between_dependent_stages() -> None:
    with pytest.raises(ValueError, match="needs 'create' applied first"):
        QBridgeProfile("bad", (), GENERIC.order, breaks=frozenset({"join-untagged"}))
    with pytest.raises(ValueError, match="needs 'join-egress' applied first"):
        QBridgeProfile("bad", (), GENERIC.order, breaks=frozenset({"pvid"}))
