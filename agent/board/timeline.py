"""The restore as a timeline, from a rack's ``runbook.step`` events.

Pure logic: steps with their state and times, each application's achieved time against
its recovery target (from the rack config, when the board has it), and the critical path:
from the step that finished last, back through the dependency that finished last, the
chain that decided how long the restore took.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.board.layout import RackLayout

_STATE_OF_PHASE = {"start": "running", "done": "done", "failed": "failed"}


@dataclass(slots=True)
class StepRun:
    step_id: str
    app: str
    state: str = "pending"
    start: float | None = None
    end: float | None = None
    attempts: int = 0
    detail: str = ""


@dataclass(slots=True)
class Timeline:
    start: float | None = None
    steps: dict[str, StepRun] = field(default_factory=dict)

    def restore_started(self, ts: float) -> None:
        """The lifecycle entered ``restore``: a new run starts from here."""
        self.start = ts
        self.steps.clear()

    def step_event(self, ts: float, data: dict[str, Any]) -> None:
        step_id = str(data.get("step", ""))
        if not step_id:
            return
        phase = str(data.get("phase", ""))
        run = self.steps.get(step_id)
        if run is None:
            run = self.steps[step_id] = StepRun(step_id, str(data.get("app", "")))
        if self.start is None:
            self.start = ts
        run.state = _STATE_OF_PHASE.get(phase, phase or run.state)
        if phase == "start":
            run.attempts += 1
            run.start = run.start if run.start is not None else ts
            run.end = None
        elif phase in ("done", "failed", "skipped"):
            run.end = ts
            if run.start is None:
                run.start = ts
        detail = data.get("detail")
        if isinstance(detail, dict):
            text = detail.get("output") or detail.get("error") or detail.get("reason") or ""
            run.detail = str(text)[:300]

    def critical_path(self, layout: RackLayout | None) -> list[str]:
        finished = {s.step_id: s for s in self.steps.values() if s.end is not None}
        if not finished or layout is None:
            return []
        current = max(finished.values(), key=lambda s: s.end or 0.0).step_id
        path = [current]
        while True:
            step = layout.steps.get(current)
            needs = [n for n in (step.needs if step else ()) if n in finished]
            if not needs:
                break
            current = max(needs, key=lambda n: finished[n].end or 0.0)
            path.append(current)
        path.reverse()
        return path

    def as_json(self, layout: RackLayout | None) -> dict[str, Any]:
        critical = self.critical_path(layout)
        order = list(layout.steps) if layout else []
        order += [s for s in self.steps if s not in order]
        steps = []
        for step_id in order:
            run = self.steps.get(step_id) or StepRun(
                step_id, layout.steps[step_id].app if layout else ""
            )
            planned = layout.steps.get(step_id) if layout else None
            steps.append(
                {
                    "id": step_id,
                    "app": run.app or (planned.app if planned else ""),
                    "title": planned.title if planned else step_id,
                    "needs": list(planned.needs) if planned else [],
                    "state": run.state,
                    "start": run.start,
                    "end": run.end,
                    "attempts": run.attempts,
                    "detail": run.detail,
                    "critical": step_id in critical,
                }
            )
        return {
            "start": self.start,
            "steps": steps,
            "apps": self._apps(layout, steps),
            "critical": critical,
        }

    def _apps(self, layout: RackLayout | None, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = {a: n for a, (n, _t) in layout.apps.items()} if layout else {}
        targets = {a: t for a, (_n, t) in layout.apps.items()} if layout else {}
        app_ids = list(names) + sorted({s["app"] for s in steps if s["app"]} - set(names))
        out = []
        for app in app_ids:
            own = [s for s in steps if s["app"] == app]
            if any(s["state"] == "failed" for s in own):
                state = "failed"
            elif own and all(s["state"] == "done" for s in own):
                state = "done"
            elif any(s["start"] is not None for s in own):
                state = "running"
            else:
                state = "pending"
            achieved = None
            if state == "done" and self.start is not None:
                achieved = max(s["end"] for s in own) - self.start
            target = targets.get(app)
            out.append(
                {
                    "id": app,
                    "name": names.get(app, app),
                    "target_s": target,
                    "achieved_s": achieved,
                    "met": None if achieved is None or target is None else achieved <= target,
                    "state": state,
                }
            )
        return out
