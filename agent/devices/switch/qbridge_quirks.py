"""How each Q-BRIDGE-MIB switch family wants its VLANs written: vendor quirks as data.

RFC 4363 leaves open in which order a manager may change PVIDs and memberships, and
switches differ. A profile names the write stages in the order the family accepts and
``breaks``, the stages that must start a new SET PDU; the driver packs the writes of the
other stages into the PDU before them, in stage order, as long as it stays within the
message size the family answers (``max_message_octets``, ``max_varbinds``).

RFC 3416 4.2.5: the variables of one SET PDU are set "as if simultaneously", all or
none, and an agent validates each against the state *before* the PDU. So two writes may
share a PDU when neither needs the other applied first, and sharing never moves a write
earlier than its stage: at worst it lands together with the stage before it. Hard
dependencies (`DEPENDS`) therefore always have a break between them: a VLAN row exists
before a PVID or a membership names it, a port is egress before it is untagged.

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

``shut`` and ``open`` always travel alone: a refusal of any other write cannot undo the
shutting (the hospital uplink going down in an emergency), and nothing is opened before
everything else is written. In ``generic``, PVID, leave and join-egress share a PDU: the
ingress of a moving port changes in the same instant as its membership (never after),
and leaving one VLAN and joining another at once still never puts a port in two.
``membership-first`` agents are less known: each of their stages stays a PDU of its own.

Sizes: net-snmp's agent answers tooBig past SNMP_MAX_MSG_SIZE, 1472 octets (an Ethernet
frame less the IP and UDP headers, `snmp_api.h`), and the response to a SET carries the
request's varbinds, so a PDU is filled up to that message size (less the message's own
headers, see the driver), not to a count of varbinds.
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


# (a, b): b's writes need a's applied first, so they never share a PDU.
DEPENDS: tuple[tuple[Stage, Stage], ...] = (
    ("create", "pvid"),
    ("create", "join-egress"),
    ("create", "join-untagged"),
    ("join-egress", "join-untagged"),
)


@dataclass(frozen=True, slots=True)
class QBridgeProfile:
    name: str
    sys_object_ids: tuple[str, ...]  # prefixes, longest match wins
    order: tuple[Stage, ...]
    # Stages that start a new SET PDU, written or not (default: every stage, one PDU
    # each); 'shut' and 'open' always have PDUs of their own whatever this says.
    breaks: frozenset[Stage] = frozenset(STAGES)
    max_varbinds: int = 32  # per SET PDU
    max_message_octets: int = 1472  # the largest SET (and its response) the agent takes
    pvid_syntax: Literal["gauge", "integer"] = "gauge"  # VlanIndex is Unsigned32
    row_create: int = 4  # RowStatus createAndGo(4)

    def __post_init__(self) -> None:
        where = f"Q-BRIDGE profile {self.name!r}"
        if sorted(self.order) != sorted(STAGES) or self.order[0] != "shut":
            raise ValueError(
                f"{where}: order {self.order} must list every stage "
                f"of {STAGES} once, starting with 'shut'"
            )
        if self.order[-1] != "open":
            raise ValueError(f"{where}: 'open' must be the last stage")
        if self.max_varbinds < 1:
            raise ValueError(f"{where}: max_varbinds must be >= 1")
        if self.max_message_octets < 484:  # RFC 3417: every agent takes 484 octets
            raise ValueError(f"{where}: max_message_octets must be >= 484")
        for first, then in DEPENDS:
            a, b = self.order.index(first), self.order.index(then)
            if a < b and not self.breaks & set(self.order[a + 1 : b + 1]):
                raise ValueError(
                    f"{where}: {then!r} needs {first!r} applied first; put a break "
                    f"between them (one of {self.order[a + 1 : b + 1]})"
                )


GENERIC = QBridgeProfile(
    name="generic",
    sys_object_ids=("1.3.6.1.4.1.8072",),  # net-snmp based agents
    order=("shut", "create", "pvid", "leave", "join-egress", "join-untagged", "open"),
    breaks=frozenset({"create", "pvid", "join-untagged", "open"}),
    max_varbinds=128,  # the message size is what binds (48 PVIDs fit in 1.1 kB)
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
