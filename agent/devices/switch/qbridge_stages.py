"""Turn a switch diff into ordered Q-BRIDGE writes: pure, so the order is unit-tested.

The planner walks the profile's stages over a running copy of the switch's VLAN table,
so each stage's writes are computed from the state the switch will be in when they
arrive (what the agent validates a SET against), and only objects whose value changes
are written. Ports the config does not manage keep their bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from agent.devices.switch.driver import SwitchDiff
from agent.devices.switch.qbridge_quirks import QBridgeProfile, Stage

WriteKind = Literal["admin", "create", "pvid", "untagged", "egress"]


@dataclass(frozen=True, slots=True)
class Write:
    """One object to set: ``key`` is a port (admin, pvid) or a VLAN (the rest)."""

    kind: WriteKind
    key: int
    value: int | bool | frozenset[int]


@dataclass(frozen=True, slots=True)
class StageWrites:
    stage: Stage
    writes: tuple[Write, ...]


@dataclass(frozen=True, slots=True)
class Pdu:
    """One SET PDU: the writes of one or more consecutive stages, in stage order."""

    stages: tuple[Stage, ...]
    writes: tuple[Write, ...]

    @property
    def label(self) -> str:
        return "+".join(self.stages)


class _Planner:
    """A running copy of the switch's VLAN table; each stage method returns its writes
    and updates the copy as the switch will be once they are applied."""

    def __init__(self, diff: SwitchDiff) -> None:
        before = diff.before
        self.diff = diff
        self.desired = diff.desired.ports
        self.managed = set(self.desired)
        self.egress = {v: set(before.egress.get(v, ())) for v in before.vlans}
        self.untagged = {v: set(before.untagged.get(v, ())) for v in before.vlans}
        self.pvid_of = dict(before.pvid)
        self.admin = dict(before.admin_up)
        self.want_egress: dict[int, set[int]] = {}
        self.want_untagged: dict[int, set[int]] = {}
        for number, port in self.desired.items():
            for vid in port.vlans:
                self.want_egress.setdefault(vid, set()).add(number)
            for vid in port.untagged:
                self.want_untagged.setdefault(vid, set()).add(number)

    def admin_to(self, up: bool) -> list[Write]:
        out = []
        for n, p in sorted(self.desired.items()):
            if p.admin_up is up and self.admin.get(n) is not up:
                self.admin[n] = up
                out.append(Write("admin", n, up))
        return out

    def create(self) -> list[Write]:
        out = []
        for vid in sorted(self.diff.desired.vlans - set(self.egress)):
            self.egress[vid] = set()
            self.untagged[vid] = set()
            out.append(Write("create", vid, True))
        return out

    def pvid(self) -> list[Write]:
        out = []
        for n, p in sorted(self.desired.items()):
            if self.pvid_of.get(n) != p.pvid:
                self.pvid_of[n] = p.pvid
                out.append(Write("pvid", n, p.pvid))
        return out

    def leave(self) -> list[Write]:
        untagged, egress = [], []
        for vid in sorted(self.egress):
            u = self.untagged[vid] - (self.managed - self.want_untagged.get(vid, set()))
            e = self.egress[vid] - (self.managed - self.want_egress.get(vid, set()))
            if u != self.untagged[vid]:
                self.untagged[vid] = u
                untagged.append(Write("untagged", vid, frozenset(u)))
            if e != self.egress[vid]:
                self.egress[vid] = e
                self.untagged[vid] &= e
                egress.append(Write("egress", vid, frozenset(e)))
        return untagged + egress  # untagged first: never untagged outside egress

    def join(self, kind: Literal["egress", "untagged"]) -> list[Write]:
        out = []
        sets = self.egress if kind == "egress" else self.untagged
        wanted = self.want_egress if kind == "egress" else self.want_untagged
        for vid in sorted(wanted):
            grown = sets[vid] | wanted[vid]
            if grown != sets[vid]:
                sets[vid] = grown
                out.append(Write(kind, vid, frozenset(grown)))
        return out

    def stage(self, stage: Stage) -> list[Write]:
        if stage in ("shut", "open"):
            return self.admin_to(stage == "open")
        if stage == "create":
            return self.create()
        if stage == "pvid":
            return self.pvid()
        if stage == "leave":
            return self.leave()
        return self.join("egress" if stage == "join-egress" else "untagged")


def plan_writes(diff: SwitchDiff, profile: QBridgeProfile) -> list[StageWrites]:
    """The non-empty stages, in the profile's order, with their writes."""
    planner = _Planner(diff)
    result = []
    for stage in profile.order:
        writes = planner.stage(stage)
        if writes:
            result.append(StageWrites(stage, tuple(writes)))
    return result


ALONE: frozenset[Stage] = frozenset({"shut", "open"})


def pack(
    stages: Sequence[StageWrites],
    profile: QBridgeProfile,
    size: Callable[[Write], int],
    budget: int,
) -> list[Pdu]:
    """The stages' writes as SET PDUs, in order: a new PDU at every stage of the
    profile's ``breaks`` (whether it has writes or not, so a dependency across an empty
    stage still gets its break), around ``shut`` and ``open``, when the PDU would pass
    ``max_varbinds`` or ``budget`` octets of varbinds (``size`` of each write), and when
    an object is written again (a PDU sets each object once)."""
    present = {s.stage: s.writes for s in stages}
    out: list[Pdu] = []
    names: list[Stage] = []
    writes: list[Write] = []
    objects: set[tuple[str, int]] = set()
    used = 0

    def flush() -> None:
        nonlocal used
        if writes:
            out.append(Pdu(tuple(dict.fromkeys(names)), tuple(writes)))
        names.clear()
        writes.clear()
        objects.clear()
        used = 0

    for stage in profile.order:
        if stage in profile.breaks or stage in ALONE:
            flush()
        for write in present.get(stage, ()):
            octets = size(write)
            if (
                len(writes) >= profile.max_varbinds
                or (writes and used + octets > budget)
                or (write.kind, write.key) in objects
            ):
                flush()
            names.append(stage)
            writes.append(write)
            objects.add((write.kind, write.key))
            used += octets
        if stage in ALONE:
            flush()
    flush()
    return out


def lower_bound(diff: SwitchDiff) -> tuple[int, int]:
    """(SET PDUs, varbinds) that no write order can beat for this diff, whatever the
    vendor: every object whose final value differs is written once, and PDUs are the
    longest chain of hard dependencies (a VLAN row exists before a PVID or membership
    names it; a port is egress before it is untagged, as agents check each PDU against
    the state before it). Shutting first and opening last are safety choices of ours,
    not dependencies, so they are not counted as extra PDUs here."""
    before, desired = diff.before, diff.desired
    objects = 0
    creates = len(diff.create_vlans)
    egress_join = False
    for vid in before.vlans | desired.vlans:
        old_e, old_u = before.egress.get(vid, frozenset()), before.untagged.get(vid, frozenset())
        new_e, new_u = set(old_e), set(old_u)
        for n, p in desired.ports.items():
            new_e.discard(n)
            new_u.discard(n)
            if vid in p.vlans:
                new_e.add(n)
            if vid in p.untagged:
                new_u.add(n)
        objects += (new_e != old_e) + (new_u != old_u)
        egress_join |= bool((new_u - old_e) and (new_e - old_e))
    for n, p in desired.ports.items():
        objects += (before.pvid.get(n) != p.pvid) + (before.admin_up.get(n) != p.admin_up)
    if objects + creates == 0:
        return 0, 0
    return 1 + (creates > 0) + egress_join, objects + creates
