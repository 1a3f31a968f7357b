"""What each command verb does to the rack, for both command paths: signed MQTT commands
(after `report/` has checked signature, expiry, nonce, role and approvals) and the local
console (`agent/console.py`), where the operator at the rack can always act.

Every handler returns a JSON-ready result; a refusal is a `PolicyRefusal` whose text says
why and what to do. Every action is audited by the caller with the actor's identity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from agent.errors import PolicyRefusal
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.runbook import Decision
from agent.lifecycle.states import Event


class Request(Protocol):
    """What a handler needs of a command: the verb's arguments and who sent it."""

    @property
    def verb(self) -> str: ...

    @property
    def args(self) -> dict[str, Any]: ...

    @property
    def key_id(self) -> str: ...

    @property
    def approved_by(self) -> tuple[str, ...]: ...


Handler = Callable[[Any], Awaitable[Any]]


class Power(Protocol):
    async def set_device_power(self, device: str, on: bool, via: str = "auto") -> str: ...


class Network(Protocol):
    async def isolate_now(self, reason: str = ...) -> Any: ...

    async def enter_phase(self, phase: Any, devices: Any = (), *, approvals: Any = ()) -> Any: ...


def _text(args: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = args.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise PolicyRefusal(f"argument {name!r}: give a non-empty string")
    return value


def _post(machine: Lifecycle, event: Event, who: str, reason: str) -> dict[str, Any]:
    refusal = machine.post(event, actor=who, reason=reason)
    if refusal is not None:
        raise PolicyRefusal(refusal)
    return {"accepted": str(event), "state": str(machine.state)}


def build(machine: Lifecycle, power: Power, network: Network) -> dict[str, Handler]:
    """The verb table. Verbs that need a second signature (`network.connect`,
    `power.down`, `runbook.abort`) are refused by report/ without it; locally the
    operator at the console is trusted, as the design promises."""

    async def runbook_status(cmd: Request) -> Any:
        engine = machine.engine
        return {
            "state": str(machine.state),
            "waiting": sorted(engine.waiting) if engine else [],
            "prompts": dict(machine.steps.prompts.pending),
        }

    async def runbook_retry(cmd: Request) -> Any:
        step = cmd.args.get("step")
        if step:
            refusal = machine.decide(str(step), Decision("retry", actor=cmd.key_id))
            if refusal:
                raise PolicyRefusal(refusal)
            return {"step": step, "decision": "retry"}
        return _post(machine, Event.OPERATOR_RETRY, cmd.key_id, "retry asked")

    async def runbook_skip(cmd: Request) -> Any:
        step = _text(cmd.args, "step")
        reason = _text(cmd.args, "reason")
        refusal = machine.decide(step, Decision("skip", reason=reason, actor=cmd.key_id))
        if refusal:
            raise PolicyRefusal(refusal)
        return {"step": step, "decision": "skip", "reason": reason}

    async def runbook_abort(cmd: Request) -> Any:
        reason = str(cmd.args.get("reason") or "aborted by an operator")
        engine = machine.engine
        if engine is not None and engine.waiting:
            waiting = sorted(engine.waiting)
            for step in waiting:
                machine.decide(step, Decision("abort", reason=reason, actor=cmd.key_id))
            return {"aborted": waiting, "reason": reason}
        return _post(machine, Event.OPERATOR_ABORT, cmd.key_id, reason)

    async def prompt_ack(cmd: Request) -> Any:
        step = _text(cmd.args, "step")
        if not machine.steps.prompts.acknowledge(step, cmd.key_id):
            raise PolicyRefusal(f"step {step!r} is not waiting for an acknowledgement")
        return {"step": step, "acknowledged_by": cmd.key_id}

    async def power_on(cmd: Request) -> Any:
        target = _text(cmd.args, "target")
        return {"target": target, "result": await power.set_device_power(target, True)}

    async def power_cycle(cmd: Request) -> Any:
        target = _text(cmd.args, "target")
        off = await power.set_device_power(target, False)
        on = await power.set_device_power(target, True)
        return {"target": target, "result": f"{off}; {on}"}

    async def power_down(cmd: Request) -> Any:
        reason = str(cmd.args.get("reason") or "operator power-down")
        return _post(machine, Event.SHUTDOWN_REQUESTED, cmd.key_id, reason)

    async def network_isolate(cmd: Request) -> Any:
        reason = str(cmd.args.get("reason") or f"isolation asked by {cmd.key_id}")
        report = await network.isolate_now(reason)
        _post_quietly(machine, Event.ISOLATE_NOW, cmd.key_id, reason)
        return {"verified": bool(getattr(report, "verified", False)), "reason": reason}

    async def network_connect(cmd: Request) -> Any:
        approvals = {cmd.key_id, *cmd.approved_by}
        report = await network.enter_phase("connected", (), approvals=tuple(sorted(approvals)))
        return {
            "phase": "connected",
            "verified": bool(getattr(report, "verified", False)),
            "approved_by": sorted(approvals),
        }

    async def drill_start(cmd: Request) -> Any:
        return _post(machine, Event.DRILL_START, cmd.key_id, "drill asked")

    return {
        "runbook.status": runbook_status,
        "runbook.retry": runbook_retry,
        "runbook.skip": runbook_skip,
        "runbook.abort": runbook_abort,
        "prompt.ack": prompt_ack,
        "power.on": power_on,
        "power.cycle": power_cycle,
        "power.down": power_down,
        "network.isolate": network_isolate,
        "network.connect": network_connect,
        "drill.start": drill_start,
    }


def _post_quietly(machine: Lifecycle, event: Event, who: str, reason: str) -> None:
    """Isolation already happened on the switches; the lifecycle follows if it may."""
    machine.post(event, actor=who, reason=reason)
