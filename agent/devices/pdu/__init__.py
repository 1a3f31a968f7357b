"""Rack PDU drivers: one generic driver working from per-family data.

``FAMILIES`` lists every known family; ``agent.devices.detect`` picks one by what the
device answers (each family's sentinels), the sysObjectID breaking ties, then this
order: a family whose tables are a superset of another's comes first (APC rPDU2
before rPDU: the rpdu2g firmware serves both).
"""

from __future__ import annotations

from agent.devices.pdu.apc import APC_CPDU, APC_RPDU, APC_RPDU2
from agent.devices.pdu.base import Column, Command, Measurement, PduFamily, Scalar
from agent.devices.pdu.driver import (
    InletReading,
    OutletReading,
    OutletState,
    PduDriver,
    PduIdentity,
)
from agent.devices.pdu.eaton import EATON_EPDU
from agent.devices.pdu.others import (
    CYBERPOWER,
    DELL_RPDU,
    GEIST_V3,
    SCHLEIFENBAUER,
    TRIPP_LITE,
    TRIPP_LITE_ATS,
    VERTIV_V5,
)
from agent.devices.pdu.raritan import RARITAN_PDU2, RARITAN_PX
from agent.devices.pdu.servertech import SENTRY3, SENTRY4

FAMILIES: tuple[PduFamily, ...] = (
    APC_RPDU2,
    APC_RPDU,
    APC_CPDU,
    DELL_RPDU,
    RARITAN_PDU2,
    RARITAN_PX,
    EATON_EPDU,
    SENTRY3,
    SENTRY4,
    CYBERPOWER,
    VERTIV_V5,
    GEIST_V3,
    SCHLEIFENBAUER,
    TRIPP_LITE,
    TRIPP_LITE_ATS,
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
