"""What any SNMP agent may publish in standard MIBs: the system group (SNMPv2-MIB),
interfaces (IF-MIB), physical sensors (ENTITY-SENSOR-MIB, RFC 3433) and UPS-MIB.

The switch reader and the probe of unknown devices both use these decoders; the
:class:`GenericReader` is the health reader of a device whose model we do not know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agent.adapters.snmp import MISSING, SnmpClient, Value
from agent.devices import ups as ups_mib
from agent.devices.enterprises import enterprise_of
from agent.health.readers.base import as_int, as_str, column, index_key
from agent.health.sensors import (
    AMPERE,
    BOOLEAN,
    CELSIUS,
    COUNT,
    PERCENT,
    RPM,
    VOLT,
    WATT,
    Identity,
    Reading,
    reading,
    unknown,
)

SYSTEM = "1.3.6.1.2.1.1"
SYS_DESCR = f"{SYSTEM}.1.0"
SYS_OBJECT_ID = f"{SYSTEM}.2.0"
SYS_UPTIME = f"{SYSTEM}.3.0"
SYS_NAME = f"{SYSTEM}.5.0"
SYSTEM_OIDS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME)

IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IF_DESCR = f"{IF_ENTRY}.2"
IF_ADMIN = f"{IF_ENTRY}.7"
IF_OPER = f"{IF_ENTRY}.8"
IF_IN_ERRORS = f"{IF_ENTRY}.14"
IF_OUT_ERRORS = f"{IF_ENTRY}.20"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
BASE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2"  # BRIDGE-MIB::dot1dBasePortIfIndex

ENT_PHYSICAL = "1.3.6.1.2.1.47.1.1.1.1"  # ENTITY-MIB::entPhysicalEntry
ENT_NAME = f"{ENT_PHYSICAL}.7"
ENT_SOFTWARE_REV = f"{ENT_PHYSICAL}.10"
ENT_SERIAL = f"{ENT_PHYSICAL}.11"
ENT_MODEL = f"{ENT_PHYSICAL}.13"
ENT_SENSOR = "1.3.6.1.2.1.99.1.1.1"  # ENTITY-SENSOR-MIB::entPhySensorEntry
SENSOR_TYPE = f"{ENT_SENSOR}.1"
SENSOR_SCALE = f"{ENT_SENSOR}.2"
SENSOR_PRECISION = f"{ENT_SENSOR}.3"
SENSOR_VALUE = f"{ENT_SENSOR}.4"
SENSOR_STATUS = f"{ENT_SENSOR}.5"


@dataclass(frozen=True, slots=True)
class IdentObject:
    oid: str  # an exact instance to GET
    mib: str  # "MODULE::object"


@dataclass(frozen=True, slots=True)
class VendorIdent:
    """Where a maker's own MIB names the device, for devices that publish no ENTITY-MIB
    chassis row: read by the generic identity when the sysObjectID's enterprise
    matches. Each object was checked against the maker's published MIB."""

    model: IdentObject
    serial: IdentObject | None = None
    firmware: IdentObject | None = None


_LGP_IDENT = "1.3.6.1.4.1.476.1.42.2.1"  # LIEBERT-GP-AGENT-MIB::lgpAgentIdent
_GEIST_INFO = "1.3.6.1.4.1.21239.5.1.1"  # GEIST-BB-MIB::deviceInfo (watchdog100)
# Enterprise number of the sysObjectID -> the maker's identity objects.
VENDOR_IDENTS: dict[int, VendorIdent] = {
    476: VendorIdent(  # Liebert/Vertiv IntelliSlot cards
        model=IdentObject(f"{_LGP_IDENT}.2.0", "LIEBERT-GP-AGENT-MIB::lgpAgentIdentModel"),
        serial=IdentObject(f"{_LGP_IDENT}.4.0", "LIEBERT-GP-AGENT-MIB::lgpAgentIdentSerialNumber"),
        firmware=IdentObject(
            f"{_LGP_IDENT}.3.0", "LIEBERT-GP-AGENT-MIB::lgpAgentIdentFirmwareVersion"
        ),
    ),
    21239: VendorIdent(  # Geist Watchdog climate monitors
        model=IdentObject(f"{_GEIST_INFO}.8.0", "GEIST-BB-MIB::productModelNumber"),
        serial=IdentObject(f"{_GEIST_INFO}.10.0", "GEIST-BB-MIB::productSerialNumber"),
        firmware=IdentObject(f"{_GEIST_INFO}.2.0", "GEIST-BB-MIB::productVersion"),
    ),
    850: VendorIdent(  # Tripp Lite PowerAlert devices: the first row of tlpDeviceTable
        model=IdentObject("1.3.6.1.4.1.850.1.1.1.2.1.5.1", "TRIPPLITE-PRODUCTS::tlpDeviceModel"),
    ),
}

