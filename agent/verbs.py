"""The verb registry: every action a person may ask of the rack, in one table.

Each verb names its arguments (and their JSON Schema), the least role that may run it
remotely, whether it needs a second person's signature over MQTT, whether the local
console serves it, and how the CLI spells it. Everything else is derived from here:
`report/roles.py` (who may run what), the console's verb list, the command channel of
`docs/asyncapi.yaml`, and the argument check both command paths run before a handler.
The handlers themselves are built by the parts that own the work (lifecycle/verbs.py for
the rack, report/reporter.py for ``status.get`` and ``outbox.stats``); a test fails if a
verb published here has no handler.

This module is data and imports nothing of the agent's parts, so any layer may read it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

from agent.errors import PolicyRefusal

R = TypeVar("R")
T = TypeVar("T")
Role = Literal["observer", "operator", "admin"]
ROLES: Final[tuple[Role, ...]] = ("observer", "operator", "admin")
ArgType = Literal["string", "number", "boolean"]


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    type: ArgType
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Verb:
    name: str
    summary: str
    role: Role  # the least role that may run it (roles are cumulative)
    args: tuple[Arg, ...] = ()
    two_person: bool = False  # over MQTT: an approval signed by a second key
    console: bool = True  # the local console serves it (the operator at the rack)
    cli: str = ""  # the `cleanroom` command that sends it, when there is one
    read: bool = False
    """Read-only: changes nothing on the rack. A read is not audited one by one (a
    polling supervisor would grow the audit log without bound): reads are counted per
    actor and verb and audited as one summary entry per interval (docs/protocol.md,
    "Reads"). Every other verb is audited one by one."""

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this verb's ``args`` object."""
        return {
            "type": "object",
            "properties": {
                a.name: {"type": a.type, "description": a.description} for a in self.args
            },
            "required": [a.name for a in self.args if a.required],
            "additionalProperties": False,
        }


_STEP = Arg("step", "string", "a runbook step id", required=True)
_REASON = Arg("reason", "string", "why, for the audit log")
_VIA = Arg("via", "string", "auto (default), outlet or bmc")
_FORCE = Arg("force", "boolean", "local console only: switch a protected outlet off too")
_TARGET = Arg("target", "string", "a device id (hv-1) or one outlet as PDU:OUTLET", required=True)

VERBS: Final[tuple[Verb, ...]] = (
    Verb("status.get", "the retained status, now", "observer", console=False, read=True),
    Verb("outbox.stats", "the durable outbox's counters", "observer", console=False,
         read=True),
    Verb("alarms.get", "the active alarms", "observer", read=True),
    Verb("health.snapshot", "every device's poll state, last readings and tables, and the "
         "active alarms, as the running agent sees them", "observer", cli="cleanroom health",
         read=True),
    Verb("audit.head", "the audit chain's head (id and hash) and its length", "observer",
         cli="cleanroom audit verify", read=True),
    Verb("runbook.status", "lifecycle state, steps waiting for a decision, prompts",
         "observer", cli="cleanroom status", read=True),
    Verb("runbook.start", "start the arrival and restore again from safe hold", "operator",
         cli="cleanroom runbook run"),
    Verb("runbook.retry", "retry a step waiting for a decision", "operator", (_STEP,),
         cli="cleanroom runbook retry STEP"),
    Verb("runbook.skip", "skip a step waiting for a decision", "operator",
         (_STEP, Arg("reason", "string", "why, for the audit log", required=True)),
         cli="cleanroom runbook skip STEP --reason ..."),
    Verb("runbook.abort", "abort the running restore (or the steps waiting)", "admin",
         (_REASON,), two_person=True, cli="cleanroom runbook abort"),
    Verb("prompt.ack", "acknowledge an operator prompt of the runbook", "operator", (_STEP,),
         cli="cleanroom runbook ack STEP"),
    Verb("alarm.ack", "acknowledge an active alarm (it stays active until it clears)",
         "operator", (Arg("alarm", "string", "the alarm id", required=True), _REASON)),
    Verb("power.on", "power a device or one outlet on", "operator", (_TARGET, _VIA),
         cli="cleanroom power on TARGET"),
    Verb("power.off", "power a device off (graceful BMC shutdown) or one outlet", "operator",
         (_TARGET, _VIA, _FORCE), cli="cleanroom power off TARGET"),
    Verb("power.cycle", "off, pause (default 5 s), on", "operator",
         (_TARGET, Arg("pause_s", "number", "seconds off, 0 to 300 (default 5)"), _VIA, _FORCE),
         cli="cleanroom power cycle TARGET"),
    Verb("power.down", "the staged power-down of the rack (a lifecycle state)", "admin",
         (_REASON,), two_person=True, cli="cleanroom power down"),
    Verb("network.status", "the network layout the agent keeps: rack phase, devices moved",
         "observer", cli="cleanroom net show", read=True),
    Verb("network.isolate", "EMERGENCY: hold the rack isolated (quarantine, uplinks down)",
         "operator", (_REASON,), cli="cleanroom net isolate"),
    Verb("network.release", "leave emergency isolation: to safe hold, still quarantined",
         "admin", (Arg("reason", "string", "why, for the audit log", required=True),),
         two_person=True, cli="cleanroom net release --reason ..."),
    Verb("network.connect", "join the clean VLAN to the hospital uplink, verified: from "
         "operational to the connected state", "admin", (_REASON,), two_person=True),
    Verb("network.disconnect", "take the hospital uplink down again, verified: from "
         "connected back to operational", "operator", (_REASON,)),
    Verb("firmware.override", "accept one device's firmware outside the approved baseline",
         "admin", (Arg("device", "string", "the device id", required=True),
                   Arg("version", "string", "the firmware version it reports", required=True),
                   Arg("reason", "string", "why, for the audit log", required=True)),
         two_person=True),
    Verb("drill.start", "run the restore runbook as a drill (drill VLAN only)", "operator",
         cli="cleanroom drill"),
)  # fmt: skip

