"""BMC driver over Redfish (DMTF DSP0266): ComputerSystem.Reset and the Chassis sensors.

Resource paths are discovered from the service root and the system's links, never
assumed: vendors name them differently (``Systems/1``, ``Systems/System.Embedded.1``...).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.adapters.redfish import Document, RedfishClient
from agent.devices.bmc import (
    BmcIdentity,
    BmcTiming,
    PowerAction,
    PowerState,
    SensorReading,
    VerifiedBmc,
)
from agent.errors import NegativeReply, ProtocolError

SERVICE_ROOT = "/redfish/v1"
RESET_ACTION = "#ComputerSystem.Reset"
ALLOWED_VALUES = "ResetType@Redfish.AllowableValues"

# Our actions and the ResetType values (Resource.ResetType enum) that carry them.
RESET_TYPES: dict[PowerAction, str] = {
    "on": "On",
    "force_off": "ForceOff",
    "graceful_shutdown": "GracefulShutdown",
    "force_restart": "ForceRestart",
}
# ComputerSystem.PowerState: transitions (PoweringOn/Off) and Paused report "unknown".
POWER_STATES: dict[str, PowerState] = {"On": "on", "Off": "off"}


@dataclass(frozen=True, slots=True)
class _Paths:
    system: str
    reset_target: str
    allowed: tuple[str, ...] | None  # None: the BMC does not list them
    chassis: str | None
    manager: str | None


class RedfishBmc(VerifiedBmc):
    """A server's BMC reached through an open :class:`RedfishClient`."""

    def __init__(
        self, client: RedfishClient, timing: BmcTiming | None = None, system_id: str | None = None
    ) -> None:
        super().__init__(client.device, timing or BmcTiming())
        self._client = client
        self._system_id = system_id
        self._paths: _Paths | None = None

    async def _discover(self) -> _Paths:
        if self._paths is not None:
            return self._paths
        root = await self._client.get(SERVICE_ROOT)
        systems = await self._client.get(root.link("Systems"))
        members = systems.links("Members")
        system_path = self._pick_system(members)
        system = await self._client.get(system_path)
        action = system.child("Actions").child(RESET_ACTION)
        allowed = tuple(action.strings(ALLOWED_VALUES)) if action.has(ALLOWED_VALUES) else None
        links = system.child("Links") if system.has("Links") else None
        chassis = links.links("Chassis") if links and links.has("Chassis") else []
        managers = links.links("ManagedBy") if links and links.has("ManagedBy") else []
        self._paths = _Paths(
            system=system_path,
            reset_target=action.text("target"),
            allowed=allowed,
            chassis=chassis[0] if chassis else None,
            manager=managers[0] if managers else None,
        )
        return self._paths

    def _pick_system(self, members: list[str]) -> str:
        if self._system_id is not None:
            for member in members:
                if member.rstrip("/").rsplit("/", 1)[-1] == self._system_id:
                    return member
            raise ProtocolError(
                self.device,
                f"no system {self._system_id!r} among {members}; fix system_id in the "
                "rack config (the last segment of one of these paths)",
            )
        if len(members) != 1:
            raise ProtocolError(
                self.device,
                f"the BMC manages {len(members)} systems {members}; set system_id in the "
                "rack config to choose one",
            )
        return members[0]

    async def _read_power(self) -> PowerState:
        system = await self._client.get((await self._discover()).system)
        return POWER_STATES.get(system.text("PowerState"), "unknown")

    async def _send(self, action: PowerAction) -> None:
        paths = await self._discover()
        reset_type = RESET_TYPES[action]
        if paths.allowed is not None and reset_type not in paths.allowed:
            raise NegativeReply(
                self.device,
                f"{paths.reset_target}: ResetType {reset_type} is not offered (allowed: "
                f"{', '.join(paths.allowed)}); this BMC cannot {action}, use another action",
                status="unsupported",
            )
        await self._client.post(paths.reset_target, {"ResetType": reset_type})

    async def _read_sensors(self) -> list[SensorReading]:
        paths = await self._discover()
        if paths.chassis is None:
            return []
        chassis = await self._client.get(paths.chassis)
        readings: list[SensorReading] = []
        if chassis.has("Thermal"):
            thermal = await self._client.get(chassis.link("Thermal"))
            readings += _thermal_readings(thermal)
        if chassis.has("Power"):
            power = await self._client.get(chassis.link("Power"))
            readings += [
                SensorReading(
                    f"power/{_name(ctl)}", "power", "W", ctl.optional_number("PowerConsumedWatts")
                )
                for ctl in power.children("PowerControl")
            ]
        return readings

    async def _read_identity(self) -> BmcIdentity:
        paths = await self._discover()
        system = await self._client.get(paths.system)
        firmware = ""
        if paths.manager is not None:
            manager = await self._client.get(paths.manager)
            firmware = manager.optional_str("FirmwareVersion") or ""
        return BmcIdentity(
            manufacturer=system.optional_str("Manufacturer") or "",
            model=system.optional_str("Model") or "",
            serial_number=system.optional_str("SerialNumber") or "",
            bmc_firmware=firmware,
            bios_version=system.optional_str("BiosVersion"),
        )


def _name(member: Document) -> str:
    return member.optional_str("Name") or member.optional_str("MemberId") or member.path


def _thermal_readings(thermal: Document) -> list[SensorReading]:
    readings = [
        SensorReading(
            f"temperature/{_name(t)}", "temperature", "Cel", t.optional_number("ReadingCelsius")
        )
        for t in thermal.children("Temperatures")
    ]
    for fan in thermal.children("Fans"):
        units = fan.optional_str("ReadingUnits") or "RPM"
        unit = "%" if units == "Percent" else units
        readings.append(
            SensorReading(f"fan/{_name(fan)}", "fan", unit, fan.optional_number("Reading"))
        )
    return readings
