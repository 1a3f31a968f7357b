"""What every `cleanroom` command parses the same way: the rack config and durations.

Every command that reads a rack config takes ``--config`` with one default,
`DEFAULT_CONFIG`; every duration accepts a unit (``6s``, ``500ms``, ``2min``, ``1h``) or a
bare number of seconds. A value argparse refuses is a usage error: exit 2 with the usage
line, as for any other bad argument.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agent.conf.units import Duration

DEFAULT_CONFIG = Path("/etc/cleanroom/rack.toml")


def add_config(parser: argparse.ArgumentParser, *, default: Path = DEFAULT_CONFIG) -> None:
    parser.add_argument(
        "--config", type=Path, default=default, help=f"the rack config (default {default})"
    )


def duration(text: str) -> float:
    """Seconds from ``"6s"``, ``"500ms"``, ``"2min"`` or a bare ``"6"``."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = float(Duration.parse(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration cannot be negative")
    return seconds