# EntitySensorDataType -> (our kind, unit, sensor id prefix, plausible low, high)
SENSOR_KINDS: dict[int, tuple[str, str, str, float, float]] = {
    3: ("voltage", VOLT, "voltage", 0.0, 1000.0),  # voltsAC
    4: ("voltage", VOLT, "voltage", -1000.0, 1000.0),  # voltsDC
    5: ("current_a", AMPERE, "current", 0.0, 1000.0),  # amperes
    6: ("power_w", WATT, "power", 0.0, 100_000.0),  # watts
    8: ("temperature", CELSIUS, "temperature", -40.0, 150.0),  # celsius
    9: ("humidity", PERCENT, "humidity", 0.0, 100.0),  # percentRH
    10: ("fan", RPM, "fan", 0.0, 100_000.0),  # rpm
}
# entPhySensorOperStatus: ok(1) unavailable(2) nonoperational(3)
SENSOR_OK, SENSOR_UNAVAILABLE, SENSOR_NONOPERATIONAL = 1, 2, 3
# IF-MIB ifOperStatus: up(1) down(2) testing(3) unknown(4) dormant(5) notPresent(6)
# lowerLayerDown(7). Everything but up and unknown is "not forwarding".
IF_UP, IF_UNKNOWN = 1, 4


@dataclass(frozen=True, slots=True)
class SystemInfo:
    descr: str
    object_id: str
    name: str
    uptime_s: float | None


def decode_system(values: Mapping[str, Value]) -> SystemInfo:
    raw_oid = values.get(SYS_OBJECT_ID, MISSING)
    ticks = as_int(values.get(SYS_UPTIME, MISSING))
    return SystemInfo(
        descr=as_str(values.get(SYS_DESCR, MISSING)),
        object_id=raw_oid if isinstance(raw_oid, str) else "",
        name=as_str(values.get(SYS_NAME, MISSING)),
        uptime_s=None if ticks is None else ticks / 100.0,
    )


def decode_entity_sensors(
    device: str,
    rows: Iterable[tuple[str, Value]],
    names: Mapping[str, Value],
    ts: float,
) -> list[Reading]:
    """ENTITY-SENSOR-MIB rows (one walk of entPhySensorEntry) as readings.

    value = entPhySensorValue * 10**(3 * (scale - 9)) * 10**-precision (units(9) is
    10**0); a sensor that says unavailable is unknown, nonoperational is a fault.
    """
    rows = list(rows)
    types = column(rows, SENSOR_TYPE)
    scales = column(rows, SENSOR_SCALE)
    precisions = column(rows, SENSOR_PRECISION)
    values = column(rows, SENSOR_VALUE)
    statuses = column(rows, SENSOR_STATUS)
    out: list[Reading] = []
    for index in sorted(types.keys() | values.keys(), key=index_key):
        kind_code = as_int(types.get(index))
        spec = SENSOR_KINDS.get(kind_code) if kind_code is not None else None
        if spec is None:
            continue  # other, unknown, hertz, cmm, truthvalue: nothing we threshold
        kind, unit, prefix, low, high = spec
        label = as_str(names.get(index)) or index
        sensor = f"{prefix}/{label}"
        raw = as_int(values.get(index))
        status = as_int(statuses.get(index))
        if raw is None:
            out.append(
                unknown(
                    device,
                    sensor,
                    kind,
                    unit,
                    ts,
                    f"entPhySensorValue.{index} = {values.get(index, MISSING)!r}",
                )
            )
            continue
        if status == SENSOR_UNAVAILABLE:
            out.append(
                unknown(
                    device,
                    sensor,
                    kind,
                    unit,
                    ts,
                    f"entPhySensorOperStatus.{index} says unavailable",
                )
            )
            continue
        scale = as_int(scales.get(index))
        precision = as_int(precisions.get(index)) or 0
        if scale is not None and not 1 <= scale <= 17:
            detail = f"entPhySensorScale.{index} = {scale} is outside yocto(1)..yotta(17)"
            out.append(unknown(device, sensor, kind, unit, ts, detail))
            continue
        # A missing scale column is read as units(9): what agents that omit it mean.
        exponent = 3 * ((scale if scale is not None else 9) - 9)
        if not -8 <= precision <= 9:
            out.append(
                unknown(
                    device,
                    sensor,
                    kind,
                    unit,
                    ts,
                    f"entPhySensorPrecision.{index} = {precision} is outside -8..9",
                )
            )
            continue
        value = raw * 10.0 ** (exponent - precision)
        if status == SENSOR_NONOPERATIONAL:
            out.append(
                reading(
                    device,
                    sensor,
                    kind,
                    unit,
                    value,
                    ts,
                    status="fault",
                    detail=f"entPhySensorOperStatus.{index} says nonoperational",
                )
            )
        else:
            out.append(reading(device, sensor, kind, unit, value, ts, low=low, high=high))
    return out


