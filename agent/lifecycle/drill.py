"""Drill and restore reports: what recovered, how fast, against which target, and why.

From a runbook run's journal records: per application the achieved recovery time (from
the run's start to the end of the application's last step) against its RTO; the critical
path (the chain of steps that set the end time); each step's timings, attempts and
failures. Written as JSON (for machines and the ARS), Markdown (for people) and an SVG
Gantt timeline (drawn by hand: a few rectangles do not justify a plotting library on the
controller).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.conf.schema import RackConfig
from agent.lifecycle.journal import StepRecord


@dataclass(frozen=True)
class StepTiming:
    id: str
    app: str
    kind: str
    status: str
    start: float | None  # seconds from the run's start
    end: float | None
    attempts: int
    error: str


@dataclass(frozen=True)
class AppResult:
    id: str
    name: str
    target_s: float
    achieved_s: float | None
    met: bool
    critical_path: list[str]


@dataclass(frozen=True)
class Report:
    rack: str
    run_id: str
    origin: float
    makespan_s: float
    ok: bool
    applications: list[AppResult]
    critical_path: list[str]
    steps: list[StepTiming]


def _longest_path(config: RackConfig, timings: dict[str, StepTiming], end_step: str) -> list[str]:
    """The chain of needs ending at ``end_step`` whose last-finishing need is followed
    back each time: the steps that, had any been faster, would have ended it sooner."""
    needs = {s.id: s.needs for s in config.runbook.step}
    path = [end_step]
    current = end_step
    while needs.get(current):
        done = [n for n in needs[current] if timings.get(n) and timings[n].end is not None]
        if not done:
            break
        current = max(done, key=lambda n: timings[n].end or 0.0)
        path.append(current)
    return list(reversed(path))


def build(config: RackConfig, run_id: str, records: dict[str, StepRecord], ok: bool) -> Report:
    starts = [r.first_started_at for r in records.values() if r.first_started_at is not None]
    origin = min(starts) if starts else 0.0
    kinds = {s.id: s for s in config.runbook.step}
    timings: dict[str, StepTiming] = {}
    for step in config.runbook.step:
        rec = records.get(step.id, StepRecord(step.id))
        timings[step.id] = StepTiming(
            id=step.id,
            app=step.app,
            kind=kinds[step.id].kind,
            status=rec.status,
            start=None if rec.first_started_at is None else rec.first_started_at - origin,
            end=None if rec.finished_at is None else rec.finished_at - origin,
            attempts=rec.attempts,
            error=rec.error,
        )
    ends = [t.end for t in timings.values() if t.end is not None]
    makespan = max(ends) if ends else 0.0
    apps = []
    for app in config.application:
        own = [t for t in timings.values() if t.app == app.id]
        finished = all(t.status in ("done", "skipped") for t in own) and bool(own)
        last = max(own, key=lambda t: t.end or 0.0) if own else None
        achieved = last.end if (finished and last is not None) else None
        apps.append(
            AppResult(
                id=app.id,
                name=app.name,
                target_s=float(app.rto),
                achieved_s=achieved,
                met=achieved is not None and achieved <= app.rto,
                critical_path=_longest_path(config, timings, last.id) if last else [],
            )
        )
    last_step = max(timings.values(), key=lambda t: t.end or 0.0, default=None)
    critical = _longest_path(config, timings, last_step.id) if last_step else []
    return Report(
        rack=config.rack.id,
        run_id=run_id,
        origin=origin,
        makespan_s=makespan,
        ok=ok,
        applications=apps,
        critical_path=critical,
        steps=sorted(timings.values(), key=lambda t: (t.start is None, t.start or 0)),
    )


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "not recovered"
    if seconds < 120:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}min"


def markdown(report: Report) -> str:
    lines = [
        f"# Recovery report: rack {report.rack}, run {report.run_id}",
        "",
        f"Result: **{'complete' if report.ok else 'INCOMPLETE'}**, "
        f"makespan {_fmt(report.makespan_s)}.",
        "",
        "| application | target | achieved | met |",
        "|---|---|---|---|",
    ]
    for app in report.applications:
        lines.append(
            f"| {app.name} | {_fmt(app.target_s)} | {_fmt(app.achieved_s)} | "
            f"{'yes' if app.met else '**NO**'} |"
        )
    lines += [
        "",
        f"Critical path: {' -> '.join(report.critical_path) or '(none)'}",
        "",
        "![timeline](timeline.svg)",
        "",
        "| step | app | kind | status | start | end | attempts | error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in report.steps:
        lines.append(
            f"| {s.id} | {s.app or '-'} | {s.kind} | {s.status} | {_fmt(s.start)} | "
            f"{_fmt(s.end)} | {s.attempts} | {s.error or ''} |"
        )
    return "\n".join(lines) + "\n"


_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")


def svg(report: Report) -> str:
    """A Gantt chart: one row per step, bars coloured by application, critical path
    outlined in black, failed steps hatched red."""
    row_h, label_w, chart_w, top = 18, 220, 640, 30
    scale = chart_w / max(report.makespan_s, 1e-6)
    apps = sorted({s.app for s in report.steps})
    colour = {app: _PALETTE[i % len(_PALETTE)] for i, app in enumerate(apps)}
    critical = set(report.critical_path)
    height = top + row_h * len(report.steps) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + chart_w + 20}" '
        f'height="{height}" font-family="sans-serif" font-size="11">',
        f'<text x="4" y="18" font-size="13">Run {html.escape(report.run_id)} on '
        f"{html.escape(report.rack)}: {_fmt(report.makespan_s)}</text>",
    ]
    for i, step in enumerate(report.steps):
        y = top + i * row_h
        parts.append(f'<text x="4" y="{y + 13}">{html.escape(step.id)}</text>')
        if step.start is None:
            continue
        end = step.end if step.end is not None else report.makespan_s
        x = label_w + step.start * scale
        w = max((end - step.start) * scale, 1.5)
        fill = "#d62728" if step.status == "failed" else colour.get(step.app, "#888")
        stroke = ' stroke="black" stroke-width="2"' if step.id in critical else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" '
            f'fill="{fill}"{stroke}><title>{html.escape(step.id)}: {step.status}, '
            f"{_fmt(step.start)} to {_fmt(step.end)}</title></rect>"
        )
    axis_y = top + row_h * len(report.steps) + 15
    parts.append(f'<text x="{label_w}" y="{axis_y}">0</text>')
    parts.append(
        f'<text x="{label_w + chart_w - 40}" y="{axis_y}">{_fmt(report.makespan_s)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(report: Report, folder: Path) -> Path:
    """Write report.json, report.md and timeline.svg into ``folder``; return the .md."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    (folder / "timeline.svg").write_text(svg(report))
    target = folder / "report.md"
    target.write_text(markdown(report))
    return target
