"""cleanroom-agent: the autopilot of a mobile clean-room rack."""

__version__ = "0.1.0"
