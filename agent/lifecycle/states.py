"""The rack's lifecycle as one table of states, events and transitions.

Reading this table is reading the product: from power applied (``arrival``) to the
essential applications running (``operational``), and every way out of that path. Entry
actions live with the machine (`machine.py`); guards are named here and evaluated there,
so a refused transition always says which guard refused it and why.

Every (state, event) pair is either a transition or a refusal with a reason: nothing is
silently ignored (the unit tests check the table is total).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    ARRIVAL = "arrival"
    SELFTEST = "selftest"
    ISOLATE = "isolate"
    POWER_UP = "power_up"
    RESTORE = "restore"
    OPERATIONAL = "operational"
    CONNECTED = "connected"  # operational, with the hospital uplink up (two-person approved)
    DEGRADED = "degraded"
    RECOVERING = "recovering"
    SAFE_HOLD = "safe_hold"
    ISOLATED = "isolated"  # emergency isolation, held until explicitly released
    SHUTDOWN = "shutdown"
    DRILL = "drill"


class Event(StrEnum):
    BOOTED = "booted"
    SELFTEST_PASSED = "selftest_passed"
    SELFTEST_FAILED = "selftest_failed"
    ISOLATION_VERIFIED = "isolation_verified"
    ISOLATION_FAILED = "isolation_failed"
    POWERED = "powered"
    POWER_FAILED = "power_failed"
    RESTORED = "restored"
    RESTORE_FAILED = "restore_failed"
    DEGRADE = "degrade"  # an alarm whose policy is "degraded"
    RECOVERED = "recovered"  # every degrading alarm cleared
    UPS_CRITICAL = "ups_critical"  # runtime low or battery low: staged shutdown
    SHUTDOWN_REQUESTED = "shutdown_requested"  # an operator (two-person if remote) powers down
    MAINS_BACK = "mains_back"  # power restored and the operator or policy allows return
    OPERATOR_RETRY = "operator_retry"
    OPERATOR_ABORT = "operator_abort"
    ISOLATE_NOW = "isolate_now"  # the emergency button, local, signed or health's
    RELEASE = "release"  # leave emergency isolation (two-person when remote)
    DRILL_START = "drill_start"
    DRILL_DONE = "drill_done"
    WORKLOAD_LOST = "workload_lost"  # an application stopped answering, a server lost power
    WORKLOAD_BACK = "workload_back"  # every application answers again
    RECOVERY_FAILED = "recovery_failed"  # retries spent, or an application's policy is hold
    CONNECT = "connect"  # the hospital uplink is up and verified (network.connect)
    DISCONNECT = "disconnect"  # the hospital uplink is down again, verified (network.disconnect)


# Guards: a name the machine evaluates, and what a refusal by it means for the operator.
GUARDS: dict[str, str] = {
    "isolation_verified": "isolation has not been verified by reading the switches back",
    "drill_enabled": "drills are disabled in this rack's config ([drill] enabled = false)",
    "isolation_released": "emergency isolation holds; release it first (network.release, "
    "`cleanroom net release`)",
}


@dataclass(frozen=True)
class Transition:
    source: State
    event: Event
    target: State
    reason: str
    guard: str | None = None


def _t(
    source: State, event: Event, target: State, reason: str, guard: str | None = None
) -> Transition:
    return Transition(source, event, target, reason, guard)


S, E = State, Event
_ACTIVE = (
    S.ARRIVAL,
    S.SELFTEST,
    S.ISOLATE,
    S.POWER_UP,
    S.RESTORE,
    S.OPERATIONAL,
    S.CONNECTED,
    S.DEGRADED,
    S.RECOVERING,
    S.DRILL,
)

TABLE: tuple[Transition, ...] = (
    # The arrival path.
    _t(S.ARRIVAL, E.BOOTED, S.SELFTEST, "controller up: check every device before touching any"),
    _t(S.SELFTEST, E.SELFTEST_PASSED, S.ISOLATE, "inventory and firmware are as approved"),
    _t(S.SELFTEST, E.SELFTEST_FAILED, S.SAFE_HOLD, "a device is missing, wrong or not approved"),
    _t(
        S.ISOLATE,
        E.ISOLATION_VERIFIED,
        S.POWER_UP,
        "quarantine read back from every switch",
        guard="isolation_verified",
    ),
    _t(S.ISOLATE, E.ISOLATION_FAILED, S.SAFE_HOLD, "isolation could not be proven"),
    _t(S.POWER_UP, E.POWERED, S.RESTORE, "every power group is up and verified"),
    _t(S.POWER_UP, E.POWER_FAILED, S.SAFE_HOLD, "a power group failed or the budget is short"),
    _t(S.RESTORE, E.RESTORED, S.OPERATIONAL, "every runbook step is done"),
    _t(S.RESTORE, E.RESTORE_FAILED, S.SAFE_HOLD, "a runbook step failed with on_failure=stop"),
    # Degradation and recovery while running.
    _t(S.OPERATIONAL, E.DEGRADE, S.DEGRADED, "an alarm whose policy is 'degraded' was raised"),
    _t(S.DEGRADED, E.RECOVERED, S.OPERATIONAL, "every degrading alarm has cleared"),
    _t(S.DEGRADED, E.DEGRADE, S.DEGRADED, "another degrading alarm; still degraded"),
    # Operational means verified: a lost application is brought back by the runbook.
    _t(S.OPERATIONAL, E.WORKLOAD_LOST, S.RECOVERING, "an application stopped answering"),
    _t(S.DEGRADED, E.WORKLOAD_LOST, S.RECOVERING, "an application stopped answering"),
    _t(S.RECOVERING, E.WORKLOAD_BACK, S.OPERATIONAL, "every application answers again"),
    _t(S.RECOVERING, E.RECOVERY_FAILED, S.SAFE_HOLD, "recovery failed or waits for an operator"),
    # The hospital uplink: joined from operational only (two-person approved), left back
    # to operational by an explicit disconnect. Connected keeps verifying: a lost
    # application takes the uplink down before recovery; emergency isolation, a UPS or a
    # power-down leave it like any active state (below).
    _t(S.OPERATIONAL, E.CONNECT, S.CONNECTED, "the hospital uplink is up and verified"),
    _t(S.CONNECTED, E.DISCONNECT, S.OPERATIONAL, "the hospital uplink is down again, verified"),
    _t(
        S.CONNECTED,
        E.WORKLOAD_LOST,
        S.RECOVERING,
        "an application stopped answering: the uplink goes down before recovery",
    ),
    # Safe hold: isolated, waiting for a person.
    _t(S.SAFE_HOLD, E.OPERATOR_RETRY, S.SELFTEST, "operator asked to try the arrival again"),
    _t(S.SAFE_HOLD, E.DRILL_START, S.DRILL, "operator started a drill", guard="drill_enabled"),
    _t(S.OPERATIONAL, E.DRILL_START, S.DRILL, "operator started a drill", guard="drill_enabled"),
    _t(S.DRILL, E.DRILL_DONE, S.SAFE_HOLD, "drill finished; report written"),
    _t(S.DRILL, E.RESTORE_FAILED, S.SAFE_HOLD, "drill stopped on a failed step"),
    # Power: the UPS decides, from any active state.
    *(_t(s, E.UPS_CRITICAL, S.SHUTDOWN, "UPS runtime is low: staged shutdown") for s in _ACTIVE),
    _t(S.SAFE_HOLD, E.UPS_CRITICAL, S.SHUTDOWN, "UPS runtime is low: staged shutdown"),
    *(
        _t(s, E.SHUTDOWN_REQUESTED, S.SHUTDOWN, "operator asked for a staged power-down")
        for s in (*_ACTIVE, S.SAFE_HOLD)
    ),
    _t(
        S.SHUTDOWN,
        E.MAINS_BACK,
        S.SELFTEST,
        "mains is back and return is allowed",
        guard="isolation_released",
    ),
    _t(
        S.SHUTDOWN,
        E.OPERATOR_RETRY,
        S.SELFTEST,
        "operator asked to bring the rack back up",
        guard="isolation_released",
    ),
    # The emergency button and aborts: always possible, always to safety. Isolation is
    # held: nothing leaves it but an explicit release (power safety aside: a UPS running
    # out still shuts the rack down, and it stays down while the isolation holds).
    *(
        _t(s, E.ISOLATE_NOW, S.ISOLATED, "emergency isolation requested")
        for s in (*_ACTIVE, S.SAFE_HOLD)
    ),
    _t(S.ISOLATED, E.ISOLATE_NOW, S.ISOLATED, "emergency isolation requested (again)"),
    _t(S.ISOLATED, E.RELEASE, S.SAFE_HOLD, "isolation released: holding for a person"),
    _t(S.ISOLATED, E.UPS_CRITICAL, S.SHUTDOWN, "UPS runtime is low: staged shutdown"),
    _t(S.ISOLATED, E.SHUTDOWN_REQUESTED, S.SHUTDOWN, "operator asked for a staged power-down"),
    *(
        _t(s, E.OPERATOR_ABORT, S.SAFE_HOLD, "operator aborted")
        for s in (S.SELFTEST, S.ISOLATE, S.POWER_UP, S.RESTORE, S.RECOVERING, S.DRILL)
    ),
)

# Why an event is refused where the table has no row for it: one reason per event, so
# every refusal tells the operator something true.
REFUSALS: dict[Event, str] = {
    E.BOOTED: "the agent is already past arrival",
    E.SELFTEST_PASSED: "no self-test is running",
    E.SELFTEST_FAILED: "no self-test is running",
    E.ISOLATION_VERIFIED: "isolation is not being applied now",
    E.ISOLATION_FAILED: "isolation is not being applied now",
    E.POWERED: "no power-up is running",
    E.POWER_FAILED: "no power-up is running",
    E.RESTORED: "no restore is running",
    E.RESTORE_FAILED: "no restore or drill is running",
    E.DEGRADE: "degradation only applies while operational (while connected, the alarm is "
    "published and the state follows once disconnected)",
    E.RECOVERED: "the rack is not degraded",
    E.UPS_CRITICAL: "a shutdown is already under way",
    E.SHUTDOWN_REQUESTED: "a shutdown is already under way",
    E.MAINS_BACK: "the rack is not shut down",
    E.OPERATOR_RETRY: "retry is for safe hold; the rack is not holding (from emergency "
    "isolation, release it first)",
    E.OPERATOR_ABORT: "nothing is running that can be aborted",
    E.ISOLATE_NOW: "the rack is shutting down; the isolation is applied and held, and the "
    "rack does not come back up until it is released",
    E.RELEASE: "the rack is not in emergency isolation",
    E.DRILL_START: "a drill starts from safe hold or operational only (disconnect first)",
    E.DRILL_DONE: "no drill is running",
    E.WORKLOAD_LOST: "applications are verified only while operational or degraded",
    E.WORKLOAD_BACK: "no recovery is running",
    E.RECOVERY_FAILED: "no recovery is running",
    E.CONNECT: "the hospital uplink is joined from operational only (every application "
    "verified, no degrading alarm, no emergency isolation)",
    E.DISCONNECT: "the rack is not connected to the hospital uplink",
}

INITIAL = State.ARRIVAL


@dataclass(frozen=True)
class Refusal:
    state: State
    event: Event
    reason: str


def lookup(state: State, event: Event) -> Transition | Refusal:
    """The row for (state, event): a transition (its guard still to be evaluated) or a
    refusal with the reason."""
    for row in TABLE:
        if row.source is state and row.event is event:
            return row
    return Refusal(state, event, f"{event} refused in {state}: {REFUSALS[event]}")


def graph(fmt: str = "mermaid") -> str:
    """The table as a diagram: ``mermaid`` (for the README and issues) or ``dot``."""
    if fmt == "dot":
        lines = ["digraph lifecycle {", "  rankdir=LR;", f'  "{INITIAL}" [shape=doublecircle];']
        for row in TABLE:
            label = str(row.event) + (f" [{row.guard}]" if row.guard else "")
            lines.append(f'  "{row.source}" -> "{row.target}" [label="{label}"];')
        lines.append("}")
        return "\n".join(lines)
    if fmt != "mermaid":
        raise ValueError(f"graph format {fmt!r}: use 'mermaid' or 'dot'")
    lines = ["stateDiagram-v2", f"  [*] --> {INITIAL}"]
    for row in TABLE:
        label = str(row.event) + (f" [{row.guard}]" if row.guard else "")
        lines.append(f"  {row.source} --> {row.target}: {label}")
    return "\n".join(lines)
