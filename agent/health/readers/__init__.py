"""Health readers: one module per device family, each turning driver or adapter output
into normalised :class:`agent.health.sensors.Reading`s."""

from agent.health.readers.base import Reader

__all__ = ["Reader"]
