"""The one interface every switch driver implements, and the diff it is handed.

Drivers report and obey; they never decide policy. ``read()`` returns the switch as it
is; ``apply(diff)`` writes what the diff says in an order the device accepts and raises
our errors (`agent.errors`) when it refuses. Whether to write, what to do after a
refusal and what counts as verified is decided in `agent.network.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from agent.devices.switch.model import ActualSwitch, DesiredSwitch, PortChange, compare


@dataclass(frozen=True, slots=True)
class SwitchDiff:
    """What must change on one switch to reach ``desired`` from ``before``."""

    desired: DesiredSwitch
    before: ActualSwitch
    changes: tuple[PortChange, ...]
    create_vlans: frozenset[int]

    @property
    def switch(self) -> str:
        return self.desired.switch

    @property
    def empty(self) -> bool:
        return not self.changes and not self.create_vlans

    def ports(self) -> list[int]:
        return sorted({c.port for c in self.changes})


def make_diff(desired: DesiredSwitch, before: ActualSwitch) -> SwitchDiff:
    return SwitchDiff(
        desired=desired,
        before=before,
        changes=tuple(compare(desired, before)),
        create_vlans=desired.vlans - before.vlans,
    )


@dataclass(frozen=True, slots=True)
class Culprit:
    """What a refused write was about: the ports it touched, in words for the alarm."""

    ports: tuple[int, ...]
    what: str


class SwitchDriver(Protocol):
    """A switch the agent can read and configure. An async context manager: it owns its
    connection (an SNMP client, a netlink socket) for as long as the block runs."""

    switch_id: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def read(self) -> ActualSwitch:
        """The switch as it is now: VLANs, membership, PVIDs and admin status."""
        ...

    async def apply(self, diff: SwitchDiff) -> None:
        """Write the diff; raise NegativeReply / DeviceUnreachable / ProtocolError."""
        ...

    def culprit(self, oid: str) -> Culprit:
        """The ports and object a refused write (by its OID or object name) was about."""
        ...

    @property
    def requests(self) -> int:
        """Requests sent to the device so far (reads and writes), for benchmarks."""
        ...


@runtime_checkable
class PreparesWrites(Protocol):
    """A driver whose first write costs more than the others (a library to load, a
    session to set up) and that can pay it ahead, without changing the device. The
    network manager calls it when it opens, so an emergency does not pay it."""

    async def prepare_writes(self) -> None: ...
