"""What the UPS family and recording tests share: a client to a served device, and one
read of it by the UPS reader with the family detected."""

from __future__ import annotations

import time

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.health.readers.ups import UpsSummary, read_ups
from agent.health.sensors import Identity, Reading
from agent.sim.snmp import SimulatedRack


def ups_client(rack: SimulatedRack, name: str) -> SnmpClient:
    host, port = rack.endpoint(name)
    return SnmpClient(SnmpTarget(name, host, port, timeout=2.0, retries=1))


async def read_detected(
    rack: SimulatedRack, name: str
) -> tuple[Identity, dict[str, Reading], UpsSummary]:
    async with ups_client(rack, name) as client:
        ident, readings, summary = await read_ups(client, None, time.time())
    return ident, {r.sensor: r for r in readings}, summary
