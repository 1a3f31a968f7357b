"""What the health watch reads from a PDU besides outlet states, per family, as data.

The PDU families (``agent.devices.pdu``) describe switching and identity; health also
needs the metering: whole-unit totals, inlets (cords, infeeds), phases (lines), breakers
(banks, circuits, branches, groups), outlets, and the environment probe. Each entry
quotes its MIB object and unit; ``scale`` turns the raw integer into A, V, W, degC or
%RH. Raritan publishes a decimal-digit count per sensor instead of a fixed scale:
``digits`` names the object to read it from. A raw -1 is the MIBs' "not supported"
and reads as unknown.

A :class:`Table` is one walked column giving one reading per row, named by ``sensor``
with ``{n}`` the row's number: the row index when it is one arc, otherwise 1..N in
index order (or the value of ``number``, a column of the same table). ``select`` keeps
only the rows whose selector column has one of the given values (APC rPDU's load table
mixes phase rows, BankNumber 0, and bank rows). ``suffix`` keeps the rows whose index
ends with it and strips it (Raritan's sensor-type arc). Outlet tables
(``outlet/{n}/...``) are numbered like the outlets themselves. ``size`` is the MIB's
table-size object, when it has one: with it a table without rows is "empty" (the device
has the table and no rows), without it "absent".

Reading names are the contract of issue 13 (inlet/current and inlet/power are
whole-unit totals, which threshold configs use).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.devices.pdu.base import ent


@dataclass(frozen=True, slots=True)
class Scalar:
    """One object instance: ``raw * scale``, or ``raw * 10**-digits`` when ``digits``."""

    oid: str
    scale: float
    mib: str
    digits: str | None = None


@dataclass(frozen=True, slots=True)
class Select:
    """Keep a row when ``column`` (same index) holds one of ``values``; ``above``: when
    it holds more than that number."""

    column: str
    mib: str
    values: frozenset[int] = frozenset()
    above: int | None = None

    def keeps(self, value: int | None) -> bool:
        if value is None:
            return False
        if self.above is not None:
            return value > self.above
        return value in self.values


@dataclass(frozen=True, slots=True)
class Table:
    """One metered column, walked: one reading per row (see the module text)."""

    sensor: str  # e.g. "phase/{n}/current"
    column: str
    scale: float
    unit: str  # "A", "V" or "W"
    mib: str
    number: str | None = None  # a column whose value is the row's number
    select: Select | None = None
    suffix: str = ""
    digits: str | None = None  # per-row decimal-digit column (same index after suffix)
    size: str | None = None  # the MIB's table-size object instance
    size_mib: str = ""
    max_number: int | None = None  # rows numbered above it are totals, not lines

    @property
    def quantity(self) -> str:
        return self.sensor.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class ExternalSensors:
    """Raritan's external sensor table: a type column says which rows are temperature
    or humidity, a digits column scales each row's value."""

    type_column: str
    digits_column: str
    value_column: str
    temperature_type: int
    humidity_type: int
    mib: str


@dataclass(frozen=True, slots=True)
class Metering:
    inlet_current: Scalar | None = None  # A, the whole unit
    inlet_power: Scalar | None = None  # W, the whole unit
    temperature: Scalar | None = None  # degC
    humidity: Scalar | None = None  # %RH
    tables: tuple[Table, ...] = ()
    external: ExternalSensors | None = None
    # When the unit has no total object: sum these tables' rows into inlet/current and
    # inlet/power (Sentry3 towers' infeeds, Sentry4 cords).
    sum_current: str | None = None  # a Table.sensor, e.g. "inlet/{n}/current"
    sum_power: str | None = None

    def table(self, sensor: str) -> Table | None:
        return next((t for t in self.tables if t.sensor == sensor), None)