def decode_interfaces(
    device: str,
    rows: Iterable[tuple[str, Value]],
    ports: Mapping[int, int],
    ts: float,
) -> list[Reading]:
    """IF-MIB status and error counters as readings. ``ports`` maps ifIndex to a bridge
    port number (sensor ``port/P/...``); other interfaces are ``if/IFINDEX/...``."""
    rows = list(rows)
    oper = column(rows, IF_OPER)
    admin = column(rows, IF_ADMIN)
    in_errors = column(rows, IF_IN_ERRORS)
    out_errors = column(rows, IF_OUT_ERRORS)
    has_errors = bool(in_errors or out_errors)
    out: list[Reading] = []
    for index in sorted(oper.keys() | admin.keys(), key=index_key):
        if_index = int(index) if index.isdigit() else None
        port = ports.get(if_index) if if_index is not None else None
        base = f"port/{port}" if port is not None else f"if/{index}"
        code = as_int(oper.get(index))
        if code is None or code == IF_UNKNOWN or not 1 <= code <= 7:
            out.append(
                unknown(
                    device,
                    f"{base}/oper",
                    "port_oper",
                    BOOLEAN,
                    ts,
                    f"ifOperStatus.{index} = {oper.get(index, MISSING)!r}",
                )
            )
        else:
            out.append(
                reading(device, f"{base}/oper", "port_oper", BOOLEAN, float(code == IF_UP), ts)
            )
        admin_code = as_int(admin.get(index))
        out.append(
            reading(
                device,
                f"{base}/admin",
                "port_admin",
                BOOLEAN,
                None if admin_code not in (1, 2) else float(admin_code == 1),
                ts,
                detail=f"ifAdminStatus.{index} = {admin.get(index, MISSING)!r}",
            )
        )
        if has_errors:
            # A device that publishes no error counters at all is not an unknown; a
            # hole in a published column is.
            ins, outs = as_int(in_errors.get(index)), as_int(out_errors.get(index))
            total = None if ins is None or outs is None else float(ins + outs)
            out.append(
                reading(
                    device,
                    f"{base}/errors",
                    "port_errors",
                    COUNT,
                    total,
                    ts,
                    low=0,
                    detail="ifInErrors/ifOutErrors row missing or not a counter",
                )
            )
    return out


def decode_base_ports(rows: Iterable[tuple[str, Value]]) -> dict[int, int]:
    """BRIDGE-MIB dot1dBasePortIfIndex as {ifIndex: bridge port}."""
    found: dict[int, int] = {}
    for index, value in column(rows, BASE_PORT_IFINDEX).items():
        if_index = as_int(value)
        if index.isdigit() and if_index is not None:
            found[if_index] = int(index)
    return found


def entity_identity(rows: Iterable[tuple[str, Value]]) -> tuple[str, str, str]:
    """(model, serial, software revision) of the first ENTITY-MIB entry that has a
    model name: the chassis, on the switches we know."""
    rows = list(rows)
    models = column(rows, ENT_MODEL)
    serials = column(rows, ENT_SERIAL)
    revisions = column(rows, ENT_SOFTWARE_REV)
    for index in sorted(models, key=index_key):
        model = as_str(models[index])
        if model:
            return model, as_str(serials.get(index)), as_str(revisions.get(index))
    return "", "", ""


class GenericReader:
    """Health of a device of unknown model: system uptime, interfaces, entity sensors and
    UPS-MIB when the agent publishes them."""

    def __init__(self, device: str, client: SnmpClient) -> None:
        self.device = device
        self.client = client
        self._names: dict[str, Value] | None = None
        self._has_ups: bool | None = None
        self._ups = ups_mib.UpsDriver()  # remembers the UPS family it detects

    async def read(self, ts: float) -> list[Reading]:
        from agent.health.readers.ups import status_readings  # noqa: PLC0415 - avoid a cycle

        system = decode_system(await self.client.get(list(SYSTEM_OIDS)))
        out = [reading(self.device, "system/uptime", "uptime", "s", system.uptime_s, ts, low=0)]
        if_rows = await self.client.walk(IF_ENTRY)
        out += decode_interfaces(self.device, if_rows, {}, ts)
        if self._names is None:
            self._names = column(await self.client.walk(ENT_NAME), ENT_NAME)
        out += decode_entity_sensors(
            self.device, await self.client.walk(ENT_SENSOR), self._names, ts
        )
        driver = self._ups
        if self._has_ups is None:
            self._has_ups = await driver.is_ups(self.client)
        if self._has_ups:
            out += status_readings(self.device, await driver.read_status(self.client), ts)
        return out

    async def identify(self) -> Identity:
        system = decode_system(await self.client.get(list(SYSTEM_OIDS)))
        model, serial, revision = entity_identity(await self.client.walk(ENT_PHYSICAL))
        vendor = VENDOR_IDENTS.get(enterprise_of(system.object_id) or 0)
        if not model and vendor is not None:
            model, serial, revision = await self._vendor_identity(vendor)
        return Identity(
            device=self.device,
            family="generic",
            model=model,
            serial=serial,
            firmware=revision,
            sys_object_id=system.object_id,
            sys_descr=system.descr,
        )

    async def _vendor_identity(self, ident: VendorIdent) -> tuple[str, str, str]:
        """(model, serial, firmware) from the maker's identity objects ("" where absent)."""
        objects = [ident.model, ident.serial, ident.firmware]
        values = await self.client.get([o.oid for o in objects if o is not None])
        model, serial, firmware = (
            as_str(values.get(o.oid)).strip() if o is not None else "" for o in objects
        )
        return model, serial, firmware
