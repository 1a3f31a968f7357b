"""What every SNMP switch driver shares: its SNMP client, opened for the ``async with``
block, and the request count benchmarks read. The Q-BRIDGE and Cisco IOS drivers
inherit it; their reading and writing are their own."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.conf.schema import Switch


class SnmpSwitch:
    """One switch behind one SnmpClient. ``async with Driver(...) as sw:``."""

    def __init__(self, switch: Switch, target: SnmpTarget) -> None:
        self.switch_id = switch.id
        self._switch = switch
        self._target = target
        self._client: SnmpClient | None = None
        self._touched: dict[str, tuple[int, ...]] = {}  # OID -> ports, for error messages

    async def __aenter__(self) -> Self:
        self._client = SnmpClient(self._target)
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(exc_type, exc, tb)

    async def prepare_writes(self) -> None:
        """Ready the SET path (one GET of sysUpTime through it): see `PreparesWrites`."""
        await self._snmp.prepare_writes()

    @property
    def requests(self) -> int:
        return self._snmp.stats.requests

    @property
    def _snmp(self) -> SnmpClient:
        if self._client is None:
            raise RuntimeError(
                f"{type(self).__name__} {self.switch_id!r} used outside 'async with'; open it first"
            )
        return self._client
