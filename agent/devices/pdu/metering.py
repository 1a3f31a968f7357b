"""What the health watch reads from a PDU besides outlet states, per family, as data.

The PDU drivers (``agent.devices.pdu``) describe switching and identity; health also
needs per-outlet metering and the environment probe (temperature, humidity), which the
switching families do not carry. Each entry quotes its MIB object and unit; the scale
turns the raw integer into A, W, degC or %RH. Raritan publishes a decimal-digit count
per sensor instead of a fixed scale: ``digits`` names the object to read it from.

Families without an entry here fall back to the driver's ``read_inlet`` (inlet current,
power and temperature) and report no outlet metering.
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
class OutletColumn:
    """A per-outlet column: rows ``{column}.{outlet}{suffix}``. ``digits_column`` (same
    index) holds Raritan's decimal-digit count for each row."""

    column: str
    scale: float
    mib: str
    suffix: str = ""
    digits_column: str | None = None


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
    inlet_current: Scalar | None = None  # A
    inlet_power: Scalar | None = None  # W
    temperature: Scalar | None = None  # degC
    humidity: Scalar | None = None  # %RH
    outlet_current: OutletColumn | None = None  # A
    outlet_power: OutletColumn | None = None  # W
    external: ExternalSensors | None = None


_APC = "PowerNet-MIB"
_RARITAN = "PDU2-MIB"
_EATON = "EATON-EPDU-MIB"

METERING: dict[str, Metering] = {
    # rPDU2: currents in tenths of A, device power in hundredths of kW, outlet power in
    # W, temperature in tenths of degC, humidity in %RH (PowerNet-MIB object texts).
    "apc_rpdu2": Metering(
        inlet_current=Scalar(ent("318.1.1.26.6.3.1.5.1"), 0.1, f"{_APC}::rPDU2PhaseStatusCurrent"),
        inlet_power=Scalar(ent("318.1.1.26.4.3.1.5.1"), 10.0, f"{_APC}::rPDU2DeviceStatusPower"),
        temperature=Scalar(
            ent("318.1.1.26.10.2.2.1.8.1"), 0.1, f"{_APC}::rPDU2SensorTempHumidityStatusTempC"
        ),
        humidity=Scalar(
            ent("318.1.1.26.10.2.2.1.10.1"),
            1.0,
            f"{_APC}::rPDU2SensorTempHumidityStatusRelativeHumidity",
        ),
        outlet_current=OutletColumn(
            ent("318.1.1.26.9.4.3.1.6"), 0.1, f"{_APC}::rPDU2OutletMeteredStatusCurrent"
        ),
        outlet_power=OutletColumn(
            ent("318.1.1.26.9.4.3.1.7"), 1.0, f"{_APC}::rPDU2OutletMeteredStatusPower"
        ),
    ),
    # rPDU (first generation): rPDULoadStatusLoad in tenths of A, power in W.
    "apc_rpdu": Metering(
        inlet_current=Scalar(ent("318.1.1.12.2.3.1.1.2.1"), 0.1, f"{_APC}::rPDULoadStatusLoad"),
        inlet_power=Scalar(ent("318.1.1.12.1.16.0"), 1.0, f"{_APC}::rPDUIdentDevicePowerWatts"),
    ),
    # PDU2-MIB: measurements*SensorValue scaled by *SensorDecimalDigits; inlet and
    # outlet sensors are indexed by pduId(1).<inlet or outlet>.<SensorTypeEnumeration>:
    # rmsCurrent(1), activePower(5).
    "raritan_pdu2": Metering(
        inlet_current=Scalar(
            ent("13742.6.5.2.3.1.4.1.1.1"),
            1.0,
            f"{_RARITAN}::measurementsInletSensorValue",
            digits=ent("13742.6.3.3.4.1.7.1.1.1"),
        ),
        inlet_power=Scalar(
            ent("13742.6.5.2.3.1.4.1.1.5"),
            1.0,
            f"{_RARITAN}::measurementsInletSensorValue",
            digits=ent("13742.6.3.3.4.1.7.1.1.5"),
        ),
        outlet_current=OutletColumn(
            ent("13742.6.5.4.3.1.4.1"),
            1.0,
            f"{_RARITAN}::measurementsOutletSensorValue",
            suffix=".1",
            digits_column=ent("13742.6.3.5.4.1.7.1"),
        ),
        outlet_power=OutletColumn(
            ent("13742.6.5.4.3.1.4.1"),
            1.0,
            f"{_RARITAN}::measurementsOutletSensorValue",
            suffix=".5",
            digits_column=ent("13742.6.3.5.4.1.7.1"),
        ),
        external=ExternalSensors(
            type_column=ent("13742.6.3.6.3.1.2.1"),  # externalSensorType
            digits_column=ent("13742.6.3.6.3.1.17.1"),  # externalSensorDecimalDigits
            value_column=ent("13742.6.5.5.3.1.4.1"),  # measurementsExternalSensorValue
            temperature_type=10,
            humidity_type=11,
            mib=_RARITAN,
        ),
    ),
    # EATON-EPDU-MIB, strappingIndex 0: inputCurrent and outletCurrent in mA, watts in
    # W, temperatureValue and humidityValue in tenths.
    "eaton_epdu": Metering(
        inlet_current=Scalar(ent("534.6.6.7.3.3.1.4.0.1.1"), 0.001, f"{_EATON}::inputCurrent"),
        inlet_power=Scalar(ent("534.6.6.7.3.4.1.4.0.1.1"), 1.0, f"{_EATON}::inputWatts"),
        temperature=Scalar(ent("534.6.6.7.7.1.1.4.0.1"), 0.1, f"{_EATON}::temperatureValue"),
        humidity=Scalar(ent("534.6.6.7.7.2.1.4.0.1"), 0.1, f"{_EATON}::humidityValue"),
        outlet_current=OutletColumn(ent("534.6.6.7.6.4.1.3.0"), 0.001, f"{_EATON}::outletCurrent"),
        outlet_power=OutletColumn(ent("534.6.6.7.6.5.1.3.0"), 1.0, f"{_EATON}::outletWatts"),
    ),
}
