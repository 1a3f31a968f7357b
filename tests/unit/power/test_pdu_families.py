"""Every PDU family's data is self-consistent, and detection picks the longest prefix."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.adapters.snmp import check_oid
from agent.adapters.snmp_types import Integer
from agent.devices.detect import Detection, match_family
from agent.devices.pdu import FAMILIES, FAMILIES_BY_KEY, PduFamily
from agent.devices.pdu.base import Column, Command, Scalar
from agent.devices.pdu.driver import number_outlets
from agent.devices.pdu.servertech import SENTRY3

ENTERPRISES = "1.3.6.1.4.1."


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_family_oids_are_numeric_and_under_enterprises(family: PduFamily) -> None:
    for oid in [*family.all_oids(), *family.sys_object_ids]:
        check_oid(oid)
        assert oid.startswith(ENTERPRISES), oid


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_family_values_and_names_are_consistent(family: PduFamily) -> None:
    if family.state is not None:
        assert family.state_on, "a family must say which state values mean on"
        assert family.state_off
    assert not family.state_on & family.state_off, "a state value cannot be both on and off"
    commands = [c for c in (family.on, family.off, family.reboot, family.unlock) if c]
    for command in commands:
        Integer(command.value)  # fits an INTEGER
    # every object names its own family's MIB module and an object in it
    for mib in family.all_mibs():
        module, _, name = mib.partition("::")
        assert module == family.mib, mib
        assert name[:1].islower(), mib
        assert " " not in name, mib
    if family.on is not None and family.off is not None:
        # on and off must differ, either by OID or by value, or one of them is a no-op
        assert (family.on.column, family.on.value) != (family.off.column, family.off.value)
    assert (family.on is None) == (family.off is None), "on without off (or off without on)"
    for measure in (family.inlet_current, family.inlet_power, family.temperature):
        if measure is not None:
            assert measure.unit in {"A", "W", "degC"}
            assert measure.scale > 0


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_every_family_has_sentinels_that_are_exact_instances(family: PduFamily) -> None:
    assert family.sentinels, f"{family.key} has no sentinel: detection could never pick it"
    tables = [c.column for c in (family.state, family.outlet_name, family.outlet_list) if c]
    for sentinel in family.sentinels:
        check_oid(sentinel.oid)
        # an instance, not a column prefix a GET could never answer
        assert not any(sentinel.oid == column for column in tables), sentinel


def test_sentinels_tell_the_families_apart() -> None:
    """No two families share a sentinel set: what answers decides the family. (The APC
    rPDU2 firmware also serves rPDU: there the sysObjectID hint decides; see apc.py.)"""
    seen: dict[frozenset[str], str] = {}
    for family in FAMILIES:
        key = frozenset(s.oid for s in family.sentinels)
        assert key not in seen, f"{family.key} and {seen[key]} have the same sentinels"
        seen[key] = family.key


def test_no_family_sentinel_is_a_ups_or_sensor_object() -> None:
    """A CyberPower UPS (CPS-MIB 3808.1.1.1) and a Geist WatchDog sensor (GEIST-V4-MIB
    21239.5.1, the recorded WatchDog 15) must not answer any PDU family's sentinels."""
    for family in FAMILIES:
        for sentinel in family.sentinels:
            assert not sentinel.oid.startswith("1.3.6.1.4.1.3808.1.1.1."), family.key
            assert not sentinel.oid.startswith("1.3.6.1.4.1.21239.5.1."), family.key


def test_metered_only_families_are_possible() -> None:
    metered = PduFamily(
        key="metered",
        vendor="V",
        mib="V-MIB",
        sys_object_ids=(),
        sentinels=(Scalar("1.3.6.1.4.1.99.1.0", "V-MIB::model"),),
        outlet_list=Column("1.3.6.1.4.1.99.2", "V-MIB::outletName"),
    )
    assert not metered.switched
    assert "1.3.6.1.4.1.99.2" in metered.all_oids()


def test_family_keys_are_unique_and_prefixes_stay_within_a_vendor() -> None:
    """The sysObjectID is a hint: two families may share one (Tripp Lite's tlpPdu and
    tlpAts PDUs both announce 850.1.1.1), but only within one vendor, and their
    sentinels must tell them apart (test_sentinels_tell_the_families_apart)."""
    assert len(FAMILIES_BY_KEY) == len(FAMILIES)
    vendors: dict[str, str] = {}
    for family in FAMILIES:
        for prefix in family.sys_object_ids:
            assert vendors.setdefault(prefix, family.vendor) == family.vendor, prefix


@given(outlet=st.integers(min_value=1, max_value=64))
def test_command_oid_appends_exactly_the_outlet(outlet: int) -> None:
    for family in FAMILIES:
        for command in (family.on, family.off):
            if command is not None:
                oid = command.oid(outlet)
                assert oid.rsplit(".", 1) == [command.column, str(outlet)]
        if family.state is not None:
            assert family.state.oid(outlet).startswith(family.state.column + ".")


