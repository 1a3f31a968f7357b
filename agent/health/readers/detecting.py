"""A PDU configured with ``driver = "auto"``, as the health watch sees it.

Detection (``agent.devices.detect``) runs on the first poll. When a PDU family answers,
the PDU reader takes over; when none does, the device is still watched with the
standard MIBs (``GenericReader``: system group, IF-MIB, ENTITY-SENSOR-MIB, UPS-MIB
where present), and the self-test and the log say once what it is and what to set in
rack.toml. Losing an unknown PDU's outlet readings is a warning; losing the whole
device from the health watch because of it would be a silent gap.
"""

from __future__ import annotations

import logging

from agent.adapters.snmp import SnmpClient
from agent.devices.detect import Detection, detect
from agent.devices.pdu import PduFamily
from agent.health.readers.generic import GenericReader
from agent.health.readers.pdu import PduReader
from agent.health.sensors import Identity, Reading

log = logging.getLogger(__name__)


class DetectingPduReader:
    """Detects the family on first use, then reads as a PDU or, failing that, with the
    standard MIBs. ``detection`` is None until the first read or identify."""

    def __init__(self, device: str, client: SnmpClient) -> None:
        self.device = device
        self.client = client
        self.detection: Detection | None = None
        self._inner: PduReader | GenericReader | None = None

    async def _reader(self) -> PduReader | GenericReader:
        if self._inner is None:
            found = await detect(self.client)
            self.detection = found
            if found.kind == "pdu" and isinstance(found.family, PduFamily):
                self._inner = PduReader(self.device, self.client, found.family.key)
            else:
                log.warning(
                    "%s; watched with the standard MIBs only (no outlet states)",
                    found.describe(),
                )
                self._inner = GenericReader(self.device, self.client)
        return self._inner

    @property
    def last_tables(self) -> dict[str, str]:
        """The PDU reader's account of its tables in the last poll (empty otherwise)."""
        return self._inner.last_tables if isinstance(self._inner, PduReader) else {}

    async def read(self, ts: float) -> list[Reading]:
        return await (await self._reader()).read(ts)

    async def identify(self) -> Identity:
        identity = await (await self._reader()).identify()
        if isinstance(self._inner, GenericReader) and self.detection is not None:
            # The self-test shows the family; say plainly that none was recognised.
            return Identity(
                device=identity.device,
                family=f"unknown ({self.detection.oid_text})",
                vendor=identity.vendor,
                model=identity.model,
                serial=identity.serial,
                firmware=identity.firmware,
                sys_object_id=identity.sys_object_id,
                sys_descr=identity.sys_descr,
            )
        return identity
