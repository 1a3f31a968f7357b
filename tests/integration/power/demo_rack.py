"""The demo rack made fast for power tests: free ports, short delays and timeouts.

Each test file picks the timings it exercises; everything else is the demo rack as
shipped, so the tests drive the same config the demo does. Also the power manager the
tests drive and the simulator's record of outlet SETs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from agent.bus import Bus
from agent.conf import RackConfig
from agent.power.actions import ActionPolicy
from agent.power.manager import PowerManager
from agent.sim.compose import SimRack
from agent.sim.testing import relocate

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
APC_ON_COLUMN = "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5."  # rPDU2OutletSwitchedControlCommand
RARITAN_ON_COLUMN = "1.3.6.1.4.1.13742.6.4.1.2.1.2.1."  # switchingOperation


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


def manager(config: RackConfig, bus: Bus, **kwargs: object) -> PowerManager:
    """The power manager with quick actions and BMC polls; no UPS watch unless asked
    (``watch_ups=True``, ``ups_interval_s=...``)."""
    options: dict[str, object] = {"watch_ups": False, **kwargs}
    return PowerManager(
        config,
        bus,
        action_policy=ActionPolicy(verify_timeout=1.0, attempts=2, backoff=0.1),
        bmc_poll_s=0.1,
        **options,  # type: ignore[arg-type]
    )


def quicken(sim: SimRack) -> SimRack:
    """Relays and BMCs faster than the demo's: the timings under test are the agent's."""
    for pdu in sim.config.pdu:
        sim.snmp.pdu(pdu.id).command_delay_s = 0.02
    for bmc in sim.bmcs.values():
        bmc.boot_delay_s = 0.1
        bmc.graceful_shutdown_s = 0.1
    return sim


def outlet_sets(sim: SimRack) -> list[tuple[float, str, int]]:
    """Every outlet SET the PDUs accepted: (time, pdu, outlet), in time order."""
    found = []
    for entry in sim.snmp.set_log.entries(kind="set"):
        for column in (APC_ON_COLUMN, RARITAN_ON_COLUMN):
            if entry.oid.startswith(column):
                found.append((entry.t, entry.device, int(entry.oid[len(column) :])))
    return found
