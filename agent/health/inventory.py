"""From the rack config to open health readers: one per device, plus the controller.

``open_readers(config, stack)`` opens every client (SNMP session pool, Redfish HTTP
session, IPMI session) in the caller's AsyncExitStack, so they close with it.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from agent.adapters.redfish import RedfishClient
from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.conf.schema import Bmc, RackConfig, Server
from agent.devices.bmc import BmcTiming
from agent.devices.detect import AUTO
from agent.health.readers.base import Reader
from agent.health.readers.bmc import BmcReader
from agent.health.readers.controller import ControllerReader
from agent.health.readers.detecting import DetectingPduReader
from agent.health.readers.pdu import PduReader
from agent.health.readers.switch import SwitchReader
from agent.health.readers.ups import UpsReader
from agent.targets import device_target, redfish_endpoint

# A health poll is retried by the next poll, not inside it: one retry per request keeps
# a poll within health.timeout on a lossy link without hiding a dead device.
_HEALTH_RETRIES = 1


def snmp_target(
    config: RackConfig, device: str, host: str, port: int, credentials: str
) -> SnmpTarget:
    """The SnmpTarget of a device for health polling (see agent/targets.py)."""
    return device_target(config, device, host, port, credentials, max_retries=_HEALTH_RETRIES)


async def _bmc_reader(stack: AsyncExitStack, server: Server, bmc: Bmc, timeout_s: float) -> Reader:
    timing = BmcTiming(retries=0)
    if bmc.kind == "redfish":
        from agent.devices.bmc_redfish import RedfishBmc  # noqa: PLC0415 - httpx only when used

        client = await stack.enter_async_context(
            RedfishClient(redfish_endpoint(server.id, bmc, timeout_s))
        )
        return BmcReader(server.id, RedfishBmc(client, timing, bmc.system_id), "redfish")
    from agent.adapters.ipmi import IpmiClient, IpmiEndpoint  # noqa: PLC0415 - pyghmi lazily
    from agent.devices.bmc_ipmi import IpmiBmc  # noqa: PLC0415

    endpoint = IpmiEndpoint(
        device=server.id,
        host=bmc.host,
        username=bmc.username,
        password=bmc.password.reveal(),
        port=bmc.port or 623,
        timeout_s=timeout_s,
    )
    ipmi = await stack.enter_async_context(IpmiClient(endpoint))
    return BmcReader(server.id, IpmiBmc(ipmi, timing), "ipmi")


async def open_readers(
    config: RackConfig, stack: AsyncExitStack, *, controller: bool = True
) -> dict[str, Reader]:
    """One reader per polled device of the rack (and the controller), opened in ``stack``."""
    readers: dict[str, Reader] = {}
    timeout = float(config.health.timeout)

    async def snmp(device: str, host: str, port: int, credentials: str) -> SnmpClient:
        target = snmp_target(config, device, host, port, credentials)
        return await stack.enter_async_context(SnmpClient(target))

    for pdu in config.pdu:
        client = await snmp(pdu.id, pdu.host, pdu.snmp_port, pdu.credentials)
        readers[pdu.id] = (
            DetectingPduReader(pdu.id, client)
            if pdu.driver == AUTO
            else PduReader(pdu.id, client, pdu.driver)
        )
    for ups in config.ups:
        readers[ups.id] = UpsReader(
            ups.id, await snmp(ups.id, ups.host, ups.snmp_port, ups.credentials)
        )
    for switch in config.switch:
        # A Linux bridge on the controller has no SNMP agent: its ports are the
        # controller's own interfaces, watched by the network part.
        if switch.host and switch.credentials:
            client = await snmp(switch.id, switch.host, switch.snmp_port, switch.credentials)
            readers[switch.id] = SwitchReader(switch.id, client)
    for server in config.server:
        if server.bmc is not None:
            readers[server.id] = await _bmc_reader(stack, server, server.bmc, timeout)
    if controller:
        store = config.resolve(config.store.path).parent
        disks = tuple(dict.fromkeys(p for p in (store, Path("/")) if p.exists()))
        readers["controller"] = ControllerReader(disks=disks or (Path("/"),))
    return readers
