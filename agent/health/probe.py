"""Identify any SNMP device with no config, and show what it can read.

The family is decided by what the device answers (``agent.devices.detect``): a PDU or
UPS family whose sentinel objects answer, else a switch (BRIDGE-MIB), else the generic
view (system group, IF-MIB, ENTITY-SENSOR-MIB, UPS-MIB where present), reported as
unknown with its sysObjectID and what to configure. Nothing is written to the device.

A probe never aborts on one table: each part that cannot be read is named in
``problems`` and the rest is shown. ``tables`` says, per MIB table, whether it was
read, absent (the device does not have it), empty (it has it, with no rows) or
unreadable (it answered an error or nothing), which are three different things.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.devices.detect import Detection, detect
from agent.devices.enterprises import enterprise_of, vendor_of
from agent.devices.pdu import FAMILIES, PduFamily
from agent.devices.switch.survey import survey
from agent.devices.ups import UpsDriver, UpsFamily
from agent.errors import AgentError
from agent.health.readers import generic
from agent.health.readers import ups as ups_reader
from agent.health.readers.generic import GenericReader
from agent.health.readers.pdu import PduReader
from agent.health.readers.switch import SwitchReader
from agent.health.sensors import Identity, Reading

T = TypeVar("T")


def _identity(ident: Identity) -> dict[str, Any]:
    return {f: getattr(ident, f) for f in ident.__struct_fields__}


def _readings(readings: list[Reading]) -> list[dict[str, Any]]:
    return [
        {
            "sensor": r.sensor,
            "kind": r.kind,
            "unit": r.unit,
            "value": r.value,
            "status": r.status,
            **({"detail": r.detail} if r.detail else {}),
        }
        for r in readings
    ]


class _Probe:
    """One probe's document and the parts it could not read."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.problems: list[str] = doc.setdefault("problems", [])
        self.tables: dict[str, str] = doc.setdefault("tables", {})

    async def part(self, what: str, read: Callable[[], Awaitable[T]]) -> T | None:
        """``read()``, or None with ``what`` named in the problems when the device
        refuses or garbles it (a timeout included: one table may be too slow)."""
        try:
            return await read()
        except AgentError as exc:
            self.problems.append(f"{what}: not readable: {exc}")
            return None


async def probe(target: SnmpTarget) -> dict[str, Any]:
    """One JSON-ready document describing the device at ``target``."""
    async with SnmpClient(target) as client:
        system = generic.decode_system(await client.get(list(generic.SYSTEM_OIDS)))
        doc: dict[str, Any] = {
            "host": target.host,
            "port": target.port,
            "sys_object_id": system.object_id,
            "sys_descr": system.descr,
            "sys_name": system.name,
            "uptime_s": system.uptime_s,
        }
        run = _Probe(doc)
        found = await detect(client)
        doc["detection"] = {
            "answered": list(found.answered),
            "matched_prefix": found.matched_prefix,
            **({"unasked": list(found.unasked)} if found.unasked else {}),
        }
        now = time.time()
        if found.kind == "pdu" and isinstance(found.family, PduFamily):
            await _pdu(run, client, found.family, now)
        elif found.kind == "ups" and found.family is not None:
            await _ups(run, client, found, now)
        elif found.kind == "switch":
            await _switch(run, client, now)
        else:
            await _unknown(run, client, found, now)
        return doc


async def _pdu(run: _Probe, client: SnmpClient, family: PduFamily, now: float) -> None:
    reader = PduReader(client.target.device, client, family.key)
    driver = await reader.driver()
    run.doc.update(kind="pdu", family=family.key, known=True)
    ident = await run.part("identity", reader.identify)
    run.doc["identity"] = _identity(ident) if ident is not None else {"vendor": family.vendor}
    listing = family.state or family.outlet_list
    state_mib = listing.mib if listing is not None else f"{family.mib} outlets"
    outlets = await run.part(f"outlets ({state_mib})", lambda: driver.read_outlets(client))
    readings = await run.part("readings", lambda: reader.read(now)) or []
    by_sensor = {r.sensor: r.value for r in readings}
    run.tables[state_mib] = (
        "unreadable" if outlets is None else ("read" if outlets else "empty or absent")
    )
    run.tables.update(reader.last_tables)  # read / absent / empty / unreadable, per table
    run.doc["outlets"] = [
        {
            "outlet": o.number,
            "name": o.name,
            "state": o.state.value,
            "power_w": by_sensor.get(f"outlet/{o.number}/power"),
            "current_a": by_sensor.get(f"outlet/{o.number}/current"),
        }
        for o in outlets or []
    ]
    run.doc["readings"] = _readings(readings)


async def _ups(run: _Probe, client: SnmpClient, found: Detection, now: float) -> None:
    family = found.family
    assert isinstance(family, UpsFamily)
    driver = UpsDriver(family)
    device = client.target.device
    run.doc.update(kind="ups", family=family.key, known=True)
    ident = await run.part("identity", lambda: driver.identify(client))
    run.doc["identity"] = (
        _identity(ups_reader.identity(device, ident))
        if ident is not None
        else {"vendor": family.vendor}
    )
    if not run.doc["identity"].get("vendor"):
        run.doc["identity"]["vendor"] = family.vendor or _enterprise(found.sys_object_id)
    status = await run.part("status", lambda: driver.read_status(client))
    if status is None:
        run.doc["readings"] = []
        return
    run.tables.update(status.tables)
    run.doc["ups"] = ups_reader.summary(status).to_dict()
    run.doc["readings"] = _readings(ups_reader.status_readings(device, status, now))


