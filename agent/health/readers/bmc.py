"""Health of a server through its BMC (Redfish or IPMI): thermal, fan and power sensors,
and whether the host is on.

The BMC drivers (``agent.devices.bmc_redfish``, ``agent.devices.bmc_ipmi``) already return
one :class:`~agent.devices.bmc.SensorReading` per sensor; this module maps them onto the
rack's sensor kinds. A sensor that reads nothing (a CPU sensor while the host is off) is
an explicit unknown, not a zero.
"""

from __future__ import annotations

from agent.devices.bmc import BmcDriver, SensorReading
from agent.health.sensors import BOOLEAN, Identity, Reading, reading, unknown

# BMC sensor kind -> (our kind, plausible low, high)
KINDS: dict[str, tuple[str, float, float]] = {
    "temperature": ("temperature", -40.0, 150.0),
    "fan": ("fan", 0.0, 100_000.0),
    "power": ("power_w", 0.0, 100_000.0),
    "voltage": ("voltage", -1000.0, 1000.0),
    "other": ("other", -1e12, 1e12),
}


def normalise(device: str, sensors: list[SensorReading], ts: float) -> list[Reading]:
    out: list[Reading] = []
    for sensor in sensors:
        kind, low, high = KINDS.get(sensor.kind, KINDS["other"])
        if kind == "fan" and sensor.unit == "%":
            kind, high = "fan_percent", 100.0
        if sensor.value is None:
            out.append(
                unknown(
                    device,
                    sensor.sensor_id,
                    kind,
                    sensor.unit,
                    ts,
                    "the BMC reports no reading (host off or sensor absent)",
                )
            )
        else:
            out.append(
                reading(
                    device,
                    sensor.sensor_id,
                    kind,
                    sensor.unit,
                    sensor.value,
                    ts,
                    low=low,
                    high=high,
                )
            )
    return out


class BmcReader:
    def __init__(self, device: str, driver: BmcDriver, family: str) -> None:
        self.device = device
        self.driver = driver
        self.family = family  # "redfish" or "ipmi"

    async def read(self, ts: float) -> list[Reading]:
        state = await self.driver.power_state()
        out = [
            reading(
                self.device,
                "host/power",
                "host_power",
                BOOLEAN,
                None if state == "unknown" else float(state == "on"),
                ts,
                detail="the BMC reports a power transition",
            ),
        ]
        return out + normalise(self.device, await self.driver.read_sensors(), ts)

    async def identify(self) -> Identity:
        ident = await self.driver.read_identity()
        return Identity(
            device=self.device,
            family=self.family,
            vendor=ident.manufacturer,
            model=ident.model,
            serial=ident.serial_number,
            firmware=ident.bmc_firmware,
        )
