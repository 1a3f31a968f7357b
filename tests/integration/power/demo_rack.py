"""The demo rack made fast for power tests: free ports, short delays and timeouts.

Each test file picks the timings it exercises; everything else is the demo rack as
shipped, so the tests drive the same config the demo does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from agent.sim.testing import relocate

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"


def fast_demo_path(
    tmp_path: Path,
    *,
    inrush: str = "100ms",
    settle: str = "0s",
    snmp_timeout: str = "300ms",
    snmp_retries: int = 1,
    graceful: str = "1500ms",
    boot: str = "10s",
    replace: Mapping[str, str] | None = None,
) -> Path:
    """Write the fast demo rack into ``tmp_path``; ``replace`` maps regexes (multiline)
    to replacements, each of which must match."""
    path, _ = relocate(DEMO, tmp_path)
    text = path.read_text()
    text = text.replace('inrush_delay = "500ms"', f'inrush_delay = "{inrush}"')
    text = text.replace('settle = "1s"', f'settle = "{settle}"')
    text = text.replace(
        'timeout = "1s"\nretries = 2', f'timeout = "{snmp_timeout}"\nretries = {snmp_retries}'
    )
    text = text.replace('boot_timeout = "30s"', f'boot_timeout = "{boot}"')
    text = text.replace('graceful_timeout = "10s"', f'graceful_timeout = "{graceful}"')
    for old, new in (replace or {}).items():
        text, count = re.subn(old, new, text, flags=re.M)
        assert count, f"the demo config no longer has {old!r}"
    path.write_text(text)
    return path
