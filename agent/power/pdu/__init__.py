"""Switched PDU drivers: one generic driver working from per-family data.

``FAMILIES`` lists every known family; ``agent.power.detect`` picks one by sysObjectID.
"""

from __future__ import annotations

from agent.power.pdu.apc import APC_RPDU, APC_RPDU2
from agent.power.pdu.base import Column, Command, Measurement, PduFamily, Scalar
from agent.power.pdu.driver import (
    InletReading,
    OutletReading,
    OutletState,
    PduDriver,
    PduIdentity,
)
from agent.power.pdu.eaton import EATON_EPDU
from agent.power.pdu.others import CYBERPOWER, DELL_RPDU, VERTIV_GEIST
from agent.power.pdu.raritan import RARITAN_PDU2
from agent.power.pdu.servertech import SENTRY3, SENTRY4

FAMILIES: tuple[PduFamily, ...] = (
    APC_RPDU,
    APC_RPDU2,
    RARITAN_PDU2,
    EATON_EPDU,
    SENTRY3,
    SENTRY4,
    CYBERPOWER,
    VERTIV_GEIST,
    DELL_RPDU,
)
FAMILIES_BY_KEY: dict[str, PduFamily] = {family.key: family for family in FAMILIES}

__all__ = [
    "FAMILIES",
    "FAMILIES_BY_KEY",
    "Column",
    "Command",
    "InletReading",
    "Measurement",
    "OutletReading",
    "OutletState",
    "PduDriver",
    "PduFamily",
    "PduIdentity",
    "Scalar",
]
