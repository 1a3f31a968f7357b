"""`command` and `restore`: run a program with an argument list (never a shell string),
with the step's timeout, capturing the end of its output for the journal and the report.

``restore`` runs the configured restore tool (restic, borg, a hypervisor import...) on an
image that a `verify_image` step verified earlier in the run; its ``check`` is the
configured ``check_argv`` (exit 0 means the restore is in place). A ``command`` with a
``check_argv`` is checked the same way; without one, the command must be safe to run
twice, and is run again after a crash that cut it short.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from agent.conf.schema import Step
from agent.conf.steps import CommandArgs, RestoreArgs, parse_args
from agent.errors import AgentError
from agent.lifecycle.steps.context import StepContext

_TAIL = 2000


class CommandError(AgentError):
    """The program's fault (or its input's): it exited with a failure code."""


async def run_argv(
    argv: list[str],
    *,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> str:
    """Run ``argv``; return the tail of its output, or raise CommandError with it.

    If the caller is cancelled (the step's timeout), the program is killed and reaped
    before the cancellation propagates, so no orphan keeps running.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd or None,
            env={**os.environ, **(env or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandError(
            f"{argv[0]}: cannot start: {exc.strerror}; check the runbook's argv "
            "and that the program is installed"
        ) from exc
    try:
        out, _ = await proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        raise
    tail = out.decode("utf-8", "replace")[-_TAIL:].strip()
    if proc.returncode not in ok_codes:
        last = tail.splitlines()[-1] if tail else "(no output)"
        raise CommandError(f"{argv[0]} exited with {proc.returncode}: {last}")
    return tail.splitlines()[-1] if tail else f"{argv[0]} exited with {proc.returncode}"


class Command:
    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def _argv(self, argv: list[str]) -> list[str]:
        return [self.ctx.expand(a) for a in argv]

    async def run(self, step: Step) -> str:
        args = parse_args(step.args, CommandArgs)
        return await run_argv(
            self._argv(args.argv), cwd=args.cwd, env=args.env, ok_codes=tuple(args.success_codes)
        )

    async def check(self, step: Step) -> bool:
        args = parse_args(step.args, CommandArgs)
        if not args.check_argv:
            return False
        try:
            await run_argv(self._argv(args.check_argv))
        except CommandError:
            return False
        return True


class Restore:
    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def _argv(self, args: RestoreArgs, argv: list[str]) -> list[str]:
        image = str(self.ctx.config.resolve(args.image))
        return [self.ctx.expand(a, image=image) for a in argv]

    async def run(self, step: Step) -> str:
        args = parse_args(step.args, RestoreArgs)
        return await run_argv(self._argv(args, args.argv))

    async def check(self, step: Step) -> bool:
        args = parse_args(step.args, RestoreArgs)
        if not args.check_argv:
            return False
        try:
            await run_argv(self._argv(args, args.check_argv))
        except CommandError:
            return False
        return True
