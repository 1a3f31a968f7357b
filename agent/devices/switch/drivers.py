"""Pick the driver of each switch from the config."""

from __future__ import annotations

from agent.conf.schema import RackConfig
from agent.devices.switch.cisco_ios import CiscoIosDriver
from agent.devices.switch.driver import SwitchDriver
from agent.devices.switch.qbridge import QBridgeDriver
from agent.targets import switch_target


def drivers_for(config: RackConfig) -> dict[str, SwitchDriver]:
    """One driver per switch. ``auto`` means Q-BRIDGE over SNMP (the vendor profile is
    then detected from the sysObjectID on first use); ``linux-bridge`` is a bridge of the
    controller itself, driven over netlink (`agent.devices.switch.linuxbridge`);
    ``cisco-ios`` is a Catalyst, whose access ports are set through
    CISCO-VLAN-MEMBERSHIP-MIB (`agent.devices.switch.cisco_ios`)."""
    drivers: dict[str, SwitchDriver] = {}
    for switch in config.switch:
        if switch.driver == "linux-bridge":
            # Imported only for a rack that has one: pyroute2 adds about 130 ms to the
            # agent's start and several MiB of memory, for nothing on a Q-BRIDGE rack.
            from agent.devices.switch.linuxbridge import LinuxBridgeDriver  # noqa: PLC0415

            drivers[switch.id] = LinuxBridgeDriver(switch)
        elif switch.driver == "cisco-ios":
            drivers[switch.id] = CiscoIosDriver(switch, switch_target(config, switch))
        else:
            drivers[switch.id] = QBridgeDriver(switch, switch_target(config, switch))
    return drivers
