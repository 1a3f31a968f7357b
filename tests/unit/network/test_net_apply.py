"""`apply_switch` narrowing a refused write, against an in-memory switch: the edge cases
a simulator cannot stage (a port with no admin status, a refusal naming no known port,
a write slower than the budget). The simulated-switch case is in
tests/integration/network/test_refused_port.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Self

from agent.devices.switch.driver import Culprit, SwitchDiff
from agent.devices.switch.model import ActualSwitch, DesiredPort, DesiredSwitch
from agent.errors import DeviceUnreachable, NegativeReply
from agent.network.apply import apply_switch

Q = 999
CONTROLLER = 23


def port(number: int, role: str = "server", *, up: bool = True) -> DesiredPort:
    return DesiredPort(
        number=number,
        role=role,  # type: ignore[arg-type]
        phase="quarantine",
        pvid=Q,
        untagged=frozenset({Q}),
        tagged=frozenset(),
        admin_up=up,
    )


DESIRED = DesiredSwitch(
    "sw",
    "quarantine",
    MappingProxyType({1: port(1), 2: port(2), CONTROLLER: port(CONTROLLER, "controller")}),
)


@dataclass
class MemorySwitch:
    """Ports in VLAN 1; refuses any write that touches a port in ``refuse`` (naming the
    port ``culprit_port``, or the port itself), like a SET PDU: all or nothing."""

    refuse: set[int]
    culprit_port: int | None = None
    admin_known: bool = True
    write_delay_s: float = 0.0
    lose_reply: bool = False  # apply the write, then never answer it
    pvid: dict[int, int] = field(default_factory=lambda: {1: 1, 2: 1, CONTROLLER: 1})
    admin: dict[int, bool] = field(default_factory=lambda: {1: True, 2: True, CONTROLLER: True})
    writes: list[dict[int, DesiredPort]] = field(default_factory=list)
    switch_id: str = "sw"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    @property
    def requests(self) -> int:
        return len(self.writes)

    async def read(self) -> ActualSwitch:
        members = {v: frozenset(p for p, pv in self.pvid.items() if pv == v) for v in (1, Q)}
        return ActualSwitch(
            switch="sw",
            vlans=frozenset({1, Q}),
            egress=members,
            untagged=members,
            pvid=dict(self.pvid),
            admin_up=dict(self.admin) if self.admin_known else {},
        )

    async def apply(self, diff: SwitchDiff) -> None:
        await asyncio.sleep(self.write_delay_s)
        touched = {c.port for c in diff.changes}
        self.writes.append({p: diff.desired.ports[p] for p in sorted(touched)})
        refused = touched & self.refuse
        if refused:
            named = self.culprit_port if self.culprit_port is not None else min(refused)
            raise NegativeReply(
                "sw", "SET refused with noAccess", status="noAccess", oid=f"p.{named}"
            )
        for number in touched:
            want = diff.desired.ports[number]
            self.pvid[number] = want.pvid
            self.admin[number] = want.admin_up
        if self.lose_reply:
            raise DeviceUnreachable("sw", "SET to 127.0.0.1:161: no answer after 2 attempt(s)")

    def culprit(self, oid: str) -> Culprit:
        number = int(oid.rsplit(".", 1)[1])
        return Culprit((number,), f"dot1qPvid of port {number}")


async def test_the_refused_port_is_left_alone_and_its_neighbours_move() -> None:
    switch = MemorySwitch(refuse={1})
    applied = await apply_switch(switch, DESIRED, budget_s=5)
    assert applied.failed_ports == (1,)
    assert switch.pvid == {1: 1, 2: Q, CONTROLLER: Q}
    assert [sorted(w) for w in switch.writes] == [[1, 2, CONTROLLER], [2, CONTROLLER]]
    assert {m.port for m in applied.verify.mismatches} == {1}
    assert "noAccess" in applied.verify.error


async def test_a_controller_port_without_admin_status_is_never_asked_down() -> None:
    switch = MemorySwitch(refuse={CONTROLLER}, admin_known=False)
    applied = await apply_switch(switch, DESIRED, budget_s=5)
    assert applied.failed_ports == (CONTROLLER,)
    narrowed = switch.writes[1]
    assert CONTROLLER not in narrowed or narrowed[CONTROLLER].admin_up
    assert switch.admin[CONTROLLER] is True


async def test_a_refusal_naming_an_unknown_port_does_not_narrow() -> None:
    switch = MemorySwitch(refuse={2}, culprit_port=0)  # an ifIndex the driver cannot map
    applied = await apply_switch(switch, DESIRED, budget_s=5)
    assert applied.failed_ports == ()
    assert len(switch.writes) == 1
    assert applied.after is not None  # the caller's fallback can still shut what is wrong


async def test_a_write_slower_than_the_budget_still_reads_back() -> None:
    switch = MemorySwitch(refuse=set(), write_delay_s=0.5)
    applied = await apply_switch(switch, DESIRED, budget_s=0.2)
    assert applied.after is not None
    assert "the write did not complete (no answer within 0.2 s)" in applied.verify.error
    assert applied.verify.mismatches  # nothing was written: every port still in VLAN 1


async def test_a_write_whose_reply_is_lost_is_judged_by_the_read_back() -> None:
    """The switch applied the SET but its reply never came: the read-back decides (here:
    all is in place), and the error still says what happened."""
    switch = MemorySwitch(refuse=set(), lose_reply=True)
    applied = await apply_switch(switch, DESIRED, budget_s=5)
    assert applied.after is not None
    assert applied.verify.mismatches == ()
    assert "no answer after 2 attempt(s)" in applied.verify.error


async def test_a_switch_that_cannot_be_read_at_all_says_so() -> None:
    class Deaf(MemorySwitch):
        async def read(self) -> ActualSwitch:
            raise DeviceUnreachable("sw", "GET to 127.0.0.1:161: no answer after 2 attempt(s)")

    applied = await apply_switch(Deaf(refuse=set()), DESIRED, budget_s=5)
    assert applied.after is None
    assert applied.verify.error.startswith("cannot read the switch (sw: GET")
    assert applied.verify.error.endswith("check its management link")
