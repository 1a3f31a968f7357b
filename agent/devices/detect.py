"""Which family a device is, decided by what it answers (as NUT's mib2nut does).

The sysObjectID is a hint, never the verdict: an APC PDU MIB under Dell's enterprise is
still that MIB, virtualpdu announces an rPDU2 but only serves the rPDU tables, and a
CyberPower UPS is not a CyberPower PDU. Each family declares *sentinels*, objects that
every device of the family answers; one round of GETs asks every family's sentinels at
once, and a family matches when all of its sentinels answer. Among the matches the
sysObjectID breaks ties (the longest prefix, in whole arcs), then the order of the
families list. A device that matches a vendor UPS family is a UPS even when a PDU family
matches too (UPSes with switched outlet groups publish outlet tables); a PDU family
beats RFC 1628 alone, and a device with none of them but BRIDGE-MIB is a switch.

``driver = "auto"`` in the rack config maps to ``resolve_driver(client, "auto")``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from agent.adapters.snmp import MISSING, SnmpClient, Value
from agent.devices.pdu import FAMILIES, FAMILIES_BY_KEY, PduDriver, PduFamily
from agent.devices.pdu.driver import SYS_OBJECT_ID
from agent.errors import ConfigError, DeviceUnreachable, NegativeReply, ProtocolError

AUTO = "auto"
Kind = Literal["pdu", "ups", "switch", "unknown"]
# BRIDGE-MIB::dot1dBaseNumPorts: nearly every 802.1D bridge (a switch) publishes it;
# those that do not still have rows in BRIDGE-MIB::dot1dBasePortIfIndex or, on a Cisco
# IOS switch, CISCO-VLAN-MEMBERSHIP-MIB::vmVlan (the second look, in ``detect``).
BRIDGE_NUM_PORTS = "1.3.6.1.2.1.17.1.2.0"
SWITCH_TABLES = (
    "1.3.6.1.2.1.17.1.4.1.2",  # BRIDGE-MIB::dot1dBasePortIfIndex
    "1.3.6.1.4.1.9.9.68.1.2.2.1.2",  # CISCO-VLAN-MEMBERSHIP-MIB::vmVlan
)
# GETs per request while detecting: a few dozen sentinels fit in one message, but some
# agents answer a long GET with tooBig or an error for the whole PDU; small batches keep
# one refusal from hiding the rest, and a refused batch is asked again one OID at a time.
_BATCH = 11
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # SNMPv2-MIB::sysUpTime.0


class Sentinel(Protocol):
    @property
    def oid(self) -> str: ...

    @property
    def mib(self) -> str: ...


class Family(Protocol):
    """What detection needs of a family, PDU or UPS."""

    @property
    def key(self) -> str: ...

    @property
    def vendor(self) -> str: ...

    @property
    def sys_object_ids(self) -> tuple[str, ...]: ...

    @property
    def sentinels(self) -> Sequence[Sentinel]: ...


@dataclass(frozen=True, slots=True)
class Detection:
    """What the device said and what we made of it. ``family`` is None for an unknown
    model (and for a switch, whose driver picks its own profile); ``describe()`` says
    so in words an operator can act on."""

    device: str
    sys_object_id: str
    family: PduFamily | Family | None
    matched_prefix: str = ""
    kind: Kind = "pdu"
    # Every family whose sentinels all answered, best first (for logs and probe).
    answered: tuple[str, ...] = ()
    # Objects that could not be asked (refused or timed out), which may hide a family.
    unasked: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.kind == "switch":
            return f"{self.device}: a switch (BRIDGE-MIB answers), sysObjectID {self.oid_text}"
        if self.family is None:
            known = ", ".join(f.key for f in FAMILIES)
            return (
                f"{self.device}: unknown model: sysObjectID {self.oid_text} "
                "matches no known PDU or UPS family and no family's sentinel objects "
                f"answer; it is watched with the standard MIBs only. Set driver to one of "
                f"{known} if it is a PDU that speaks that MIB"
            )
        how = (
            f"sysObjectID {self.sys_object_id} under {self.matched_prefix}"
            if self.matched_prefix
            else f"its objects answer; sysObjectID {self.oid_text} is not one of its own"
        )
        return f"{self.device}: {self.family.vendor} {self.family.key} ({how})"

    @property
    def oid_text(self) -> str:
        return self.sys_object_id or "(none)"


def _arcs_prefix(prefix: str, oid: str) -> bool:
    return oid == prefix or oid.startswith(prefix + ".")


def hint_length(family: Family, sys_object_id: str) -> tuple[int, str]:
    """How many arcs of ``sys_object_id`` the family's longest matching prefix covers
    (0 when none matches), and that prefix."""
    oid = sys_object_id.strip(".")
    best, best_prefix = 0, ""
    for prefix in family.sys_object_ids:
        length = prefix.count(".") + 1
        if _arcs_prefix(prefix, oid) and length > best:
            best, best_prefix = length, prefix
    return best, best_prefix


def match_family(
    sys_object_id: str, families: Iterable[PduFamily] = FAMILIES
) -> tuple[PduFamily, str] | None:
    """The family whose sysObjectID prefix is the longest (in arcs) match, and that
    prefix: the hint alone, for callers that have nothing else (a config check)."""
    best: tuple[PduFamily, str] | None = None
    best_len = 0
    for family in families:
        length, prefix = hint_length(family, sys_object_id)
        if length > best_len:
            best, best_len = (family, prefix), length
    return best


def ups_families() -> tuple[Family, ...]:
    """The UPS families, vendor MIBs first and RFC 1628 last."""
    from agent.devices.ups import UPS_FAMILIES  # noqa: PLC0415 - keeps the import graph flat

    return tuple(UPS_FAMILIES)


async def ask(client: SnmpClient, oids: Sequence[str]) -> tuple[dict[str, Value], list[str]]:
    """GET ``oids`` in small batches; a batch the agent refuses as a whole is asked one
    OID at a time. Returns the answers (``MISSING`` for absent objects) and the OIDs
    that could not be asked at all. A device that does not answer the first batch is
    unreachable (raised); a later batch that times out (an agent whose subagent for
    those objects hangs) leaves its objects unasked rather than failing detection."""
    answers: dict[str, Value] = {}
    unasked: list[str] = []
    wanted = [oid for oid in dict.fromkeys(oids) if oid != SYS_UPTIME]
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        try:
            # sysUpTime rides along: every agent answers it, so a batch of absent
            # sentinels is not "nothing answered", which the adapter would re-ask one
            # object at a time (it is how a refused object is told from absent ones).
            got = await client.get([SYS_UPTIME, *batch])
            answers.update((oid, got[oid]) for oid in batch)
            continue
        except DeviceUnreachable:
            if start == 0:
                raise
            unasked += batch
            continue
        except (NegativeReply, ProtocolError):
            pass  # one object spoiled the batch (or it was too big): ask one by one
        for oid in batch:
            try:
                answers[oid] = await client.get_one(oid)
            except (NegativeReply, ProtocolError):
                unasked.append(oid)
    return answers, unasked


def _answers(family: Family, values: Mapping[str, Value]) -> bool:
    sentinels = family.sentinels
    return bool(sentinels) and all(values.get(s.oid, MISSING) is not MISSING for s in sentinels)


def choose(
    sys_object_id: str,
    values: Mapping[str, Value],
    pdus: Sequence[PduFamily],
    upses: Sequence[Family],
) -> tuple[Kind, Family | None, str, tuple[str, ...]]:
    """Pure decision from the answers: (kind, family, matched prefix, every family that
    answered, best first). ``upses`` ends with the generic RFC 1628 family."""
    ranked: list[tuple[tuple[int, int, int], Kind, Family, str]] = []
    generic_ups = upses[-1] if upses else None
    for order, pdu in enumerate(pdus):
        if _answers(pdu, values):
            length, prefix = hint_length(pdu, sys_object_id)
            ranked.append(((-length, 1, order), "pdu", pdu, prefix))
    for order, ups in enumerate(upses):
        if _answers(ups, values):
            length, prefix = hint_length(ups, sys_object_id)
            # A vendor UPS MIB outranks a PDU family; UPS-MIB alone does not.
            rank = 2 if ups is generic_ups else 0
            ranked.append(((-length, rank, order), "ups", ups, prefix))
    ranked.sort(key=lambda item: item[0])
    answered = tuple(f.key for _, _, f, _ in ranked)
    if ranked:
        _, kind, best, prefix = ranked[0]
        return kind, best, prefix, answered
    if values.get(BRIDGE_NUM_PORTS, MISSING) is not MISSING:
        return "switch", None, "", answered
    return "unknown", None, "", answered


async def detect(
    client: SnmpClient,
    families: Sequence[PduFamily] = FAMILIES,
    upses: Sequence[Family] | None = None,
) -> Detection:
    """Ask every family's sentinels and decide; an unknown model is a result, not an
    error."""
    device = client.target.device
    ups_list = ups_families() if upses is None else tuple(upses)
    oids = [SYS_OBJECT_ID, BRIDGE_NUM_PORTS]
    every: list[Family] = [*families, *ups_list]
    for each in every:
        oids += [s.oid for s in each.sentinels]
    values, unasked = await ask(client, oids)
    raw = values.get(SYS_OBJECT_ID, MISSING)
    # Only a hint: an agent that garbles it (an OctetString) is still detected by what
    # its sentinels answer.
    sys_oid = raw if isinstance(raw, str) else ""
    kind, family, prefix, answered = choose(sys_oid, values, families, ups_list)
    if kind == "unknown" and await _has_switch_table(client):
        kind = "switch"
    return Detection(device, sys_oid, family, prefix, kind, answered, tuple(unasked))


async def _has_switch_table(client: SnmpClient) -> bool:
    """Whether a device that no family claims and that has no dot1dBaseNumPorts still
    has bridge ports or Cisco VLAN memberships (one walk of a column each; a table the
    agent cannot serve counts as absent)."""
    for table in SWITCH_TABLES:
        try:
            if await client.walk(table):
                return True
        except (NegativeReply, ProtocolError):
            continue
    return False


async def resolve_driver(client: SnmpClient, driver: str) -> PduDriver:
    """The driver for ``driver`` (a family key, or "auto" to detect).

    Raises ConfigError for an unknown key or an auto-detection that found no PDU,
    naming what the device is instead and the fix.
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
    if detection.kind == "pdu" and isinstance(detection.family, PduFamily):
        return PduDriver(detection.family)
    if detection.kind in ("ups", "switch"):
        raise ConfigError(
            [
                f"{detection.describe()}: it is configured as a PDU but answers as a "
                f"{detection.kind}; move it to the [[{detection.kind}]] tables of rack.toml"
            ]
        )
    raise ConfigError([detection.describe()])
