"""Value types of the rack config that TOML has no word for: durations and secrets."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class Duration(float):
    """Seconds, written in the config with a unit: ``"500ms"``, ``"30s"``, ``"5min"``, ``"2h"``."""

    @classmethod
    def parse(cls, value: object) -> Duration:
        if isinstance(value, str):
            match = _DURATION.match(value)
            if match:
                return cls(float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        raise ValueError(
            f'{value!r} is not a duration: write a number and a unit, like "30s", '
            '"500ms", "5min" or "2h"'
        )

    def __repr__(self) -> str:
        return f"Duration({float(self)}s)"


class Secret:
    """A credential. Its value never appears in a repr, a log line or an error message.

    In the config a secret is written literally or as ``"secret:NAME"``, which is looked
    up in the secrets file (``secrets_file``, permissions 0600).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def make_dec_hook(secrets: dict[str, str], secrets_source: str) -> Any:
    """A msgspec ``dec_hook`` that builds Durations and Secrets (resolving ``secret:``)."""

    def dec_hook(type_: type, value: object) -> object:
        if type_ is Duration:
            return Duration.parse(value)
        if type_ is Secret:
            if not isinstance(value, str):
                raise ValueError(f"expected a string secret, got {type(value).__name__}")
            if value.startswith("secret:"):
                name = value.removeprefix("secret:")
                if name not in secrets:
                    where = secrets_source or "no secrets_file is set"
                    raise ValueError(
                        f'secret {name!r} is not defined ({where}); add `{name} = "..."` '
                        "to the secrets file"
                    )
                return Secret(secrets[name])
            return Secret(value)
        # msgspec turns a TypeError from the hook into a ValidationError with the path.
        raise TypeError(f"no decoder for {type_!r}")

    return dec_hook


def enc_hook(value: object) -> object:
    """For printing a loaded config as JSON: durations as seconds, secrets masked."""
    if isinstance(value, Secret):
        return "***"
    if isinstance(value, Duration):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")