async def _switch(run: _Probe, client: SnmpClient, now: float) -> None:
    found = await survey(client)
    run.doc.update(kind="switch", family="cisco-ios" if found.membership == "cisco" else "qbridge")
    run.doc["known"] = True
    run.doc["identity"] = {
        "vendor": found.vendor or _enterprise(found.sys_object_id),
        "model": found.model,
        "serial": found.serial,
        "firmware": found.firmware,
        "sys_object_id": found.sys_object_id,
    }
    run.doc["switch"] = {"port_count": found.port_count, "membership": found.membership}
    if found.note:
        run.doc["note"] = found.note
    run.tables.update(found.tables)
    run.doc["ports"] = [
        {
            "port": p.port,
            "if_index": p.if_index,
            "name": p.name,
            "pvid": p.pvid,
            "untagged": list(p.untagged),
            "tagged": list(p.tagged),
            **({"trunk": True} if p.trunk else {}),
        }
        for p in found.ports
    ]
    switch = SwitchReader(client.target.device, client)
    run.doc["readings"] = _readings(await run.part("readings", lambda: switch.read(now)) or [])


def _enterprise(sys_object_id: str) -> str:
    """The vendor by enterprise number, or the number itself when we do not know it."""
    vendor = vendor_of(sys_object_id)
    number = enterprise_of(sys_object_id)
    return vendor or (f"enterprise {number}" if number is not None else "")


async def _unknown(run: _Probe, client: SnmpClient, found: Detection, now: float) -> None:
    fallback = GenericReader(client.target.device, client)
    known = ", ".join(f.key for f in FAMILIES)
    run.doc.update(
        kind="unknown",
        family="generic",
        known=False,
        note=f"unknown model: sysObjectID {found.oid_text} matches no known family: no PDU "
        "or UPS family's objects answer and the device publishes no BRIDGE-MIB; it gets "
        "generic monitoring (system, IF-MIB, ENTITY-SENSOR-MIB, UPS-MIB where present). "
        f"If it is a PDU, set driver to one of {known} in its [[pdu]] table when it speaks "
        "that MIB",
    )
    ident = await run.part("identity", fallback.identify)
    run.doc["identity"] = _identity(ident) if ident is not None else {}
    run.doc["identity"]["vendor"] = run.doc["identity"].get("vendor") or _enterprise(
        found.sys_object_id
    )
    run.doc["readings"] = _readings(await run.part("readings", lambda: fallback.read(now)) or [])


def render(doc: dict[str, Any]) -> str:
    """The human view of a probe document."""
    ident = doc.get("identity", {})
    lines = [
        f"{doc['host']}:{doc['port']}  {doc['kind']} ({doc['family']})"
        + ("" if doc.get("known") else "  UNKNOWN MODEL"),
        f"  sysObjectID {doc['sys_object_id'] or '-'}  sysName {doc['sys_name'] or '-'}",
        f"  vendor {ident.get('vendor') or '-'}  model {ident.get('model') or '-'}  "
        f"serial {ident.get('serial') or '-'}  firmware {ident.get('firmware') or '-'}",
    ]
    if doc.get("note"):
        lines.append(f"  {doc['note']}")
    if "outlets" in doc:
        lines.append(f"  {len(doc['outlets'])} outlets")
    for o in doc.get("outlets", []):
        power = "-" if o["power_w"] is None else f"{o['power_w']:g} W"
        lines.append(f"  outlet {o['outlet']:>3}  {o['state']:<7} {power:>9}  {o['name'] or ''}")
    if "ups" in doc:
        ups = doc["ups"]
        source = {True: "ON BATTERY", False: "on mains", None: "source unknown"}[ups["on_battery"]]
        lines.append(f"  {source}, battery {ups['battery_status']}")
    if "switch" in doc:
        sw = doc["switch"]
        lines.append(f"  {sw['port_count']} ports, VLAN membership from {sw['membership']}")
    for p in doc.get("ports", []):
        lines.append(
            f"  port {'-' if p['port'] is None else p['port']:>3}  "
            f"{p.get('name') or '':<12} pvid {p['pvid']}  "
            f"untagged {p['untagged']}  tagged {p['tagged']}"
            + ("  (trunk)" if p.get("trunk") else "")
        )
    for r in doc.get("readings", []):
        if r["sensor"].startswith(("outlet/", "port/")):
            continue  # shown in the tables above
        value = "unknown" if r["value"] is None else f"{r['value']:g} {r['unit']}"
        lines.append(f"  {r['sensor']:<36} {value}")
    for table, state in doc.get("tables", {}).items():
        lines.append(f"  table {table}: {state}")
    lines += [f"  NOT READ: {p}" for p in doc.get("problems", [])]
    return "\n".join(lines)
