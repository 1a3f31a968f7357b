"""Pick the driver of each switch from the config."""

from __future__ import annotations

from agent.conf.schema import RackConfig
from agent.errors import EnvironmentMissing
from agent.network.driver import SwitchDriver
from agent.network.qbridge import QBridgeDriver, snmp_target


def drivers_for(config: RackConfig) -> dict[str, SwitchDriver]:
    """One driver per switch. ``auto`` means Q-BRIDGE over SNMP (the vendor profile is
    then detected from the sysObjectID on first use)."""
    drivers: dict[str, SwitchDriver] = {}
    for index, switch in enumerate(config.switch):
        if switch.driver == "linux-bridge":
            raise EnvironmentMissing(
                f"switch[{index}] {switch.id!r}: driver 'linux-bridge' needs the netlink "
                "adapter (agent/adapters/netlink.py), which this build does not have yet; "
                "use an SNMP switch or update the agent"
            )
        drivers[switch.id] = QBridgeDriver(switch, snmp_target(config, switch))
    return drivers
