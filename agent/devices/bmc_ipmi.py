"""BMC driver over IPMI 2.0 LAN: Chassis Control, Get Chassis Status and the SDR sensors."""

from __future__ import annotations

from agent.adapters.ipmi import ChassisAction, IpmiClient, IpmiSensor
from agent.devices.bmc import (
    BmcIdentity,
    BmcTiming,
    PowerAction,
    PowerState,
    SensorKind,
    SensorReading,
    VerifiedBmc,
)

# Our actions and the Chassis Control commands (IPMI 2.0 table 28-4) that carry them:
# power down (0), power up (1), hard reset (3), soft shutdown through ACPI (5).
CHASSIS_CONTROL: dict[PowerAction, ChassisAction] = {
    "on": "on",
    "force_off": "off",
    "graceful_shutdown": "shutdown",
    "force_restart": "reset",
}
SENSOR_KINDS: dict[str, SensorKind] = {
    "Temperature": "temperature",
    "Fan": "fan",
    "Voltage": "voltage",
    "Current": "other",
    "Power Supply": "other",
}
# SDR unit texts (as pyghmi renders them) to the units of SensorReading.
UNITS = {"°C": "Cel", "C": "Cel", "RPM": "RPM", "V": "V", "W": "W", "A": "A", "%": "%"}


class IpmiBmc(VerifiedBmc):
    """A server's BMC reached through an :class:`IpmiClient`."""

    def __init__(self, client: IpmiClient, timing: BmcTiming | None = None) -> None:
        super().__init__(client.device, timing or BmcTiming())
        self._client = client

    async def _read_power(self) -> PowerState:
        return await self._client.power_state()

    async def _send(self, action: PowerAction) -> None:
        await self._client.chassis_control(CHASSIS_CONTROL[action])

    async def _read_sensors(self) -> list[SensorReading]:
        return [_normalise(s) for s in await self._client.sensors()]

    async def _read_identity(self) -> BmcIdentity:
        dev = await self._client.device_id()
        # IPMI names the vendor by its IANA enterprise number and the product by an id.
        return BmcIdentity(
            manufacturer=f"IANA {dev.manufacturer_id}",
            model=f"product 0x{dev.product_id:04x}",
            serial_number="",
            bmc_firmware=dev.firmware,
        )


def _normalise(sensor: IpmiSensor) -> SensorReading:
    kind = SENSOR_KINDS.get(sensor.type, "other")
    if sensor.units == "W":
        kind = "power"
    slug = sensor.type.lower().replace(" ", "_")
    return SensorReading(
        f"{slug}/{sensor.name}", kind, UNITS.get(sensor.units, sensor.units), sensor.value
    )