_APC = "PowerNet-MIB"
_CPDU = "CPDU-MIB"
_RARITAN = "PDU2-MIB"
_PX = "PDU-MIB"
_EATON = "EATON-EPDU-MIB"
_S3 = "Sentry3-MIB"
_S4 = "Sentry4-MIB"
_DELL = "DellrPDU-MIB"
_CPS = "CPS-MIB"
_VERTIV = "VERTIV-V5-MIB"
_GEIST3 = "GEIST-MIB-V3"
_SDB = "SCHLEIFENBAUER-DATABUS-MIB"
_TLP = "TRIPPLITE-PRODUCTS"

_RPDU_LOAD = ent("318.1.1.12.2.3.1.1")  # rPDULoadStatusEntry
_RPDU2 = "318.1.1.26"
_CPDU_U = "318.1.1.32"
_PDU2 = "13742.6"
_DELL_R = "674.10903.200.2.200"
_V5 = "21239.5.2.3"
_SDB_D = "31034.12.1.1.2"
_TLP_D = "850.1.1.3.2.3"
_ATS_D = "850.1.1.3.4.3"


def _rpdu_load(sensor: str, number_column: int, select: Select) -> Table:
    return Table(
        sensor,
        f"{_RPDU_LOAD}.2",
        0.1,
        "A",
        f"{_APC}::rPDULoadStatusLoad",
        number=f"{_RPDU_LOAD}.{number_column}",
        select=select,
    )


def _raritan_sensor(sensor: str, column: str, type_code: int, unit: str, mib: str) -> Table:
    """measurements*SensorValue rows for one SensorTypeEnumeration code."""
    return Table(sensor, column, 1.0, unit, mib, suffix=f".{type_code}")


