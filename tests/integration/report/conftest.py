"""Fixtures for the remote-supervision tests: a real Mosquitto and its command-line
clients as independent peers (see ``broker.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from broker import Mosquitto, clients_present, mosquitto_path


def require_broker() -> None:
    if mosquitto_path() is None:
        pytest.skip("mosquitto is not installed: apt-get install mosquitto")
    if not clients_present():
        pytest.skip("mosquitto_pub/mosquitto_sub are missing: apt-get install mosquitto-clients")


@pytest.fixture
async def mosquitto() -> AsyncIterator[Mosquitto]:
    """A fresh broker per test (cheap: about 20 ms to start)."""
    require_broker()
    async with Mosquitto() as broker:
        yield broker
