"""Who may run what, derived from the verb registry (agent/verbs.py).

Roles are cumulative (an operator may do what an observer may, an admin everything). A
verb missing from the registry can only be run by an admin (and then has no handler),
so nothing is open by default. Dangerous verbs additionally need an approval signed by a
second, different key whose role may run the verb too (two-person rule).
"""

from __future__ import annotations

from typing import Final

from agent.verbs import REGISTRY, ROLES, Role

__all__ = ["DANGEROUS_VERBS", "OBSERVER_VERBS", "OPERATOR_VERBS", "ROLES", "ROLE_VERBS", "Role"]


def _at_most(role: Role) -> frozenset[str]:
    rank = ROLES.index(role)
    return frozenset(v.name for v in REGISTRY.values() if ROLES.index(v.role) <= rank)


OBSERVER_VERBS: Final = _at_most("observer")
OPERATOR_VERBS: Final = _at_most("operator")
# The hospital uplink, cutting power to the rack, aborting a restore, leaving emergency
# isolation, and a firmware outside the approved baseline: harm that cannot be undone
# remotely.
DANGEROUS_VERBS: Final = frozenset(v.name for v in REGISTRY.values() if v.two_person)

ROLE_VERBS: Final[dict[str, frozenset[str] | None]] = {
    "observer": OBSERVER_VERBS,
    "operator": OPERATOR_VERBS,
    "admin": None,  # None: every verb, dangerous ones included
}


def may_run(role: str, verb: str) -> bool:
    if role not in ROLE_VERBS:
        return False
    allowed = ROLE_VERBS[role]
    return allowed is None or verb in allowed


def is_dangerous(verb: str) -> bool:
    return verb in DANGEROUS_VERBS
