"""Who may run what: the role -> verbs table, as data.

Roles are cumulative (an operator may do what an observer may, an admin everything).
A verb missing from every role can only be run by an admin, so a verb added by a later
part of the daemon is closed by default until someone places it here on purpose.
Dangerous verbs additionally need an approval signed by a second, different key whose
role may run the verb too (two-person rule).
"""

from __future__ import annotations

from typing import Final, Literal

Role = Literal["observer", "operator", "admin"]
ROLES: Final[tuple[Role, ...]] = ("observer", "operator", "admin")

OBSERVER_VERBS: Final = frozenset(
    {
        "status.get",
        "alarms.get",
        "outbox.stats",
        "audit.head",
        "runbook.status",
    }
)

OPERATOR_VERBS: Final = OBSERVER_VERBS | frozenset(
    {
        "runbook.retry",
        "runbook.skip",
        # Isolating can only make the rack safer: every operator may press the button.
        "network.isolate",
        "runbook.start",
        "prompt.ack",
        "power.on",
        "power.cycle",
        "alarm.ack",
        "drill.start",
    }
)

# The hospital uplink, cutting power to the rack, aborting a restore, and installing a
# firmware outside the approved baseline: each can do harm that cannot be undone remotely.
DANGEROUS_VERBS: Final = frozenset(
    {
        "network.connect",
        "power.down",
        "runbook.abort",
        "firmware.override",
    }
)

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
