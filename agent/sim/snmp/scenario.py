"""Fault scenarios: timed fault steps per device, from Python or a TOML file.

    [[step]]
    at = 2.0              # seconds after the scenario starts
    device = "pdu-a"
    fault = "latency"     # see FAULTS for the names and their parameters
    seconds = 0.8

The whole file is validated before anything runs; every problem names its step.

Device ``"rack"`` takes the rack-wide faults: ``power_off`` (mains lost: every device
and BMC goes dark), ``power_on`` (mains back: every device boots from scratch, outlets
off but the protected ones, the switch on its factory VLANs), and ``power_cut`` with
``seconds``, which is the two of them that far apart.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent.sim.snmp import values as v
from agent.sim.snmp.device import SimDevice
from agent.sim.snmp.faults import SimCredentials
from agent.sim.snmp.pdu import PduModel
from agent.sim.snmp.switch import SwitchModel
from agent.sim.snmp.ups import UpsModel
from agent.sim.snmp.values import Tag, Value, parse_oid

RACK = "rack"
RACK_FAULTS = ("power_off", "power_on", "power_cut")


class RackPower(Protocol):
    """What rack-wide faults act on (the simulated rack)."""

    def power_off(self) -> None: ...

    def power_on(self) -> None: ...


@dataclass(frozen=True)
class FaultStep:
    at: float
    device: str
    fault: str
    params: Mapping[str, Any] = field(default_factory=dict)


def _pdu(d: SimDevice) -> PduModel:
    if not isinstance(d, PduModel):
        raise TypeError(f"{d.id} is a {d.kind}, this fault needs a PDU")
    return d


def _switch(d: SimDevice) -> SwitchModel:
    if not isinstance(d, SwitchModel):
        raise TypeError(f"{d.id} is a {d.kind}, this fault needs a switch")
    return d


def _ups(d: SimDevice) -> UpsModel:
    if not isinstance(d, UpsModel):
        raise TypeError(f"{d.id} is a {d.kind}, this fault needs a UPS")
    return d


def _malformed(p: Mapping[str, Any]) -> Value:
    tag = Tag(int(p["type"]))
    raw = p["value"]
    if tag in (Tag.OCTET_STRING, Tag.OPAQUE):
        return Value(tag, str(raw).encode())
    if tag is Tag.OBJECT_IDENTIFIER:
        return v.oid(str(raw))
    return Value(tag, int(raw))


# fault name -> (required parameters, action)
FAULTS: dict[str, tuple[tuple[str, ...], Callable[[SimDevice, Mapping[str, Any]], None]]] = {
    "latency": (("seconds",), lambda d, p: d.faults.set_latency(float(p["seconds"]))),
    "loss": (
        ("probability",),
        lambda d, p: d.faults.set_loss(float(p["probability"]), p.get("seed")),
    ),
    "silent": ((), lambda d, p: setattr(d.faults, "silent", True)),
    "answer": ((), lambda d, p: setattr(d.faults, "silent", False)),
    "credentials": (
        (),
        lambda d, p: d.faults.expect_credentials(
            SimCredentials(p.get("community"), p.get("user"), p.get("auth_key"), p.get("priv_key"))
        ),
    ),
    "error_status": (
        ("oid", "status"),
        lambda d, p: d.faults.fail_oid(parse_oid(p["oid"]), p["status"]),
    ),
    "malformed": (
        ("oid", "type", "value"),
        lambda d, p: d.faults.malform(parse_oid(p["oid"]), _malformed(p)),
    ),
    "clear": ((), lambda d, p: d.faults.clear()),
    "stick_outlet": (("outlet",), lambda d, p: _pdu(d).stick(int(p["outlet"]))),
    "unstick_outlet": (("outlet",), lambda d, p: _pdu(d).unstick(int(p["outlet"]))),
    "force_sensor": (
        ("sensor", "value"),
        lambda d, p: d.force_sensor(p["sensor"], float(p["value"])),
    ),
    "release_sensor": (("sensor",), lambda d, p: d.release_sensor(p["sensor"])),
    "mains_lost": ((), lambda d, p: _ups(d).mains_lost()),
    "mains_restored": ((), lambda d, p: _ups(d).mains_restored()),
    "vlan_drift": (
        (),
        lambda d, p: _switch(d).drift(
            pvid={int(k): int(val) for k, val in p.get("pvid", {}).items()},
            vlan=p.get("vlan"),
            egress=set(p["egress"]) if "egress" in p else None,
            untagged=set(p["untagged"]) if "untagged" in p else None,
        ),
    ),
    "fan_failure": (("fan",), lambda d, p: _switch(d).fail_fan(int(p["fan"]))),
}


def load_scenario(path: Path, device_ids: set[str]) -> list[FaultStep]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, RecursionError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"scenario {path}: cannot read it: {exc}") from exc
    steps = raw.get("step", [])
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        raise ValueError(f"scenario {path}: write each step as a [[step]] table")
    return parse_steps(steps, device_ids, str(path))


def parse_steps(
    raw_steps: list[dict[str, Any]], device_ids: set[str], source: str = "scenario"
) -> list[FaultStep]:
    problems: list[str] = []
    steps = []
    for i, raw in enumerate(raw_steps):
        where = f"{source}: step[{i}]"
        params = {k: val for k, val in raw.items() if k not in ("at", "device", "fault")}
        at, device, fault = raw.get("at", 0.0), raw.get("device"), raw.get("fault")
        if not isinstance(at, int | float) or at < 0:
            problems.append(f"{where}.at: {at!r} must be seconds >= 0")
        if device == RACK:
            if fault not in RACK_FAULTS:
                problems.append(
                    f"{where}.fault: {fault!r} is not a rack-wide fault; use one of {RACK_FAULTS}"
                )
            elif fault == "power_cut":
                seconds = params.get("seconds")
                if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                    problems.append(f"{where}.seconds: {seconds!r}: give the cut's length, >= 0")
                else:
                    when = float(at) if isinstance(at, int | float) else 0.0
                    steps.append(FaultStep(when, RACK, "power_off"))
                    steps.append(FaultStep(when + float(seconds), RACK, "power_on"))
                continue
        else:
            if device not in device_ids:
                problems.append(
                    f"{where}.device: {device!r} is not in the rack ({sorted(device_ids)}, "
                    f"or {RACK!r} for rack-wide faults)"
                )
            if fault not in FAULTS:
                problems.append(f"{where}.fault: {fault!r} is not one of {sorted(FAULTS)}")
            else:
                missing = [name for name in FAULTS[fault][0] if name not in params]
                if missing:
                    problems.append(f"{where}: fault {fault!r} needs {missing}")
        steps.append(
            FaultStep(
                float(at) if isinstance(at, int | float) else 0.0, str(device), str(fault), params
            )
        )
    if problems:
        raise ValueError("\n".join(problems))
    return sorted(steps, key=lambda s: s.at)


def apply_step(device: SimDevice, step: FaultStep) -> None:
    FAULTS[step.fault][1](device, step.params)


async def play(
    steps: list[FaultStep], devices: Mapping[str, SimDevice], rack: RackPower | None = None
) -> None:
    """Apply each step at its time (event-loop time, measured from the call). Devices are
    looked up when their step comes, so a device rebuilt by a power cut gets the fault."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for step in steps:
        delay = start + step.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if step.device == RACK:
            if rack is None:
                raise ValueError(f"{step.fault}: rack-wide faults need the simulated rack")
            getattr(rack, step.fault)()
        else:
            apply_step(devices[step.device], step)
