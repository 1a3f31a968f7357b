"""The command forms of the page: each verb a rack serves, its arguments as a JSON Schema,
the least role that may run it and whether it needs a second person.

Roles and danger come from agent/report/roles.py. The argument schemas follow the
handlers of agent/lifecycle/verbs.py and the reporter's built-in verbs; when the verb
registry (agent/verbs.py) lands, `forms()` reads it instead of `ARGUMENTS`.
"""

from __future__ import annotations

from typing import Any

from agent.report.roles import ROLES, is_dangerous, may_run


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": description}


ARGUMENTS: dict[str, tuple[dict[str, dict[str, Any]], tuple[str, ...]]] = {
    "status.get": ({}, ()),
    "outbox.stats": ({}, ()),
    "runbook.status": ({}, ()),
    "runbook.retry": ({"step": _text("step id; empty retries the runbook")}, ()),
    "runbook.skip": ({"step": _text("step id"), "reason": _text("why")}, ("step", "reason")),
    "runbook.abort": ({"reason": _text("why")}, ()),
    "prompt.ack": ({"step": _text("step id of the prompt")}, ("step",)),
    "power.on": ({"target": _text("device id")}, ("target",)),
    "power.cycle": ({"target": _text("device id")}, ("target",)),
    "power.down": ({"reason": _text("why")}, ()),
    "network.isolate": ({"reason": _text("why")}, ()),
    "network.connect": ({}, ()),
    "drill.start": ({}, ()),
}


def forms() -> list[dict[str, Any]]:
    out = []
    for verb, (properties, required) in ARGUMENTS.items():
        role = next((r for r in ROLES if may_run(r, verb)), "admin")
        out.append(
            {
                "verb": verb,
                "role": role,
                "dangerous": is_dangerous(verb),
                "schema": {
                    "type": "object",
                    "properties": properties,
                    "required": list(required),
                    "additionalProperties": False,
                },
            }
        )
    return out
