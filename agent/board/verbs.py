"""The command forms of the page: every verb a rack serves over MQTT, its arguments as a
JSON Schema, the least role that may run it and whether it needs a second person.

All of it comes from the verb registry (agent/verbs.py), the same table the racks check
commands against, so a form cannot offer an argument a rack refuses. The ``force``
argument is the local console's own (switching a protected outlet off from the rack):
a remote form never offers it.
"""

from __future__ import annotations

from typing import Any

from agent.verbs import VERBS

CONSOLE_ONLY_ARGS = frozenset({"force"})


def forms() -> list[dict[str, Any]]:
    out = []
    for verb in VERBS:
        schema = verb.schema()
        for name in CONSOLE_ONLY_ARGS & set(schema["properties"]):
            del schema["properties"][name]
        schema["required"] = [r for r in schema["required"] if r in schema["properties"]]
        out.append(
            {
                "verb": verb.name,
                "summary": verb.summary,
                "role": verb.role,
                "dangerous": verb.two_person,
                "read": verb.read,
                "schema": schema,
            }
        )
    return out
