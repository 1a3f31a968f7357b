"""Identify any SNMP device with no config, and show what it can read.

The family is chosen from what the device publishes: a known PDU by its sysObjectID
(the PDU drivers' longest-prefix match), a UPS by UPS-MIB, a switch by BRIDGE-MIB's
port table; anything else gets the generic view (system group, IF-MIB,
ENTITY-SENSOR-MIB, UPS-MIB where present) and is reported as unknown. Nothing is
written to the device.
"""

from __future__ import annotations

import time
from typing import Any

from agent.adapters.snmp import SnmpClient, SnmpTarget
from agent.devices.detect import match_family
from agent.devices.ups import UpsDriver
from agent.health.readers import generic
from agent.health.readers.generic import GenericReader
from agent.health.readers.pdu import PduReader
from agent.health.readers.switch import SwitchReader, read_vlans
from agent.health.readers.ups import UpsReader
from agent.health.sensors import Identity, Reading


def _identity(ident: Identity) -> dict[str, str]:
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
        now = time.time()
        match = match_family(system.object_id) if system.object_id else None
        if match is not None:
            reader = PduReader(target.device, client, match[0].key)
            driver = await reader.driver()
            outlets = await driver.read_outlets(client)
            readings = await reader.read(now)
            by_sensor = {r.sensor: r.value for r in readings}
            doc.update(
                kind="pdu",
                family=match[0].key,
                known=True,
                identity=_identity(await reader.identify()),
                outlets=[
                    {
                        "outlet": o.number,
                        "name": o.name,
                        "state": o.state.value,
                        "power_w": by_sensor.get(f"outlet/{o.number}/power"),
                        "current_a": by_sensor.get(f"outlet/{o.number}/current"),
                    }
                    for o in outlets
                ],
                readings=_readings(readings),
            )
            return doc
        if await UpsDriver().is_ups(client):
            ups = UpsReader(target.device, client)
            doc.update(
                kind="ups",
                family="rfc1628",
                known=True,
                identity=_identity(await ups.identify()),
                readings=_readings(await ups.read(now)),
            )
            return doc
        if await client.walk(generic.BASE_PORT_IFINDEX):
            switch = SwitchReader(target.device, client)
            ports = await read_vlans(client)
            doc.update(
                kind="switch",
                family="qbridge",
                known=True,
                identity=_identity(await switch.identify()),
                ports=[
                    {
                        "port": p.port,
                        "if_index": p.if_index,
                        "pvid": p.pvid,
                        "untagged": list(p.untagged),
                        "tagged": list(p.tagged),
                    }
                    for p in ports
                ],
                readings=_readings(await switch.read(now)),
            )
            return doc
        fallback = GenericReader(target.device, client)
        doc.update(
            kind="unknown",
            family="generic",
            known=False,
            note=f"unknown model: sysObjectID {system.object_id or '(none)'} matches no known "
            "PDU family and the device publishes neither UPS-MIB nor BRIDGE-MIB; showing "
            "the standard MIBs only",
            identity=_identity(await fallback.identify()),
            readings=_readings(await fallback.read(now)),
        )
        return doc


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
    for o in doc.get("outlets", []):
        power = "-" if o["power_w"] is None else f"{o['power_w']:g} W"
        lines.append(f"  outlet {o['outlet']:>3}  {o['state']:<7} {power:>9}  {o['name'] or ''}")
    for p in doc.get("ports", []):
        lines.append(
            f"  port {p['port']:>3}  pvid {p['pvid']}  untagged {p['untagged']}  "
            f"tagged {p['tagged']}"
        )
    for r in doc.get("readings", []):
        if r["sensor"].startswith(("outlet/", "port/")):
            continue  # shown in the tables above
        value = "unknown" if r["value"] is None else f"{r['value']:g} {r['unit']}"
        lines.append(f"  {r['sensor']:<36} {value}")
    return "\n".join(lines)
