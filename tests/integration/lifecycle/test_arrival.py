"""Autonomous arrival on a dirty simulated rack: outlets in random states, every switch
port in VLAN 1 and up, uplink included. The agent must reach `operational`, and the switch
must be in verified quarantine before the agent powers anything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from agent.conf import load_config
from agent.daemon import Daemon
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.states import State
from agent.sim.compose import SimRack
from agent.sim.snmp import PortState
from agent.sim.testing import relocate

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo-rack.toml"


@pytest.mark.parametrize("seed", [3, 11])
async def test_dirty_rack_is_isolated_before_any_power_and_reaches_operational(
    tmp_path: Path, seed: int
) -> None:
    path = relocate(DEMO, tmp_path, fast=True)[0]
    # Health quicker than the power-up, so that servers wait, silent, longer than
    # stale_after for their group: that silence must raise no alarm.
    text = path.read_text()
    for old, new in (
        ('stale_after = "6s"', 'stale_after = "2500ms"'),
        ('interval = "2s"', 'interval = "500ms"'),
        ('lost_after = "20s"', 'lost_after = "5s"'),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)
    config = load_config(path)
    snapshots: list[tuple[float, dict[int, PortState]]] = []
    quarantine = config.vlans.quarantine
    switch = config.switch[0]
    server_ports = [p.number for p in switch.ports if p.role in ("server", "storage")]
    uplink = next(p.number for p in switch.ports if p.role == "uplink")

    def record(ports: Mapping[int, PortState]) -> None:
        snapshots.append((time.monotonic(), dict(ports)))

    async with SimRack(config, dirty_seed=seed) as sim:
        model = sim.snmp.switch(switch.id)
        start = model.port_states()
        assert all(p.pvid == 1 and p.admin_up for p in start.values()), "a dirty start"
        powered = [n for n in range(1, 25) if sim.snmp.outlet_powered("pdu-a", n)]
        assert len(powered) > 2, "the seed leaves some workload outlets on"
        model.on_vlan_change(record)
        daemon = Daemon(config)
        runner = asyncio.create_task(daemon.run())
        try:
            await daemon.ready.wait()
            assert daemon.context is not None
            events = daemon.context.bus.subscribe()
            machine = daemon.context.parts["lifecycle"]
            assert isinstance(machine, Lifecycle)
            async with asyncio.timeout(120):
                final = await machine.wait_for(State.OPERATIONAL, State.SAFE_HOLD)
            assert final is State.OPERATIONAL
        finally:
            daemon.request_stop("test over")
            await runner
        # Servers not powered yet are silent on purpose: no stale or lost alarm for them.
        silence = []
        while (event := events.get_nowait()) is not None:
            if event.kind == "alarm.raised" and ":state:" in event.data["id"]:
                silence.append(event.data["id"])
        assert silence == []
        pdu_sets = [e for e in sim.snmp.set_log.entries(kind="set") if e.device.startswith("pdu")]
        assert pdu_sets, "the agent switched outlets on"
        first_power = min(e.t for e in pdu_sets)
        before = [ports for t, ports in snapshots if t <= first_power]
        assert before, "the switch was changed before any outlet was switched"
        state = before[-1]
        for port in server_ports:
            assert state[port].pvid == quarantine, f"port {port} pvid {state[port].pvid}"
            assert state[port].untagged == frozenset({quarantine}), state[port]
        assert not state[uplink].admin_up, "the hospital uplink was down before power-up"
        assert all(p.pvid != 1 for p in state.values()), "no port kept the default PVID"
        for server in config.server:
            assert sim.host_on(server.id), f"{server.id} runs at the end"
