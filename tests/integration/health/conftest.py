"""The simulated rack every health integration test starts (see lab.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from agent.sim.redfish import RedfishBmcSim
from agent.sim.snmp import SimulatedRack

from .lab import Lab, specs


@pytest_asyncio.fixture
async def lab() -> AsyncIterator[Lab]:
    async with SimulatedRack(specs()) as rack, RedfishBmcSim() as bmc:
        yield Lab(rack, bmc)
