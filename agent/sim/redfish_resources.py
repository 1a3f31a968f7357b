"""The JSON documents of the simulated Redfish BMC (DMTF DSP0266 / DSP8010 schemas).

Pure functions of the simulator's state, so the resource shapes are easy to read in one
place. Only the properties real clients read are present; every resource carries its
``@odata.id`` and ``@odata.type`` as the schema requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RESET_TYPES = ("On", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart")
ROOT = "/redfish/v1"


@dataclass(frozen=True, slots=True)
class Identity:
    """What the BMC says about the server and itself."""

    system_id: str = "1"
    chassis_id: str = "1"
    manager_id: str = "BMC"
    manufacturer: str = "Cleanroom Sim"
    model: str = "SimServer R1"
    serial_number: str = "SIM0001"
    bios_version: str = "1.4.2"
    firmware_version: str = "2.10.0"


@dataclass(slots=True)
class Sensor:
    name: str
    reading: float
    upper_critical: float
    needs_host: bool  # a CPU sensor or a fan reads nothing while the host is off


def system_path(ident: Identity) -> str:
    return f"{ROOT}/Systems/{ident.system_id}"


def chassis_path(ident: Identity) -> str:
    return f"{ROOT}/Chassis/{ident.chassis_id}"


def manager_path(ident: Identity) -> str:
    return f"{ROOT}/Managers/{ident.manager_id}"


def reset_target(ident: Identity) -> str:
    return f"{system_path(ident)}/Actions/ComputerSystem.Reset"


def error(code: str, message: str) -> dict[str, Any]:
    """A Redfish error body (DSP0266 section "Error responses")."""
    return {
        "error": {
            "code": f"Base.1.8.{code}",
            "message": message,
            "@Message.ExtendedInfo": [{"MessageId": f"Base.1.8.{code}", "Message": message}],
        }
    }


def service_root(ident: Identity) -> dict[str, Any]:
    return {
        "@odata.id": f"{ROOT}/",
        "@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot",
        "Id": "RootService",
        "Name": "Root Service",
        "RedfishVersion": "1.6.0",
        "UUID": f"5c1e0000-0000-4000-8000-{ident.serial_number.encode().hex()[:12]:0>12}",
        "Systems": {"@odata.id": f"{ROOT}/Systems"},
        "Chassis": {"@odata.id": f"{ROOT}/Chassis"},
        "Managers": {"@odata.id": f"{ROOT}/Managers"},
    }


_COLLECTION_TYPES = {
    "Systems": "ComputerSystemCollection",
    "Chassis": "ChassisCollection",
    "Managers": "ManagerCollection",
}


def collection(kind: str, member: str) -> dict[str, Any]:
    schema = _COLLECTION_TYPES[kind]
    return {
        "@odata.id": f"{ROOT}/{kind}",
        "@odata.type": f"#{schema}.{schema}",
        "Name": f"{kind} Collection",
        "Members@odata.count": 1,
        "Members": [{"@odata.id": member}],
    }


def _status(healthy: bool, enabled: bool) -> dict[str, str]:
    return {
        "State": "Enabled" if enabled else "StandbyOffline",
        "Health": "OK" if healthy else "Critical",
    }


def computer_system(ident: Identity, power_state: str, healthy: bool) -> dict[str, Any]:
    return {
        "@odata.id": system_path(ident),
        "@odata.type": "#ComputerSystem.v1_10_0.ComputerSystem",
        "Id": ident.system_id,
        "Name": "System",
        "SystemType": "Physical",
        "Manufacturer": ident.manufacturer,
        "Model": ident.model,
        "SerialNumber": ident.serial_number,
        "BiosVersion": ident.bios_version,
        "PowerState": power_state,
        "Status": _status(healthy, power_state == "On"),
        "Links": {
            "Chassis": [{"@odata.id": chassis_path(ident)}],
            "ManagedBy": [{"@odata.id": manager_path(ident)}],
        },
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": reset_target(ident),
                "ResetType@Redfish.AllowableValues": list(RESET_TYPES),
            }
        },
    }


def chassis(ident: Identity, power_state: str) -> dict[str, Any]:
    return {
        "@odata.id": chassis_path(ident),
        "@odata.type": "#Chassis.v1_10_0.Chassis",
        "Id": ident.chassis_id,
        "Name": "Chassis",
        "ChassisType": "RackMount",
        "Manufacturer": ident.manufacturer,
        "Model": ident.model,
        "SerialNumber": ident.serial_number,
        "PowerState": power_state,
        "Thermal": {"@odata.id": f"{chassis_path(ident)}/Thermal"},
        "Power": {"@odata.id": f"{chassis_path(ident)}/Power"},
        "Links": {"ManagedBy": [{"@odata.id": manager_path(ident)}]},
    }


def _reading(sensor: Sensor, host_on: bool) -> float | None:
    return sensor.reading if host_on or not sensor.needs_host else None


def thermal(
    ident: Identity, temperatures: list[Sensor], fans: list[Sensor], host_on: bool
) -> dict[str, Any]:
    base = f"{chassis_path(ident)}/Thermal"
    return {
        "@odata.id": base,
        "@odata.type": "#Thermal.v1_6_0.Thermal",
        "Id": "Thermal",
        "Name": "Thermal",
        "Temperatures": [
            {
                "@odata.id": f"{base}#/Temperatures/{index}",
                "MemberId": str(index),
                "Name": sensor.name,
                "ReadingCelsius": _reading(sensor, host_on),
                "UpperThresholdCritical": sensor.upper_critical,
                "Status": _status(
                    sensor.reading < sensor.upper_critical, host_on or not sensor.needs_host
                ),
            }
            for index, sensor in enumerate(temperatures)
        ],
        "Fans": [
            {
                "@odata.id": f"{base}#/Fans/{index}",
                "MemberId": str(index),
                "Name": sensor.name,
                "Reading": _reading(sensor, host_on),
                "ReadingUnits": "RPM",
                "LowerThresholdCritical": sensor.upper_critical,
                "Status": _status(sensor.reading > sensor.upper_critical, host_on),
            }
            for index, sensor in enumerate(fans)
        ],
    }


def power(ident: Identity, consumed_w: float, capacity_w: float) -> dict[str, Any]:
    base = f"{chassis_path(ident)}/Power"
    return {
        "@odata.id": base,
        "@odata.type": "#Power.v1_5_0.Power",
        "Id": "Power",
        "Name": "Power",
        "PowerControl": [
            {
                "@odata.id": f"{base}#/PowerControl/0",
                "MemberId": "0",
                "Name": "System Power Control",
                "PowerConsumedWatts": consumed_w,
                "PowerCapacityWatts": capacity_w,
            }
        ],
    }


def manager(ident: Identity) -> dict[str, Any]:
    return {
        "@odata.id": manager_path(ident),
        "@odata.type": "#Manager.v1_5_0.Manager",
        "Id": ident.manager_id,
        "Name": "Manager",
        "ManagerType": "BMC",
        "FirmwareVersion": ident.firmware_version,
        "Status": {"State": "Enabled", "Health": "OK"},
        "Links": {
            "ManagerForServers": [{"@odata.id": system_path(ident)}],
            "ManagerForChassis": [{"@odata.id": chassis_path(ident)}],
        },
    }
