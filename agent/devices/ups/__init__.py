"""UPS drivers: one generic reader working from per-family data (``base.UpsFamily``).

``UPS_FAMILIES`` lists every known family, vendor families first and RFC 1628 UPS-MIB
last (the generic one, which most vendor cards also publish). Detection
(``agent.devices.detect``) GETs every family's sentinels: a family matches when all its
sentinels answer, the longest sysObjectID hint decides among matches, then this order;
:func:`detect_ups` asks the same of the UPS families alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.adapters.snmp import MISSING, SnmpClient
from agent.devices.detect import ask, choose
from agent.devices.ups.apc import APC_UPS
from agent.devices.ups.base import (
    AlarmTable,
    BatteryEnum,
    BatteryState,
    LineColumn,
    LineTable,
    Number,
    SourceEnum,
    Text,
    UpsFamily,
)
from agent.devices.ups.cyberpower import CYBERPOWER_UPS
from agent.devices.ups.driver import (
    SYS_OBJECT_ID,
    BatteryStatus,
    LineValues,
    UpsIdentity,
    UpsStatus,
    decode_identity,
    decode_status,
    family_chain,
    get_many,
    line_tables,
    read_identity,
    read_status,
    scalar_oids,
    walked_columns,
)
from agent.devices.ups.eaton import EATON_MGE, EATON_XUPS
from agent.devices.ups.rfc1628 import RFC1628
from agent.devices.ups.tripplite import TRIPPLITE_UPS

UPS_FAMILIES: tuple[UpsFamily, ...] = (
    APC_UPS,
    CYBERPOWER_UPS,
    EATON_XUPS,
    EATON_MGE,
    TRIPPLITE_UPS,
    RFC1628,
)
UPS_FAMILIES_BY_KEY: dict[str, UpsFamily] = {family.key: family for family in UPS_FAMILIES}


def chain_of(family: UpsFamily) -> tuple[UpsFamily, ...]:
    """The families read for ``family``, in order (itself, its ``also``, RFC 1628)."""
    return family_chain(family, UPS_FAMILIES_BY_KEY)


def sentinel_oids(families: Iterable[UpsFamily] = UPS_FAMILIES) -> list[str]:
    return list(dict.fromkeys(s.oid for family in families for s in family.sentinels))


async def detect_ups(client: SnmpClient) -> UpsFamily | None:
    """The UPS family of the device behind ``client``, or None if no family answers
    (the rule of ``agent.devices.detect``, asked of the UPS families alone)."""
    values, _ = await ask(client, [SYS_OBJECT_ID, *sentinel_oids()])
    raw = values.get(SYS_OBJECT_ID, MISSING)
    kind, family, _, _ = choose(raw if isinstance(raw, str) else "", values, (), UPS_FAMILIES)
    return family if kind == "ups" and isinstance(family, UpsFamily) else None


class UpsDriver:
    """Reads one UPS family through an open :class:`SnmpClient`.

    With no family given, each device's family is detected on first use (by its
    sentinels, see :func:`detect_ups`) and remembered per host and port; a device that
    answers no family's sentinels is read as RFC 1628, whose objects it may still have.
    """

    def __init__(self, family: UpsFamily | None = None) -> None:
        self.family = family
        self._detected: dict[tuple[str, int], UpsFamily] = {}

    @property
    def mib(self) -> str:
        return self.family.mib if self.family else "auto (UPS-MIB and vendor MIBs)"

    async def family_of(self, client: SnmpClient) -> UpsFamily:
        if self.family is not None:
            return self.family
        key = (client.target.host, client.target.port)
        found = self._detected.get(key)
        if found is None:
            found = await detect_ups(client) or RFC1628
            self._detected[key] = found
        return found

    async def identify(self, client: SnmpClient) -> UpsIdentity:
        return await read_identity(client, chain_of(await self.family_of(client)))

    async def read_status(self, client: SnmpClient) -> UpsStatus:
        return await read_status(client, chain_of(await self.family_of(client)))

    async def is_ups(self, client: SnmpClient) -> bool:
        """Whether some UPS family's sentinels all answer (for probing unknown devices)."""
        if self.family is not None:
            values = await get_many(client, [s.oid for s in self.family.sentinels])
            return all(v is not MISSING for v in values.values())
        found = await detect_ups(client)
        if found is not None:
            self._detected[(client.target.host, client.target.port)] = found
        return found is not None


__all__ = [
    "APC_UPS",
    "CYBERPOWER_UPS",
    "EATON_MGE",
    "EATON_XUPS",
    "RFC1628",
    "TRIPPLITE_UPS",
    "UPS_FAMILIES",
    "UPS_FAMILIES_BY_KEY",
    "AlarmTable",
    "BatteryEnum",
    "BatteryState",
    "BatteryStatus",
    "LineColumn",
    "LineTable",
    "LineValues",
    "Number",
    "SourceEnum",
    "Text",
    "UpsDriver",
    "UpsFamily",
    "UpsIdentity",
    "UpsStatus",
    "chain_of",
    "decode_identity",
    "decode_status",
    "detect_ups",
    "line_tables",
    "read_identity",
    "read_status",
    "scalar_oids",
    "sentinel_oids",
    "walked_columns",
]
