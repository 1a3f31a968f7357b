"""Pure logic of the BMC drivers: error classification, Redfish document accessors,
IPMI sensor normalisation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.adapters.ipmi import IpmiSensor
from agent.adapters.redfish import Document
from agent.devices.bmc import is_transient
from agent.devices.bmc_ipmi import _normalise
from agent.errors import DeviceUnreachable, NegativeReply, ProtocolError


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (DeviceUnreachable("b", "silent"), True),
        (NegativeReply("b", "busy", status="503"), True),
        (NegativeReply("b", "node busy", status="0xc0"), True),
        (NegativeReply("b", "timeout", status="0xc3"), True),
        (NegativeReply("b", "bad password", status="401"), False),
        (NegativeReply("b", "no such", status="404"), False),
        (NegativeReply("b", "login", status="auth"), False),
        (NegativeReply("b", "invalid", status="0xcc"), False),
        (ProtocolError("b", "garbage"), False),
    ],
)
def test_transient_classification(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def doc(data: dict[str, object]) -> Document:
    return Document("srv-1", "/redfish/v1/Systems/1", data)


def test_document_accessors() -> None:
    d = doc(
        {
            "PowerState": "On",
            "Reading": 12,
            "Null": None,
            "Links": {"Chassis": [{"@odata.id": "/redfish/v1/Chassis/1"}]},
            "Allowed": ["On", "ForceOff"],
        }
    )
    assert d.text("PowerState") == "On"
    assert d.optional_number("Reading") == 12.0
    assert d.optional_number("Null") is None
    assert d.optional_number("Missing") is None
    assert d.child("Links").links("Chassis") == ["/redfish/v1/Chassis/1"]
    assert d.strings("Allowed") == ["On", "ForceOff"]
    assert d.children("Missing") == []


@pytest.mark.parametrize(
    ("data", "call"),
    [
        ({}, lambda d: d.text("PowerState")),
        ({"PowerState": 1}, lambda d: d.text("PowerState")),
        ({"Reading": "hot"}, lambda d: d.optional_number("Reading")),
        ({"Reading": True}, lambda d: d.optional_number("Reading")),
        ({"Links": []}, lambda d: d.child("Links")),
        ({"Members": [1]}, lambda d: d.children("Members")),
        ({"Members": [{"id": 1}]}, lambda d: d.links("Members")),
    ],
)
def test_document_errors_name_the_place(
    data: dict[str, object], call: Callable[[Document], object]
) -> None:
    with pytest.raises(ProtocolError, match=r"srv-1: /redfish/v1/Systems/1.*property"):
        call(doc(data))


def test_ipmi_sensor_normalisation() -> None:
    temp = _normalise(IpmiSensor("CPU Temp", "Temperature", 48.0, "°C"))
    assert (temp.sensor_id, temp.kind, temp.unit, temp.value) == (
        "temperature/CPU Temp",
        "temperature",
        "Cel",
        48.0,
    )
    watts = _normalise(IpmiSensor("PS1 Input", "Power Supply", 230.0, "W"))
    assert (watts.kind, watts.unit) == ("power", "W")
    fan = _normalise(IpmiSensor("FAN1", "Fan", None, "RPM"))
    assert (fan.kind, fan.value) == ("fan", None)
