"""How each Q-BRIDGE-MIB switch family wants its VLANs written: vendor quirks as data.

RFC 4363 leaves open in which order a manager may change PVIDs and memberships, and
switches differ. A profile names the write stages in the order the family accepts; the
driver sends one SET PDU per non-empty stage (split when it exceeds ``max_varbinds``).

Stages:

- ``shut``: ifAdminStatus down(2) for ports that must be down; always first, so a port
  leaving the clean VLAN is cut before anything else moves.
- ``create``: dot1qVlanStaticRowStatus createAndGo(4) for VLANs that do not exist.
- ``pvid``: dot1qPvid (a VlanIndex, Unsigned32 on the wire) per bridge port.
- ``leave``: ports leave the untagged and egress sets of VLANs they must not be in
  (untagged varbinds first in the PDU: a port may not be untagged where it is not egress).
- ``join-egress``, then ``join-untagged``: ports join; separate PDUs because an agent
  checks an untagged set against the egress set as it is *before* the PDU.
- ``open``: ifAdminStatus up(1) for ports that must be up; always last.

``generic`` (RFC 4363 agents, net-snmp based switches, the rack simulator) moves the
PVID first, so the ingress of a port moving out of the clean VLAN is cut by the very
first VLAN write, then leaves before joining: a port is never in two VLANs at once.
``membership-first`` is for agents that refuse a PVID naming a VLAN the port is not
yet a member of (Aruba AOS-CX before 10.13, openl2m/openl2m issue 13): join, PVID,
then leave. There the port is briefly in both VLANs, which is why ``shut`` comes first
and why the invariants never allow clean and quarantine on one port in a final state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stage = Literal["shut", "create", "pvid", "leave", "join-egress", "join-untagged", "open"]
STAGES: tuple[Stage, ...] = (
    "shut",
    "create",
    "pvid",
    "leave",
    "join-egress",
    "join-untagged",
    "open",
)


@dataclass(frozen=True, slots=True)
class QBridgeProfile:
    name: str
    sys_object_ids: tuple[str, ...]  # prefixes, longest match wins
    order: tuple[Stage, ...]
    max_varbinds: int = 32  # per SET PDU; embedded agents answer tooBig past ~40
    pvid_syntax: Literal["gauge", "integer"] = "gauge"  # VlanIndex is Unsigned32
    row_create: int = 4  # RowStatus createAndGo(4)

    def __post_init__(self) -> None:
        if sorted(self.order) != sorted(STAGES) or self.order[0] != "shut":
            raise ValueError(
                f"Q-BRIDGE profile {self.name!r}: order {self.order} must list every stage "
                f"of {STAGES} once, starting with 'shut'"
            )
        if self.order[-1] != "open":
            raise ValueError(f"Q-BRIDGE profile {self.name!r}: 'open' must be the last stage")
        if self.max_varbinds < 1:
            raise ValueError(f"Q-BRIDGE profile {self.name!r}: max_varbinds must be >= 1")


GENERIC = QBridgeProfile(
    name="generic",
    sys_object_ids=("1.3.6.1.4.1.8072",),  # net-snmp based agents
    order=("shut", "create", "pvid", "leave", "join-egress", "join-untagged", "open"),
)
MEMBERSHIP_FIRST = QBridgeProfile(
    name="membership-first",
    sys_object_ids=("1.3.6.1.4.1.47196.4.1.1",),  # HPE Aruba AOS-CX switches
    order=("shut", "create", "join-egress", "join-untagged", "pvid", "leave", "open"),
)
PROFILES: tuple[QBridgeProfile, ...] = (GENERIC, MEMBERSHIP_FIRST)


def profile_for(sys_object_id: str) -> QBridgeProfile:
    """The profile whose sysObjectID prefix matches longest; ``generic`` otherwise."""
    best: tuple[int, QBridgeProfile] = (0, GENERIC)
    for profile in PROFILES:
        for prefix in profile.sys_object_ids:
            if (sys_object_id == prefix or sys_object_id.startswith(prefix + ".")) and len(
                prefix
            ) > best[0]:
                best = (len(prefix), profile)
    return best[1]