@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 48)),
        unique=True,
        max_size=40,
    )
)
def test_multi_arc_outlets_are_numbered_uniquely_in_index_order(
    rows: list[tuple[int, int, int]],
) -> None:
    indexes = [".".join(map(str, row)) for row in rows]
    numbers = number_outlets(reversed(indexes), 3)
    assert sorted(numbers) == list(range(1, len(rows) + 1))
    assert [numbers[n] for n in sorted(numbers)] == [
        ".".join(map(str, row)) for row in sorted(rows)
    ]


def test_sentry3_numbers_tower_a_before_tower_b() -> None:
    # tower.infeed.outlet: two towers of one infeed and 8 outlets each
    indexes = [f"{tower}.1.{outlet}" for tower in (2, 1) for outlet in range(8, 0, -1)]
    numbers = number_outlets(indexes, SENTRY3.index_arcs)
    assert numbers[1] == "1.1.1"
    assert numbers[8] == "1.1.8"
    assert numbers[9] == "2.1.1"
    assert numbers[16] == "2.1.8"
    # rows of another shape are not outlets
    assert number_outlets(["1.1", "x.1.2", "1.1.1"], 3) == {1: "1.1.1"}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_each_family_is_detected_from_its_own_product_oids(family: PduFamily) -> None:
    for prefix in family.sys_object_ids:
        for oid in (prefix, prefix + ".1", prefix + ".12.3"):
            found = match_family(oid)
            assert found is not None
            # the hint names the family, or a sibling sharing its product OID
            assert prefix in found[0].sys_object_ids
            assert found[0].vendor == family.vendor


def test_longest_prefix_wins() -> None:
    vendor = PduFamily(
        key="vendor",
        vendor="V",
        mib="V-MIB",
        sys_object_ids=("1.3.6.1.4.1.99",),
        on=Command("1.3.6.1.4.1.99.1", 1, "V-MIB::on"),
        off=Command("1.3.6.1.4.1.99.1", 2, "V-MIB::off"),
        reboot=None,
        state=Column("1.3.6.1.4.1.99.2", "V-MIB::state"),
        state_on=frozenset({1}),
        state_off=frozenset({2}),
    )
    model = PduFamily(
        key="model",
        vendor="V",
        mib="V-MIB",
        sys_object_ids=("1.3.6.1.4.1.99.1.2",),
        on=vendor.on,
        off=vendor.off,
        reboot=None,
        state=vendor.state,
        state_on=vendor.state_on,
        state_off=vendor.state_off,
    )
    for order in ([vendor, model], [model, vendor]):
        assert match_family("1.3.6.1.4.1.99.1.2.7", order) == (model, "1.3.6.1.4.1.99.1.2")
        assert match_family("1.3.6.1.4.1.99.1.3", order) == (vendor, "1.3.6.1.4.1.99")
    # whole arcs only: .99.1.20 is not under .99.1.2
    assert match_family("1.3.6.1.4.1.99.1.20", [model]) is None
    assert match_family("1.3.6.1.4.1.990", [vendor]) is None


@given(st.lists(st.integers(min_value=0, max_value=2**16), min_size=1, max_size=12))
def test_unknown_oids_are_never_matched_outside_a_prefix(arcs: list[int]) -> None:
    oid = "1.3.6.1.4.1.424242." + ".".join(map(str, arcs))
    assert match_family(oid) is None


def test_unknown_model_is_described_with_the_fix() -> None:
    text = Detection("pdu-b", "1.3.6.1.4.1.424242.1", None).describe()
    assert "unknown model" in text
    assert "1.3.6.1.4.1.424242.1" in text
    assert "apc_rpdu2" in text


def test_real_product_oids_pick_the_expected_family() -> None:
    # sysObjectIDs as reported by devices (the AP8932 one from a recorded walk)
    cases = {
        "1.3.6.1.4.1.318.1.3.4.6": "apc_rpdu2",  # AP8641, AP8932 (snmpsim-data)
        "1.3.6.1.4.1.318.1.3.4.8": "apc_rpdu2",  # AP7902B, rpdu2g firmware (snmpsim-data)
        "1.3.6.1.4.1.318.1.3.4.5": "apc_rpdu",
        "1.3.6.1.4.1.674.10903.200.3.1": "dell_rpdu",  # DELL6606 (librenms dell-rpdu)
        "1.3.6.1.4.1.13742.4": "raritan_px",
        "1.3.6.1.4.1.13742.6": "raritan_pdu2",
        "1.3.6.1.4.1.534.6.6.7": "eaton_epdu",
        "1.3.6.1.4.1.1718.3": "servertech_sentry3",
        "1.3.6.1.4.1.1718.4": "servertech_sentry4",
    }
    rng = random.Random(7)
    items = list(cases.items())
    rng.shuffle(items)
    for oid, key in items:
        found = match_family(oid)
        assert found is not None
        assert found[0].key == key
