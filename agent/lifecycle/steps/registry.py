"""Which executor runs which step kind."""

from __future__ import annotations

from agent.lifecycle.runbook import StepExecutor
from agent.lifecycle.steps.commands import Command, Restore
from agent.lifecycle.steps.context import StepContext
from agent.lifecycle.steps.control import Power, Prompt, Vlan
from agent.lifecycle.steps.images import VerifyImage
from agent.lifecycle.steps.waits import WaitHttp, WaitTcp


def build_executors(ctx: StepContext) -> dict[str, StepExecutor]:
    return {
        "power": Power(ctx),
        "vlan": Vlan(ctx),
        "wait_tcp": WaitTcp(),
        "wait_http": WaitHttp(),
        "verify_image": VerifyImage(ctx),
        "command": Command(ctx),
        "prompt": Prompt(ctx),
        "restore": Restore(ctx),
    }
