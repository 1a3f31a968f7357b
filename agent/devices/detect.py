"""Pick a PDU family from the device's sysObjectID: the longest matching prefix wins.

``driver = "auto"`` in the rack config maps to ``resolve_driver(client, "auto")``.
Prefixes match on whole arcs: 1.3.6.1.4.1.318.1.3.4.6 matches the prefix
1.3.6.1.4.1.318.1.3.4.6 and 1.3.6.1.4.1.318.1.3.4, never 1.3.6.1.4.1.318.1.3.4.60.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.adapters.snmp import MISSING, SnmpClient, expect_oid
from agent.devices.pdu import FAMILIES, FAMILIES_BY_KEY, PduDriver, PduFamily
from agent.devices.pdu.driver import SYS_OBJECT_ID
from agent.errors import ConfigError

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Detection:
    """What the device said and what we made of it. ``family`` is None for an unknown
    model; ``describe()`` says so in words an operator can act on."""

    device: str
    sys_object_id: str
    family: PduFamily | None
    matched_prefix: str = ""

    def describe(self) -> str:
        if self.family is None:
            known = ", ".join(f.key for f in FAMILIES)
            return (
                f"{self.device}: unknown model: sysObjectID {self.sys_object_id or '(none)'} "
                f"matches no known PDU family; set driver to one of {known} if the PDU "
                "speaks that MIB"
            )
        return (
            f"{self.device}: {self.family.vendor} {self.family.key} "
            f"(sysObjectID {self.sys_object_id} under {self.matched_prefix})"
        )


def _arcs_prefix(prefix: str, oid: str) -> bool:
    return oid == prefix or oid.startswith(prefix + ".")


def match_family(
    sys_object_id: str, families: Iterable[PduFamily] = FAMILIES
) -> tuple[PduFamily, str] | None:
    """The family whose sysObjectID prefix is the longest (in arcs) match, and that prefix."""
    oid = sys_object_id.strip(".")
    best: tuple[PduFamily, str] | None = None
    best_len = -1
    for family in families:
        for prefix in family.sys_object_ids:
            length = prefix.count(".") + 1
            if _arcs_prefix(prefix, oid) and length > best_len:
                best, best_len = (family, prefix), length
    return best


async def detect(client: SnmpClient, families: Iterable[PduFamily] = FAMILIES) -> Detection:
    """Read sysObjectID and match it; an unknown model is a result, not an error."""
    device = client.target.device
    raw = await client.get_one(SYS_OBJECT_ID)
    oid = "" if raw is MISSING else expect_oid(device, SYS_OBJECT_ID, raw)
    found = match_family(oid, families) if oid else None
    if found is None:
        return Detection(device, oid, None)
    return Detection(device, oid, found[0], found[1])


async def resolve_driver(client: SnmpClient, driver: str) -> PduDriver:
    """The driver for ``driver`` (a family key, or "auto" to detect).

    Raises ConfigError for an unknown key or an auto-detection that found nothing,
    naming the fix.
    """
    if driver != AUTO:
        family = FAMILIES_BY_KEY.get(driver)
        if family is None:
            known = ", ".join([AUTO, *FAMILIES_BY_KEY])
            raise ConfigError(
                [
                    f"{client.target.device}: driver {driver!r} is not a PDU family; "
                    f"use one of {known}"
                ]
            )
        return PduDriver(family)
    detection = await detect(client)
    if detection.family is None:
        raise ConfigError([detection.describe()])
    return PduDriver(detection.family)
