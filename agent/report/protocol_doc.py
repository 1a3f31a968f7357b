"""Generate the verb table of ``docs/protocol.md`` from the agent's own tables.

``python -m agent.report.protocol_doc [--check] [PATH]`` rewrites what lies between the
``<!-- verbs:begin -->`` and ``<!-- verbs:end -->`` markers; ``--check`` exits 1 when
the document differs from what the code generates (a test runs it), so the published
verbs, roles and two-person rule cannot drift from what the intake enforces.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agent.report.roles import DANGEROUS_VERBS, OBSERVER_VERBS, OPERATOR_VERBS

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BEGIN, END = "<!-- verbs:begin -->", "<!-- verbs:end -->"


def least_role(verb: str) -> str:
    if verb in OBSERVER_VERBS:
        return "observer"
    return "operator" if verb in OPERATOR_VERBS else "admin"


def verb_table() -> str:
    verbs = sorted(OPERATOR_VERBS | DANGEROUS_VERBS)
    lines = ["| verb | least role | two people |", "|---|---|---|"]
    lines += [
        f"| `{verb}` | {least_role(verb)} | {'yes' if verb in DANGEROUS_VERBS else 'no'} |"
        for verb in verbs
    ]
    return "\n".join(lines)


def rendered(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{verb_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    rest = [a for a in argv if a != "--check"]
    path = Path(rest[0]) if rest else PROTOCOL
    text = path.read_text(encoding="utf-8")
    want = rendered(text)
    if "--check" in argv:
        if want != text:
            print(
                f"{path}: the verb table is out of date; run `python -m agent.report.protocol_doc`"
            )
            return 1
        return 0
    path.write_text(want, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
