"""Conformance: every PDU, UPS and switch recording of snmpsim-data (dumps of real devices)
served over real UDP by our simulator, probed by `agent.health.probe.probe`, and compared
with what a field engineer reads in the recording itself (expected.toml, each value cited
to its OID there; see README.md).

An entry our code cannot read yet is `readable = false` with a `why`: its test is a strict
xfail, so the day the probe reads it right the test fails and says to flip the flag.
"""

from __future__ import annotations

import importlib.resources
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from agent.adapters.snmp import SnmpTarget
from agent.health.probe import probe
from agent.sim.snmp import RecordingSpec, SimulatedRack

MANIFEST = Path(__file__).parent / "expected.toml"
IDENTITY = ("vendor", "model", "serial", "firmware")
KINDS = ("pdu", "ups", "switch", "unknown")


def _data_root() -> Path:
    root = importlib.resources.files("snmpsim_data") / "data"
    return Path(str(root))


def _entries() -> list[dict[str, Any]]:
    with MANIFEST.open("rb") as f:
        devices: list[dict[str, Any]] = tomllib.load(f)["device"]
    return devices


def _params() -> list[Any]:
    params = []
    for entry in _entries():
        marks = []
        if not entry["readable"]:
            marks.append(pytest.mark.xfail(strict=True, reason=entry["why"]))
        params.append(pytest.param(entry, id=entry["recording"], marks=marks))
    return params


def expand(ranges: str) -> set[int]:
    """'1-3,7' -> {1, 2, 3, 7}; '' -> set()."""
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in ranges.split(","))):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def _close(got: object, want: float) -> bool:
    return isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-3, abs_tol=0.05)


def compare(entry: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    """Every difference between the manifest entry and the probe document, by field."""
    diffs: list[str] = []

    def differ(field: str, got: object, want: object) -> None:
        if got != want:
            diffs.append(f"{field}: probe says {got!r}, the recording {want!r}")

    differ("kind", doc.get("kind"), entry["kind"])
    ident = doc.get("identity") or {}
    differ(
        "sys_object_id",
        ident.get("sys_object_id", doc.get("sys_object_id")),
        entry["sys_object_id"],
    )
    for field in IDENTITY:
        if field in entry:
            got = str(ident.get(field) or "").strip()
            want = entry[field]
            if field == "vendor":
                got, want = got.casefold(), want.casefold()
            differ(field, got, want)
    if "outlet_count" in entry:
        outlets = doc.get("outlets") or []
        differ("outlet_count", len(outlets), entry["outlet_count"])
        for state in ("on", "off"):
            differ(
                f"outlets_{state}",
                {o["outlet"] for o in outlets if o.get("state") == state},
                expand(entry[f"outlets_{state}"]),
            )
    ups = doc.get("ups") or {}
    for field in ("battery_status", "on_battery"):
        if field in entry:
            differ(f"ups.{field}", ups.get(field), entry[field])
    readings = {r["sensor"]: r for r in doc.get("readings") or []}
    for sensor, want in entry.get("readings", {}).items():
        found = readings.get(sensor)
        if found is None:
            diffs.append(f"reading {sensor}: absent from the probe, the recording says {want}")
        elif not _close(found.get("value"), want):
            diffs.append(
                f"reading {sensor}: probe says {found.get('value')!r} "
                f"({found.get('status')}, {found.get('detail', '')}), the recording {want}"
            )
    diffs += _compare_switch(entry, doc)
    return diffs


def _compare_switch(entry: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    diffs: list[str] = []
    switch = doc.get("switch") or {}
    ports = doc.get("ports") or []
    for field in ("port_count", "membership"):
        if field in entry and switch.get(field) != entry[field]:
            diffs.append(
                f"switch.{field}: probe says {switch.get(field)!r}, the recording {entry[field]!r}"
            )
    if "pvid" in entry:
        # A port with no PVID (pvid None) is what the manifest says by not listing it.
        got_pvid = {p["port"]: p["pvid"] for p in ports if p.get("pvid") is not None}
        want_pvid = {port: int(vid) for vid, rng in entry["pvid"].items() for port in expand(rng)}
        if got_pvid != want_pvid:
            wrong = sorted(
                p for p in want_pvid.keys() | got_pvid.keys() if got_pvid.get(p) != want_pvid.get(p)
            )
            diffs.append(f"pvid: {len(wrong)} ports differ, first {wrong[:5]}")
    for label, key in (("vlans", "port"), ("access_vlan", "if_index")):
        if label not in entry:
            continue
        for tag in ("untagged", "tagged") if label == "vlans" else ("untagged",):
            got: dict[int, set[int]] = {}
            for p in ports:
                for vid in p.get(tag) or []:
                    got.setdefault(vid, set()).add(p[key])
            want = {
                int(vid): expand(spec[tag] if isinstance(spec, dict) else spec)
                for vid, spec in entry[label].items()
            }
            want = {vid: members for vid, members in want.items() if members}
            if got != want:
                wrong = sorted(v for v in want.keys() | got.keys() if got.get(v) != want.get(v))
                diffs.append(f"{label} {tag}: {len(wrong)} VLANs differ, first {wrong[:5]}")
    return diffs


def test_manifest_is_well_formed() -> None:
    entries = _entries()
    names = [e["recording"] for e in entries]
    assert len(names) == len(set(names)), "a recording is listed twice"
    root = _data_root()
    for e in entries:
        assert (root / e["recording"]).is_file(), f"{e['recording']}: not in snmpsim-data"
        assert e["kind"] in KINDS, f"{e['recording']}: kind {e['kind']!r}"
        assert isinstance(e["readable"], bool)
        assert e["readable"] or e.get("why"), f"{e['recording']}: readable = false needs a why"


@pytest.mark.parametrize("entry", _params())
async def test_probe_reads_the_recording(entry: dict[str, Any]) -> None:
    spec = RecordingSpec(
        "rec",
        _data_root() / entry["recording"],
        broken_lines=frozenset(entry.get("broken_lines", [])),
    )
    async with SimulatedRack([spec]) as rack:
        host, port = rack.endpoint("rec")
        doc = await probe(SnmpTarget("rec", host, port, timeout=2.0, retries=1))
    diffs = compare(entry, doc)
    assert not diffs, f"{entry['recording']}:\n  " + "\n  ".join(diffs)