METERING: dict[str, Metering] = {
    # rPDU2: currents in tenths of A, device and phase power in hundredths of kW,
    # voltages in V, outlet power in W, temperature in tenths of degC, humidity in %RH
    # (PowerNet-MIB object texts). Tables are indexed by their own row index; the
    # Number column gives the phase / bank / outlet number.
    "apc_rpdu2": Metering(
        inlet_current=Scalar(ent(f"{_RPDU2}.6.3.1.5.1"), 0.1, f"{_APC}::rPDU2PhaseStatusCurrent"),
        inlet_power=Scalar(ent(f"{_RPDU2}.4.3.1.5.1"), 10.0, f"{_APC}::rPDU2DeviceStatusPower"),
        temperature=Scalar(
            ent(f"{_RPDU2}.10.2.2.1.8.1"), 0.1, f"{_APC}::rPDU2SensorTempHumidityStatusTempC"
        ),
        humidity=Scalar(
            ent(f"{_RPDU2}.10.2.2.1.10.1"),
            1.0,
            f"{_APC}::rPDU2SensorTempHumidityStatusRelativeHumidity",
        ),
        tables=(
            *(
                Table(
                    f"phase/{{n}}/{quantity}",
                    ent(f"{_RPDU2}.6.3.1.{col}"),
                    scale,
                    unit,
                    f"{_APC}::rPDU2PhaseStatus{name}",
                    number=ent(f"{_RPDU2}.6.3.1.3"),  # rPDU2PhaseStatusNumber
                    size=ent(f"{_RPDU2}.5.0"),
                    size_mib=f"{_APC}::rPDU2PhaseTableSize",
                )
                for quantity, col, scale, unit, name in (
                    ("current", 5, 0.1, "A", "Current"),
                    ("voltage", 6, 1.0, "V", "Voltage"),
                    ("power", 7, 10.0, "W", "Power"),
                )
            ),
            Table(
                "breaker/{n}/current",
                ent(f"{_RPDU2}.8.3.1.5"),
                0.1,
                "A",
                f"{_APC}::rPDU2BankStatusCurrent",
                number=ent(f"{_RPDU2}.8.3.1.3"),  # rPDU2BankStatusNumber
                size=ent(f"{_RPDU2}.7.0"),
                size_mib=f"{_APC}::rPDU2BankTableSize",
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_RPDU2}.9.4.3.1.6"),
                0.1,
                "A",
                f"{_APC}::rPDU2OutletMeteredStatusCurrent",
                size=ent(f"{_RPDU2}.9.3.0"),
                size_mib=f"{_APC}::rPDU2OutletMeteredTableSize",
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_RPDU2}.9.4.3.1.7"),
                1.0,
                "W",
                f"{_APC}::rPDU2OutletMeteredStatusPower",
                size=ent(f"{_RPDU2}.9.3.0"),
                size_mib=f"{_APC}::rPDU2OutletMeteredTableSize",
            ),
        ),
    ),
    # rPDU (first generation): one load table, rows of phases (BankNumber 0, numbered
    # by PhaseNumber) and of banks (numbered by BankNumber), tenths of A.
    "apc_rpdu": Metering(
        inlet_current=Scalar(ent("318.1.1.12.2.3.1.1.2.1"), 0.1, f"{_APC}::rPDULoadStatusLoad"),
        inlet_power=Scalar(ent("318.1.1.12.1.16.0"), 1.0, f"{_APC}::rPDUIdentDevicePowerWatts"),
        tables=(
            _rpdu_load(
                "phase/{n}/current",
                4,  # rPDULoadStatusPhaseNumber
                Select(f"{_RPDU_LOAD}.5", f"{_APC}::rPDULoadStatusBankNumber", frozenset({0})),
            ),
            _rpdu_load(
                "breaker/{n}/current",
                5,  # rPDULoadStatusBankNumber
                Select(f"{_RPDU_LOAD}.5", f"{_APC}::rPDULoadStatusBankNumber", above=0),
            ),
            Table(
                "outlet/{n}/current",
                ent("318.1.1.12.3.5.1.1.7"),
                0.1,
                "A",
                f"{_APC}::rPDUOutletStatusLoad",
            ),
        ),
    ),
    # CPDU-MIB: indexed unit(1).row; currents in hundredths of A, voltages in V,
    # powers in W (object DESCRIPTIONs).
    "apc_cpdu": Metering(
        inlet_current=Scalar(
            ent(f"{_CPDU_U}.3.4.1.5.1.1"), 0.01, f"{_CPDU}::pduInputPhaseStatusCurrent"
        ),
        inlet_power=Scalar(ent(f"{_CPDU_U}.2.4.1.4.1"), 1.0, f"{_CPDU}::pduUnitStatusActivePower"),
        tables=(
            Table(
                "phase/{n}/current",
                ent(f"{_CPDU_U}.3.4.1.5.1"),
                0.01,
                "A",
                f"{_CPDU}::pduInputPhaseStatusCurrent",
            ),
            Table(
                "phase/{n}/voltage",
                ent(f"{_CPDU_U}.3.4.1.6.1"),
                1.0,
                "V",
                f"{_CPDU}::pduInputPhaseStatusVoltage",
            ),
            Table(
                "phase/{n}/power",
                ent(f"{_CPDU_U}.3.4.1.7.1"),
                1.0,
                "W",
                f"{_CPDU}::pduInputPhaseStatusActivePower",
            ),
            Table(
                "breaker/{n}/current",
                ent(f"{_CPDU_U}.4.4.1.5.1"),
                0.01,
                "A",
                f"{_CPDU}::pduCircuitBreakerStatusCurrent",
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_CPDU_U}.5.9.1.5.1"),
                0.01,
                "A",
                f"{_CPDU}::pduOutletMeteredStatusCurrent",
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_CPDU_U}.5.9.1.6.1"),
                1.0,
                "W",
                f"{_CPDU}::pduOutletMeteredStatusActivePower",
            ),
        ),
    ),
    # DellrPDU-MIB: phase current in tenths of A, voltage in V, phase and device power
    # in hundredths of kW, outlet current in A, outlet power in W.
    "dell_rpdu": Metering(
        inlet_current=Scalar(
            ent(f"{_DELL_R}.120.2.1.4.1"), 0.1, f"{_DELL}::rPDUPhaseStatusCurrent"
        ),
        inlet_power=Scalar(ent(f"{_DELL_R}.110.2.1.3.1"), 10.0, f"{_DELL}::rPDUDeviceStatusPower"),
        tables=(
            *(
                Table(
                    f"phase/{{n}}/{quantity}",
                    ent(f"{_DELL_R}.120.2.1.{col}"),
                    scale,
                    unit,
                    f"{_DELL}::rPDUPhaseStatus{name}",
                    number=ent(f"{_DELL_R}.120.2.1.2"),  # rPDUPhaseStatusNumber
                    size=ent(f"{_DELL_R}.120.1.0"),
                    size_mib=f"{_DELL}::rPDUPhaseTableSize",
                )
                for quantity, col, scale, unit, name in (
                    ("current", 4, 0.1, "A", "Current"),
                    ("voltage", 5, 1.0, "V", "Voltage"),
                    ("power", 6, 10.0, "W", "Power"),
                )
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_DELL_R}.130.2.2.1.6"),
                1.0,
                "A",
                f"{_DELL}::rPDUOutletMeteredStatusCurrent",
                size=ent(f"{_DELL_R}.130.2.1.0"),
                size_mib=f"{_DELL}::rPDUOutletMeteredTableSize",
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_DELL_R}.130.2.2.1.8"),
                1.0,
                "W",
                f"{_DELL}::rPDUOutletMeteredStatusPower",
                size=ent(f"{_DELL_R}.130.2.1.0"),
                size_mib=f"{_DELL}::rPDUOutletMeteredTableSize",
            ),
        ),
    ),
    # PDU2-MIB: measurements*SensorValue scaled by *SensorDecimalDigits; sensors are
    # indexed by pduId(1).<inlet|outlet|ocp>[.<pole>].<SensorTypeEnumeration>:
    # rmsCurrent(1), rmsVoltage(4), activePower(5).
    "raritan_pdu2": Metering(
        inlet_current=Scalar(
            ent(f"{_PDU2}.5.2.3.1.4.1.1.1"),
            1.0,
            f"{_RARITAN}::measurementsInletSensorValue",
            digits=ent(f"{_PDU2}.3.3.4.1.7.1.1.1"),
        ),
        inlet_power=Scalar(
            ent(f"{_PDU2}.5.2.3.1.4.1.1.5"),
            1.0,
            f"{_RARITAN}::measurementsInletSensorValue",
            digits=ent(f"{_PDU2}.3.3.4.1.7.1.1.5"),
        ),
        tables=(
            *(
                Table(
                    f"inlet/{{n}}/{quantity}",
                    ent(f"{_PDU2}.5.2.3.1.4.1"),
                    1.0,
                    unit,
                    f"{_RARITAN}::measurementsInletSensorValue",
                    suffix=f".{code}",
                    digits=ent(f"{_PDU2}.3.3.4.1.7.1"),  # inletSensorDecimalDigits
                )
                for quantity, code, unit in (
                    ("current", 1, "A"),
                    ("voltage", 4, "V"),
                    ("power", 5, "W"),
                )
            ),
            *(
                # measurementsInletPoleSensorValue.<pdu>.<inlet 1>.<pole>.<type>
                Table(
                    f"phase/{{n}}/{quantity}",
                    ent(f"{_PDU2}.5.2.4.1.4.1.1"),
                    1.0,
                    unit,
                    f"{_RARITAN}::measurementsInletPoleSensorValue",
                    suffix=f".{code}",
                    digits=ent(f"{_PDU2}.3.3.6.1.7.1.1"),  # inletPoleSensorDecimalDigits
                )
                for quantity, code, unit in (
                    ("current", 1, "A"),
                    ("voltage", 4, "V"),
                    ("power", 5, "W"),
                )
            ),
            Table(
                "breaker/{n}/current",
                ent(f"{_PDU2}.5.3.3.1.4.1"),
                1.0,
                "A",
                f"{_RARITAN}::measurementsOverCurrentProtectorSensorValue",
                suffix=".1",
                digits=ent(f"{_PDU2}.3.4.4.1.7.1"),  # overCurrentProtectorSensorDecimalDigits
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_PDU2}.5.4.3.1.4.1"),
                1.0,
                "A",
                f"{_RARITAN}::measurementsOutletSensorValue",
                suffix=".1",
                digits=ent(f"{_PDU2}.3.5.4.1.7.1"),  # outletSensorDecimalDigits
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_PDU2}.5.4.3.1.4.1"),
                1.0,
                "W",
                f"{_RARITAN}::measurementsOutletSensorValue",
                suffix=".5",
                digits=ent(f"{_PDU2}.3.5.4.1.7.1"),
            ),
        ),
        external=ExternalSensors(
            type_column=ent(f"{_PDU2}.3.6.3.1.2.1"),  # externalSensorType
            digits_column=ent(f"{_PDU2}.3.6.3.1.17.1"),  # externalSensorDecimalDigits
            value_column=ent(f"{_PDU2}.5.5.3.1.4.1"),  # measurementsExternalSensorValue
            temperature_type=10,
            humidity_type=11,
            mib=_RARITAN,
        ),
    ),
    # PDU-MIB (PX): MilliAmps, MilliVolts, Watts.
    "raritan_px": Metering(
        inlet_current=Scalar(ent("13742.4.1.3.1.1.0"), 0.001, f"{_PX}::unitCurrent"),
        inlet_power=Scalar(ent("13742.4.1.3.1.3.0"), 1.0, f"{_PX}::unitActivePower"),
        tables=(
            Table(
                "inlet/{n}/current", ent("13742.4.1.20.2.1.7"), 0.001, "A", f"{_PX}::inletCurrent"
            ),
            Table(
                "inlet/{n}/voltage", ent("13742.4.1.20.2.1.8"), 0.001, "V", f"{_PX}::inletVoltage"
            ),
            Table(
                "inlet/{n}/power", ent("13742.4.1.20.2.1.9"), 1.0, "W", f"{_PX}::inletActivePower"
            ),
            Table(
                "phase/{n}/current",
                ent("13742.4.1.4.2.1.3"),
                0.001,
                "A",
                f"{_PX}::lineCurrent",
                size=ent("13742.4.1.4.1.0"),
                size_mib=f"{_PX}::lineCurrentCount",
            ),
            Table(
                "phase/{n}/voltage",
                ent("13742.4.1.6.2.1.3"),
                0.001,
                "V",
                f"{_PX}::lineVoltage",
                size=ent("13742.4.1.6.1.0"),
                size_mib=f"{_PX}::lineVoltageCount",
            ),
            Table(
                "breaker/{n}/current",
                ent("13742.4.1.5.2.1.5"),
                0.001,
                "A",
                f"{_PX}::circuitBreakerCurrent",
                size=ent("13742.4.1.5.1.0"),
                size_mib=f"{_PX}::circuitBreakerCount",
            ),
            Table(
                "outlet/{n}/current", ent("13742.4.1.2.2.1.4"), 0.001, "A", f"{_PX}::outletCurrent"
            ),
            Table(
                "outlet/{n}/power", ent("13742.4.1.2.2.1.7"), 1.0, "W", f"{_PX}::outletActivePower"
            ),
        ),
    ),
    # EATON-EPDU-MIB, strappingIndex 0, input 1: inputCurrent and outletCurrent in mA,
    # inputVoltage in mV, watts in W, temperatureValue and humidityValue in tenths. On
    # three-phase units inputWatts row 4 is the total: phases are rows 1..3.
    "eaton_epdu": Metering(
        inlet_current=Scalar(ent("534.6.6.7.3.3.1.4.0.1.1"), 0.001, f"{_EATON}::inputCurrent"),
        inlet_power=Scalar(ent("534.6.6.7.3.4.1.4.0.1.1"), 1.0, f"{_EATON}::inputWatts"),
        temperature=Scalar(ent("534.6.6.7.7.1.1.4.0.1"), 0.1, f"{_EATON}::temperatureValue"),
        humidity=Scalar(ent("534.6.6.7.7.2.1.4.0.1"), 0.1, f"{_EATON}::humidityValue"),
        tables=(
            Table(
                "phase/{n}/current",
                ent("534.6.6.7.3.3.1.4.0.1"),
                0.001,
                "A",
                f"{_EATON}::inputCurrent",
                max_number=3,
            ),
            Table(
                "phase/{n}/voltage",
                ent("534.6.6.7.3.2.1.3.0.1"),
                0.001,
                "V",
                f"{_EATON}::inputVoltage",
                max_number=3,
            ),
            Table(
                "phase/{n}/power",
                ent("534.6.6.7.3.4.1.4.0.1"),
                1.0,
                "W",
                f"{_EATON}::inputWatts",
                max_number=3,
            ),
            Table(
                "breaker/{n}/current",
                ent("534.6.6.7.5.4.1.3.0"),
                0.001,
                "A",
                f"{_EATON}::groupCurrent",
            ),
            Table(
                "outlet/{n}/current",
                ent("534.6.6.7.6.4.1.3.0"),
                0.001,
                "A",
                f"{_EATON}::outletCurrent",
            ),
            Table(
                "outlet/{n}/power", ent("534.6.6.7.6.5.1.3.0"), 1.0, "W", f"{_EATON}::outletWatts"
            ),
        ),
    ),
    # Sentry3-MIB: every tower's infeeds are inlets (numbered across towers), hundredths
    # of A, tenths of V, W; systemTotalPower is the whole system.
    "servertech_sentry3": Metering(
        inlet_power=Scalar(ent("1718.3.1.6.0"), 1.0, f"{_S3}::systemTotalPower"),
        tables=(
            Table("inlet/{n}/current", ent("1718.3.2.2.1.7"), 0.01, "A", f"{_S3}::infeedLoadValue"),
            Table("inlet/{n}/voltage", ent("1718.3.2.2.1.11"), 0.1, "V", f"{_S3}::infeedVoltage"),
            Table("inlet/{n}/power", ent("1718.3.2.2.1.12"), 1.0, "W", f"{_S3}::infeedPower"),
            Table(
                "outlet/{n}/current", ent("1718.3.2.3.1.7"), 0.01, "A", f"{_S3}::outletLoadValue"
            ),
            Table("outlet/{n}/power", ent("1718.3.2.3.1.14"), 1.0, "W", f"{_S3}::outletPower"),
        ),
        sum_current="inlet/{n}/current",
    ),
    # Sentry4-MIB: input cords (unit.cord) are inlets; lines, phases and branches of
    # unit 1 cord 1 are phases and breakers; hundredths of A, tenths of V, W.
    "servertech_sentry4": Metering(
        tables=(
            Table(
                "inlet/{n}/power",
                ent("1718.4.1.3.3.1.3"),
                1.0,
                "W",
                f"{_S4}::st4InputCordActivePower",
            ),
            Table(
                "phase/{n}/current",
                ent("1718.4.1.4.3.1.3.1.1"),
                0.01,
                "A",
                f"{_S4}::st4LineCurrent",
            ),
            Table(
                "phase/{n}/voltage",
                ent("1718.4.1.5.3.1.3.1.1"),
                0.1,
                "V",
                f"{_S4}::st4PhaseVoltage",
            ),
            Table(
                "phase/{n}/power",
                ent("1718.4.1.5.3.1.8.1.1"),
                1.0,
                "W",
                f"{_S4}::st4PhaseActivePower",
            ),
            Table(
                "breaker/{n}/current",
                ent("1718.4.1.7.3.1.3"),
                0.01,
                "A",
                f"{_S4}::st4BranchCurrent",
            ),
            Table(
                "outlet/{n}/current", ent("1718.4.1.8.3.1.3"), 0.01, "A", f"{_S4}::st4OutletCurrent"
            ),
            Table(
                "outlet/{n}/power",
                ent("1718.4.1.8.3.1.7"),
                1.0,
                "W",
                f"{_S4}::st4OutletActivePower",
            ),
        ),
        sum_current="phase/{n}/current",
        sum_power="inlet/{n}/power",
    ),
    # CPS-MIB: the ePDU load table mirrors APC rPDU (tenths of A).
    "cyberpower_epdu": Metering(
        inlet_current=Scalar(ent("3808.1.1.3.2.3.1.1.2.1"), 0.1, f"{_CPS}::ePDULoadStatusLoad"),
        tables=(
            Table(
                "phase/{n}/current",
                ent("3808.1.1.3.2.3.1.1.2"),
                0.1,
                "A",
                f"{_CPS}::ePDULoadStatusLoad",
                number=ent("3808.1.1.3.2.3.1.1.4"),  # ePDULoadStatusPhaseNumber
                select=Select(
                    ent("3808.1.1.3.2.3.1.1.5"),
                    f"{_CPS}::ePDULoadStatusBankNumber",
                    frozenset({0}),
                ),
            ),
            Table(
                "breaker/{n}/current",
                ent("3808.1.1.3.2.3.1.1.2"),
                0.1,
                "A",
                f"{_CPS}::ePDULoadStatusLoad",
                number=ent("3808.1.1.3.2.3.1.1.5"),  # ePDULoadStatusBankNumber
                select=Select(
                    ent("3808.1.1.3.2.3.1.1.5"), f"{_CPS}::ePDULoadStatusBankNumber", above=0
                ),
            ),
        ),
    ),
    # VERTIV-V5-MIB: centiamps, decivolts, watts.
    "vertiv_geist": Metering(
        inlet_power=Scalar(ent(f"{_V5}.1.1.9.1"), 1.0, f"{_VERTIV}::pduTotalRealPower"),
        tables=(
            Table(
                "phase/{n}/current", ent(f"{_V5}.2.1.8"), 0.01, "A", f"{_VERTIV}::pduPhaseCurrent"
            ),
            Table(
                "phase/{n}/voltage", ent(f"{_V5}.2.1.4"), 0.1, "V", f"{_VERTIV}::pduPhaseVoltage"
            ),
            Table(
                "phase/{n}/power", ent(f"{_V5}.2.1.12"), 1.0, "W", f"{_VERTIV}::pduPhaseRealPower"
            ),
            Table(
                "breaker/{n}/current",
                ent(f"{_V5}.3.1.4"),
                0.01,
                "A",
                f"{_VERTIV}::pduBreakerCurrent",
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_V5}.6.1.8"),
                0.01,
                "A",
                f"{_VERTIV}::pduOutletMeterCurrent",
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_V5}.6.1.12"),
                1.0,
                "W",
                f"{_VERTIV}::pduOutletMeterRealPower",
            ),
        ),
        sum_current="phase/{n}/current",
    ),
    # GEIST-MIB-V3: ctrlOutletDeciAmps "0.1 Amps (rms)", ctrlOutletPower "Watts".
    "geist_v3": Metering(
        tables=(
            Table(
                "outlet/{n}/current",
                ent("21239.2.16.1.6"),
                0.1,
                "A",
                f"{_GEIST3}::ctrlOutletDeciAmps",
            ),
            Table(
                "outlet/{n}/power", ent("21239.2.16.1.15"), 1.0, "W", f"{_GEIST3}::ctrlOutletPower"
            ),
        ),
    ),
    # SCHLEIFENBAUER-DATABUS-MIB, unit 1: DeciAmpere and DeciVolt are hundredths
    # (DISPLAY-HINT "d-2"), powers in W.
    "schleifenbauer": Metering(
        inlet_current=Scalar(ent(f"{_SDB_D}.6.1.1.5.1.1"), 0.01, f"{_SDB}::sdbDevInActualCurrent"),
        inlet_power=Scalar(ent(f"{_SDB_D}.6.1.1.10.1.1"), 1.0, f"{_SDB}::sdbDevInPowerWatt"),
        tables=(
            Table(
                "inlet/{n}/current",
                ent(f"{_SDB_D}.6.1.1.5.1"),
                0.01,
                "A",
                f"{_SDB}::sdbDevInActualCurrent",
            ),
            Table(
                "inlet/{n}/voltage",
                ent(f"{_SDB_D}.6.1.1.7.1"),
                0.01,
                "V",
                f"{_SDB}::sdbDevInActualVoltage",
            ),
            Table(
                "inlet/{n}/power",
                ent(f"{_SDB_D}.6.1.1.10.1"),
                1.0,
                "W",
                f"{_SDB}::sdbDevInPowerWatt",
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_SDB_D}.7.2.1.5.1"),
                0.01,
                "A",
                f"{_SDB}::sdbDevOutMtActualCurrent",
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_SDB_D}.7.2.1.11.1"),
                1.0,
                "W",
                f"{_SDB}::sdbDevOutMtPowerWatt",
            ),
        ),
    ),
    # TRIPPLITE-PRODUCTS, device 1: "0.01 Amps", "0.1 Volts", "Watts".
    "tripplite_pdu": Metering(
        inlet_current=Scalar(
            ent(f"{_TLP_D}.1.2.1.7.1.1"), 0.01, f"{_TLP}::tlpPduInputPhaseCurrent"
        ),
        tables=(
            Table(
                "phase/{n}/current",
                ent(f"{_TLP_D}.1.2.1.7.1"),
                0.01,
                "A",
                f"{_TLP}::tlpPduInputPhaseCurrent",
            ),
            Table(
                "phase/{n}/voltage",
                ent(f"{_TLP_D}.1.2.1.4.1"),
                0.1,
                "V",
                f"{_TLP}::tlpPduInputPhaseVoltage",
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_TLP_D}.3.1.1.8.1"),
                0.01,
                "A",
                f"{_TLP}::tlpPduOutletCurrent",
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_TLP_D}.3.1.1.9.1"),
                1.0,
                "W",
                f"{_TLP}::tlpPduOutletPower",
            ),
        ),
    ),
    # TRIPPLITE-PRODUCTS tlpAts, device 1: the output is the whole load; each input
    # source (tlpAtsInputPhaseTable, indexed line.phase) is an inlet.
    "tripplite_ats": Metering(
        inlet_current=Scalar(ent(f"{_ATS_D}.2.1.1.5.1.1"), 0.01, f"{_TLP}::tlpAtsOutputCurrent"),
        tables=(
            Table(
                "inlet/{n}/voltage",
                ent(f"{_ATS_D}.1.2.1.5.1"),
                0.1,
                "V",
                f"{_TLP}::tlpAtsInputPhaseVoltage",
            ),
            Table(
                "inlet/{n}/current",
                ent(f"{_ATS_D}.1.2.1.8.1"),
                0.01,
                "A",
                f"{_TLP}::tlpAtsInputPhaseCurrent",
            ),
            Table(
                "outlet/{n}/current",
                ent(f"{_ATS_D}.3.1.1.8.1"),
                0.01,
                "A",
                f"{_TLP}::tlpAtsOutletCurrent",
            ),
            Table(
                "outlet/{n}/power",
                ent(f"{_ATS_D}.3.1.1.9.1"),
                1.0,
                "W",
                f"{_TLP}::tlpAtsOutletPower",
            ),
        ),
    ),
}
