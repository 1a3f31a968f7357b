"""Every UPS family is data that names its MIB objects (pure, no I/O)."""

from __future__ import annotations

from agent.devices.ups import UPS_FAMILIES


def test_the_families_list_ends_with_the_generic_ups_mib() -> None:
    keys = [f.key for f in UPS_FAMILIES]
    assert keys[-1] == "rfc1628"
    assert len(set(keys)) == len(keys)
    for family in UPS_FAMILIES:
        assert family.sentinels, family.key
        for obj in (*family.sentinels, *family.scalars()):
            assert "::" in obj.mib, (family.key, obj)
            assert all(arc.isdigit() for arc in obj.oid.split(".")), (family.key, obj.oid)
        for table in (*family.input_lines, *family.output_lines):
            assert "::" in table.mib
            assert all("::" in col.mib for col in table.columns().values())