REGISTRY: Final[dict[str, Verb]] = {verb.name: verb for verb in VERBS}
READ_VERBS: Final[frozenset[str]] = frozenset(v.name for v in VERBS if v.read)


def is_read(verb: str) -> bool:
    """True for a registered read-only verb; an unknown verb is never a read."""
    spec = REGISTRY.get(verb)
    return spec is not None and spec.read


def check_registry(verbs: tuple[Verb, ...]) -> None:
    """Refuse a registry that calls a verb a read while it needs a second person or a
    role above observer (checked when this module loads)."""
    for verb in verbs:
        if verb.read and (verb.two_person or verb.role != "observer"):
            raise AssertionError(
                f"agent/verbs.py: {verb.name} is a read, so it needs no second person and "
                "an observer may run it; if it changes the rack, it is not a read"
            )


check_registry(VERBS)
_PY: Final[dict[str, type | tuple[type, ...]]] = {
    "string": str,
    "number": (int, float),
    "boolean": bool,
}


def check_args(verb: str, args: dict[str, Any]) -> None:
    """Refuse arguments the verb does not take, a required one missing or of the wrong
    type: the message names the verb, the argument and what to send."""
    spec = REGISTRY.get(verb)
    if spec is None:
        raise PolicyRefusal(f"unknown verb {verb!r}; known: {', '.join(sorted(REGISTRY))}")
    known = {a.name: a for a in spec.args}
    extra = sorted(set(args) - set(known))
    if extra:
        raise PolicyRefusal(
            f"{verb}: no argument {', '.join(map(repr, extra))}; it takes "
            f"{', '.join(known) or 'none'}"
        )
    for arg in spec.args:
        value = args.get(arg.name)
        if value is None or value == "":
            if arg.required:
                raise PolicyRefusal(f"{verb}: argument {arg.name!r}: give {arg.description}")
            continue
        wanted = _PY[arg.type]
        if not isinstance(value, wanted) or (arg.type == "number" and isinstance(value, bool)):
            raise PolicyRefusal(
                f"{verb}: argument {arg.name!r} = {value!r}: must be a {arg.type} "
                f"({arg.description})"
            )


def checked(verb: str, handler: Callable[[R], Awaitable[T]]) -> Callable[[R], Awaitable[T]]:
    """``handler`` after the registry's argument check of ``verb``: every path that runs a
    verb (console, MQTT, whichever part owns the handler) refuses the same arguments."""

    async def run(request: R) -> T:
        check_args(verb, getattr(request, "args", {}))
        return await handler(request)

    return run
