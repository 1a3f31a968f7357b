"""`prompt`, `power` and `vlan`: steps that ask a person, or move the rack's power and
network through the parts that own them (handed in as small protocols)."""

from __future__ import annotations

from agent.conf.schema import Step
from agent.conf.steps import PowerArgs, PromptArgs, VlanArgs, parse_args
from agent.errors import AgentError
from agent.lifecycle.steps.context import PowerControl, StepContext


class Prompt:
    """Waits for an operator's acknowledgement (local console or a signed command)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    async def run(self, step: Step) -> str:
        args = parse_args(step.args, PromptArgs)
        if step.id in self.ctx.prompts.acked:
            return f"acknowledged by {self.ctx.prompts.acked[step.id]}"
        await self.ctx.prompts.ask(step.id, args.message).wait()
        return f"acknowledged by {self.ctx.prompts.acked[step.id]}"

    async def check(self, step: Step) -> bool:
        return step.id in self.ctx.prompts.acked


class Power:
    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def _control(self, step: Step) -> PowerControl:
        if self.ctx.power is None:
            raise AgentError(
                f"step {step.id}: no power control in this run; the step cannot "
                "act (is the power part configured?)"
            )
        return self.ctx.power

    async def run(self, step: Step) -> str:
        args = parse_args(step.args, PowerArgs)
        return await self._control(step).set_device_power(args.target, args.state == "on", args.via)

    async def check(self, step: Step) -> bool:
        args = parse_args(step.args, PowerArgs)
        return await self._control(step).device_power(args.target) == (args.state == "on")


class Vlan:
    """Moves ports to a phase. In a drill every move goes to the drill phase instead, so
    a drill on real hardware only ever uses the drill VLAN, never production ports'."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def _phase(self, args: VlanArgs) -> str:
        return "drill" if self.ctx.drill else args.phase

    async def run(self, step: Step) -> str:
        args = parse_args(step.args, VlanArgs)
        if self.ctx.network is None:
            raise AgentError(
                f"step {step.id}: no network control in this run; cannot move ports to {args.phase}"
            )
        return await self.ctx.network.enter_phase(self._phase(args), args.devices)

    async def check(self, step: Step) -> bool:
        args = parse_args(step.args, VlanArgs)
        if self.ctx.network is None:
            return False
        return await self.ctx.network.in_phase(self._phase(args), args.devices)
