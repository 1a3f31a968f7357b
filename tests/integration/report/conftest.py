"""Fixtures for the remote-supervision tests: a real Mosquitto and its command-line
clients as independent peers (see ``broker.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.report.broker import Mosquitto, require_broker


@pytest.fixture
async def mosquitto() -> AsyncIterator[Mosquitto]:
    """A fresh broker per test (cheap: about 20 ms to start)."""
    require_broker()
    async with Mosquitto() as broker:
        yield broker
