"""The VLAN plan and its invariants: the demo rack's phases port by port, every rule
catching a hand-broken state with the port named, and random valid configs and phase
sequences never producing a desired state that breaks a rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.conf import RackConfig, load_config, parse_config
from agent.devices.switch.model import DEVICE_PHASES, PHASES, DesiredSwitch, Phase
from agent.errors import PolicyRefusal
from agent.network.invariants import check_desired, enforce
from agent.network.plan import Layout, plan

ROOT = Path(__file__).resolve().parents[3]
DEMO = load_config(ROOT / "config" / "demo-rack.toml")
V = DEMO.vlans


def test_quarantine_on_the_demo_rack_port_by_port() -> None:
    tor = plan(DEMO, Layout("quarantine"))["tor-1"]
    assert len(tor.ports) == 24  # unlisted ports are managed too (parked)
    hv1 = tor.ports[1]
    assert (hv1.pvid, hv1.untagged, hv1.tagged, hv1.admin_up) == (
        V.quarantine,
        frozenset({V.quarantine}),
        frozenset(),
        True,
    )
    uplink = tor.ports[24]
    assert uplink.admin_up is False
    assert uplink.vlans == {V.uplink}
    controller = tor.ports[23]
    assert (controller.pvid, controller.vlans) == (V.management, frozenset({V.management}))
    for number in (6, 7, 20, 21, 22):  # unlisted, drill outside a drill, unused
        port = tor.ports[number]
        assert (port.pvid, port.vlans, port.admin_up) == (
            V.quarantine,
            frozenset({V.quarantine}),
            False,
        )
    assert 1 not in tor.vlans


def test_restore_moves_servers_to_clean_and_the_controller_follows() -> None:
    tor = plan(DEMO, Layout("restore"))["tor-1"]
    assert {tor.ports[n].pvid for n in range(1, 6)} == {V.clean}
    assert tor.ports[23].tagged == {V.clean}
    assert tor.ports[24].admin_up is False


def test_a_single_device_moves_alone() -> None:
    layout = Layout("quarantine").enter("restore", ["hv-2"])
    tor = plan(DEMO, layout)["tor-1"]
    assert tor.ports[2].pvid == V.clean
    assert tor.ports[2].phase == "restore"
    assert {tor.ports[n].pvid for n in (1, 3, 4, 5)} == {V.quarantine}
    # Entering a phase for the whole rack forgets single moves.
    assert Layout("quarantine").enter("restore", ["hv-2"]).enter("quarantine").devices == {}


def test_connected_opens_the_uplink_and_routes_through_the_controller() -> None:
    tor = plan(DEMO, Layout("connected"))["tor-1"]
    assert tor.ports[24].admin_up is True
    assert tor.ports[24].vlans == {V.uplink}  # never the clean VLAN itself
    assert tor.ports[23].tagged == {V.clean, V.uplink}


def test_a_device_alone_cannot_enter_connected() -> None:
    with pytest.raises(PolicyRefusal, match="two-person"):
        Layout("quarantine").enter("connected", ["hv-1"])


def _broken(port: int, **changes: Any) -> DesiredSwitch:
    tor = plan(DEMO, Layout("quarantine"))["tor-1"]
    ports = dict(tor.ports)
    ports[port] = dataclasses.replace(ports[port], **changes)
    return DesiredSwitch(tor.switch, tor.phase, MappingProxyType(ports))


BROKEN = [
    (1, {"tagged": frozenset({V.clean})}, "clean-and-quarantine"),
    (24, {"admin_up": True}, "uplink"),
    (24, {"tagged": frozenset({V.clean})}, "uplink"),
    (2, {"untagged": frozenset({V.uplink}), "pvid": V.uplink}, "uplink"),
    (3, {"pvid": 1}, "pvid"),
    (3, {"pvid": 4000}, "pvid"),
    (3, {"pvid": V.clean}, "pvid"),
    (5, {"tagged": frozenset({1})}, "pvid"),
    (4, {"tagged": frozenset({V.management})}, "management"),
    (24, {"tagged": frozenset({V.management})}, "management"),
]


@pytest.mark.parametrize(("port", "changes", "rule"), BROKEN)
def test_each_rule_catches_a_broken_port_and_names_it(
    port: int, changes: dict[str, Any], rule: str
) -> None:
    found = check_desired(_broken(port, **changes), V)
    assert {(v.port, v.rule) for v in found} >= {(port, rule)}
    assert all(v.port == port for v in found)
    with pytest.raises(PolicyRefusal, match=f"tor-1 port {port}: \\[{rule}\\]"):
        enforce({"tor-1": _broken(port, **changes)}, V)


def test_uplink_vlan_on_controller_only_when_connected() -> None:
    state = _broken(23, tagged=frozenset({V.uplink}))
    assert [(v.port, v.rule) for v in check_desired(state, V)] == [(23, "uplink")]
    connected = dataclasses.replace(state, phase="connected")
    uplink_up = dict(connected.ports)
    uplink_up[24] = dataclasses.replace(uplink_up[24], admin_up=True)
    ok = DesiredSwitch("tor-1", "connected", MappingProxyType(uplink_up))
    assert check_desired(ok, V) == []


# --- property: random valid racks, random phase sequences ------------------------------

ROLES = ["server", "storage", "uplink", "controller", "trunk", "drill", "unused"]


@st.composite
def racks(draw: st.DrawFn) -> RackConfig:
    vids = draw(st.lists(st.integers(2, 4094), min_size=5, max_size=5, unique=True))
    names = ("management", "clean", "quarantine", "drill", "uplink")
    servers = [f"srv-{i}" for i in range(draw(st.integers(1, 6)))]
    doc: dict[str, Any] = {
        "rack": {"id": "r", "site": "s"},
        "vlans": dict(zip(names, vids, strict=True)),
        "credentials": {"c": {"community": "x"}},
        "server": [{"id": s, "nominal_w": 100} for s in servers],
        "switch": [],
    }
    uplink_used = False
    for index in range(draw(st.integers(1, 3))):
        count = draw(st.integers(1, 52))
        numbers = draw(st.lists(st.integers(1, count), unique=True, max_size=count))
        ports = []
        for number in numbers:
            role = draw(st.sampled_from(ROLES))
            if role == "uplink":
                if uplink_used:
                    role = "unused"
                uplink_used = True
            port: dict[str, Any] = {"number": number, "role": role}
            if role in ("server", "storage") or (role == "drill" and draw(st.booleans())):
                port["device"] = draw(st.sampled_from(servers))
            ports.append(port)
        doc["switch"].append(
            {"id": f"sw-{index}", "host": "192.0.2.1", "credentials": "c",
             "port_count": count, "ports": ports}
        )  # fmt: skip
    return parse_config(tomli_w.dumps(doc))


steps = st.lists(
    st.tuples(st.sampled_from(PHASES), st.booleans(), st.integers(0, 5)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(racks(), steps)
def test_no_phase_sequence_breaks_an_invariant(
    config: RackConfig, sequence: list[tuple[Phase, bool, int]]
) -> None:
    layout = Layout()
    servers = [s.id for s in config.server]
    for phase, single, pick in sequence:
        if single and phase in DEVICE_PHASES:
            layout = layout.enter(phase, [servers[pick % len(servers)]])
        else:
            layout = layout.enter(phase)
        desired = plan(config, layout)
        enforce(desired, config.vlans)
        for state in desired.values():
            ports = state.ports.values()
            assert all(p.pvid not in (0, 1) for p in ports)
            uplinks = [p for p in ports if p.role == "uplink"]
            assert all(p.admin_up == (layout.phase == "connected") for p in uplinks)
            if layout.phase == "quarantine" and not layout.devices:
                access = [p for p in ports if p.role in ("server", "storage", "drill", "unused")]
                assert all(p.vlans == {config.vlans.quarantine} for p in access)
