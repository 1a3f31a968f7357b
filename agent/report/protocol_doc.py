"""Generate the verb table of ``docs/protocol.md`` from the agent's own tables.

``python -m agent.report.protocol_doc [--check] [PATH]`` rewrites what lies between the
``<!-- verbs:begin -->`` and ``<!-- verbs:end -->`` markers; ``--check`` exits 1 when
the document differs from what the code generates (a test runs it), so the published
verbs, their arguments, roles, two-person rule and whether they are reads cannot drift
from the verb registry (agent/verbs.py) the intake and the handlers enforce.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agent.verbs import VERBS, Arg, Verb

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BEGIN, END = "<!-- verbs:begin -->", "<!-- verbs:end -->"


def _arg(arg: Arg) -> str:
    need = "required" if arg.required else "optional"
    return f"`{arg.name}` ({arg.type}, {need}): {arg.description}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(verb: Verb) -> str:
    args = "<br>".join(_cell(_arg(a)) for a in verb.args) or "none"
    return (
        f"| `{verb.name}` | {_cell(verb.summary)} | {args} | {verb.role} | "
        f"{'yes' if verb.two_person else 'no'} | {'read' if verb.read else 'action'} | "
        f"{'yes' if verb.console else 'no'} |"
    )


def verb_table() -> str:
    lines = [
        "| verb | what it does | arguments | least role | two people | audited as | console |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_row(verb) for verb in sorted(VERBS, key=lambda v: v.name)]
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
