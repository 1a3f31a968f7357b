"""Health of a managed switch: port oper/admin status and error counters (IF-MIB),
temperatures and fans (ENTITY-SENSOR-MIB), identity from ENTITY-MIB's chassis entry.

VLAN state is not health: the network part reads and repairs it. The read-only VLAN
view used by ``cleanroom probe`` is here (:func:`read_vlans`, over the switch survey)
because probing must work on a switch that is in no config.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agent.adapters.snmp import SnmpClient, Value
from agent.devices.enterprises import vendor_of
from agent.devices.switch.survey import chassis, survey
from agent.health.readers import generic
from agent.health.readers.base import column
from agent.health.sensors import Identity, Reading

FAMILY = "qbridge"
# Columns walked each poll: one walk per column keeps the reply to the rows we decode.
IF_COLUMNS = (generic.IF_OPER, generic.IF_ADMIN, generic.IF_IN_ERRORS, generic.IF_OUT_ERRORS)


class SwitchReader:
    def __init__(self, device: str, client: SnmpClient) -> None:
        self.device = device
        self.client = client
        # The bridge-port map and the sensor names are configuration: read once.
        self._ports: dict[int, int] | None = None
        self._names: dict[str, Value] | None = None

    async def read(self, ts: float) -> list[Reading]:
        if self._ports is None or self._names is None:
            base, names = await asyncio.gather(
                self.client.walk(generic.BASE_PORT_IFINDEX), self.client.walk(generic.ENT_NAME)
            )
            self._ports = generic.decode_base_ports(base)
            self._names = column(names, generic.ENT_NAME)
        results = await asyncio.gather(
            *(self.client.walk(c) for c in IF_COLUMNS), self.client.walk(generic.ENT_SENSOR)
        )
        if_rows = [row for rows in results[:-1] for row in rows]
        return decode(
            self.device,
            if_rows=if_rows,
            sensor_rows=results[-1],
            ports=self._ports,
            names=self._names,
            ts=ts,
        )

    async def identify(self) -> Identity:
        system = generic.decode_system(await self.client.get(list(generic.SYSTEM_OIDS)))
        entity = await self.client.walk(generic.ENT_PHYSICAL)
        # The chassis row (entPhysicalClass chassis(3)), else the first row with a model.
        model, serial, revision = chassis(entity)
        if not model:
            model, serial, revision = generic.entity_identity(entity)
        return Identity(
            device=self.device,
            family=FAMILY,
            vendor=vendor_of(system.object_id),
            model=model,
            serial=serial,
            firmware=revision,
            sys_object_id=system.object_id,
            sys_descr=system.descr,
        )


def decode(
    device: str,
    *,
    if_rows: list[tuple[str, Value]],
    sensor_rows: list[tuple[str, Value]],
    ports: dict[int, int],
    names: dict[str, Value],
    ts: float,
) -> list[Reading]:
    return generic.decode_interfaces(device, if_rows, ports, ts) + generic.decode_entity_sensors(
        device, sensor_rows, names, ts
    )


@dataclass(frozen=True, slots=True)
class PortVlans:
    port: int | None  # None: a Cisco interface the default BRIDGE-MIB context does not list
    if_index: int | None
    pvid: int | None
    untagged: tuple[int, ...]
    tagged: tuple[int, ...]


async def read_vlans(client: SnmpClient) -> list[PortVlans]:
    """Each port's PVID and VLAN membership, read only: the switch survey's ports
    (`agent.devices.switch.survey`: Q-BRIDGE static, else current table, else Cisco
    vmVlan and trunks)."""
    found = await survey(client)
    return [PortVlans(p.port, p.if_index, p.pvid, p.untagged, p.tagged) for p in found.ports]
