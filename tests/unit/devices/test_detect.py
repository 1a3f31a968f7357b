"""Detection decides by what answers; the sysObjectID only breaks ties (pure, no I/O)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from agent.adapters.snmp import MISSING, SnmpTarget, Value
from agent.devices.detect import BRIDGE_NUM_PORTS, Family, ask, choose
from agent.devices.pdu.base import Column, Command, PduFamily, Scalar
from agent.errors import DeviceUnreachable

E = "1.3.6.1.4.1."


def pdu(key: str, hints: tuple[str, ...], sentinel: str) -> PduFamily:
    column = Column(E + "99.9", "X-MIB::state")
    return PduFamily(
        key=key,
        vendor=key.split("_", maxsplit=1)[0],
        mib="X-MIB",
        sys_object_ids=hints,
        on=Command(column.column, 1, "X-MIB::cmd"),
        off=Command(column.column, 2, "X-MIB::cmd"),
        reboot=None,
        state=column,
        state_on=frozenset({1}),
        state_off=frozenset({2}),
        sentinels=(Scalar(sentinel, f"X-MIB::{key}Model"),),
    )


@dataclass(frozen=True)
class Ups:
    key: str
    vendor: str
    sys_object_ids: tuple[str, ...]
    sentinels: tuple[Scalar, ...]


RPDU = pdu("apc_rpdu", (E + "318.1.3.4.5",), E + "318.1.1.12.1.5.0")
RPDU2 = pdu("apc_rpdu2", (E + "318.1.3.4.6",), E + "318.1.1.26.2.1.1.8.1")
CPS_PDU = pdu("cyberpower_epdu", (E + "3808.1.1.3",), E + "3808.1.1.3.1.5.0")
CPS_UPS = Ups(
    "cyberpower_ups",
    "CyberPower",
    (E + "3808.1.1.1",),
    (Scalar(E + "3808.1.1.1.1.1.1.0", "CPS-MIB::upsBaseIdentModel"),),
)
RFC1628 = Ups("rfc1628", "", (), (Scalar("1.3.6.1.2.1.33.1.1.2.0", "UPS-MIB::upsIdentModel"),))
PDUS = (RPDU, RPDU2, CPS_PDU)
UPSES: tuple[Family, ...] = (CPS_UPS, RFC1628)


def answers(*oids: str) -> dict[str, Value]:
    return dict.fromkeys(oids, b"x")


def test_virtualpdu_announcing_rpdu2_but_serving_rpdu_is_rpdu() -> None:
    kind, family, prefix, answered = choose(
        E + "318.1.3.4.6", answers(E + "318.1.1.12.1.5.0"), PDUS, UPSES
    )
    assert (kind, family, prefix, answered) == ("pdu", RPDU, "", ("apc_rpdu",))


def test_the_hint_breaks_a_tie_between_families_that_both_answer() -> None:
    both = answers(E + "318.1.1.12.1.5.0", E + "318.1.1.26.2.1.1.8.1")
    assert choose(E + "318.1.3.4.6", both, PDUS, UPSES)[1] is RPDU2
    assert choose(E + "318.1.3.4.5", both, PDUS, UPSES)[1] is RPDU
    # no hint: the order of the families list
    assert choose(E + "424242", both, PDUS, UPSES)[1] is RPDU


def test_an_apc_mib_under_another_enterprise_is_still_that_mib() -> None:
    kind, family, _, _ = choose(
        E + "674.10903.200.2.200", answers(E + "318.1.1.26.2.1.1.8.1"), PDUS, UPSES
    )
    assert (kind, family) == ("pdu", RPDU2)


def test_a_cyberpower_ups_is_not_a_cyberpower_pdu() -> None:
    ups = answers(E + "3808.1.1.1.1.1.1.0", "1.3.6.1.2.1.33.1.1.2.0")
    kind, family, prefix, answered = choose(E + "3808.1.1.3.9", ups, PDUS, UPSES)
    assert (kind, family, prefix) == ("ups", CPS_UPS, "")
    assert answered == ("cyberpower_ups", "rfc1628")


def test_a_vendor_ups_mib_outranks_a_pdu_family_but_ups_mib_alone_does_not() -> None:
    outlets_and_vendor_ups = answers(E + "318.1.1.12.1.5.0", E + "3808.1.1.1.1.1.1.0")
    assert choose(E + "9", outlets_and_vendor_ups, PDUS, UPSES)[0] == "ups"
    outlets_and_ups_mib = answers(E + "318.1.1.12.1.5.0", "1.3.6.1.2.1.33.1.1.2.0")
    assert choose(E + "9", outlets_and_ups_mib, PDUS, UPSES)[1] is RPDU


def test_a_family_needs_every_sentinel_and_missing_is_not_an_answer() -> None:
    two = dataclasses.replace(
        pdu("two", (), E + "1.1"), sentinels=(Scalar(E + "1.1", "X::a"), Scalar(E + "1.2", "X::b"))
    )
    values: dict[str, Value] = {E + "1.1": 1, E + "1.2": MISSING}
    assert choose("", values, (two,), ())[0] == "unknown"
    values[E + "1.2"] = 0
    assert choose("", values, (two,), ())[1] is two


def test_bridge_mib_alone_is_a_switch_and_nothing_is_unknown() -> None:
    assert choose(E + "9.1.617", answers(BRIDGE_NUM_PORTS), PDUS, UPSES)[0] == "switch"
    assert choose(E + "9.1.617", {}, PDUS, UPSES) == ("unknown", None, "", ())


class _HangingSubagent:
    """An agent whose answers for some objects never come (a hung AgentX subagent):
    no simulator stages that per object, so this stands in for the client."""

    def __init__(self, answers: dict[str, Value], hung: set[str], first_hangs: bool) -> None:
        self.target = SnmpTarget("pdu-h", "192.0.2.9", 161)
        self._answers, self._hung, self._first_hangs = answers, hung, first_hangs
        self.calls = 0

    async def get(self, oids: list[str]) -> dict[str, Value]:
        self.calls += 1
        if (self.calls == 1 and self._first_hangs) or self._hung & set(oids):
            raise DeviceUnreachable("pdu-h", "no answer")
        return {oid: self._answers.get(oid, MISSING) for oid in oids}

    async def get_one(self, oid: str) -> Value:
        return (await self.get([oid]))[oid]


async def test_a_batch_that_times_out_after_the_first_leaves_its_objects_unasked() -> None:
    oids = [f"{E}318.1.1.26.2.1.8.1", *(f"{E}99.{n}.0" for n in range(30))]
    agent = _HangingSubagent({oids[0]: b"AP8932"}, hung={f"{E}99.20.0"}, first_hangs=False)
    answers, unasked = await ask(agent, oids)  # type: ignore[arg-type]
    assert answers[oids[0]] == b"AP8932"
    assert f"{E}99.20.0" in unasked
    assert len(unasked) == 11  # the one batch that hung, nothing else
    silent = _HangingSubagent({}, hung=set(), first_hangs=True)
    with pytest.raises(DeviceUnreachable):  # the first batch: the device itself is silent
        await ask(silent, oids)  # type: ignore[arg-type]
