"""Switched PDU drivers: one generic driver working from per-family data.

``FAMILIES`` lists every known family; ``agent.devices.detect`` picks one by sysObjectID.
"""

from __future__ import annotations

from agent.devices.pdu.apc import APC_RPDU, APC_RPDU2
from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar
from agent.devices.pdu.driver import (
    InletReading,
    OutletReading,
    OutletState,
    PduDriver,
    PduIdentity,
)
from agent.devices.pdu.eaton import EATON_EPDU
from agent.devices.pdu.others import CYBERPOWER, DELL_RPDU, VERTIV_GEIST
from agent.devices.pdu.raritan import RARITAN_PDU2
from agent.devices.pdu.servertech import SENTRY3, SENTRY4

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
