"""What each verb of the registry (agent/verbs.py) does to the rack, for both command
paths: signed MQTT commands (after `report/` has checked signature, expiry, nonce, role
and approvals) and the local console (`agent/console.py`), where the operator at the rack
can always act, and through which the CLI acts while an agent runs.

Every handler checks its arguments against the registry first, returns a JSON-ready
result, and refuses with a `PolicyRefusal` whose text says why and what to do. Every
action is audited by the caller with the actor's identity (``local:<user>`` or the
signing key).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from agent.bus import Event as BusEvent
from agent.conf.schema import RackConfig
from agent.errors import PolicyRefusal
from agent.health import overrides
from agent.lifecycle.machine import Lifecycle
from agent.lifecycle.runbook import Decision
from agent.lifecycle.states import Event
from agent.power import switching
from agent.report.audit import HEAD_KEY
from agent.store import Store
from agent.verbs import REGISTRY, checked


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


class Network(Protocol):
    @property
    def layout(self) -> Any: ...

    @property
    def held(self) -> str | None: ...

    async def enter_phase(self, phase: Any, devices: Any = (), *, approvals: Any = ()) -> Any: ...


class Alarms(Protocol):
    def snapshot(self) -> dict[str, Any]: ...

    def acknowledge(self, alarm_id: str, *, actor: str, reason: str) -> Any: ...


def actor(cmd: Request) -> str:
    """Who asked, as the audit log names them: ``local:<user>`` or ``remote:<key>``."""
    return cmd.key_id if cmd.key_id.startswith("local:") else f"remote:{cmd.key_id}"


def _post(machine: Lifecycle, event: Event, who: str, reason: str) -> dict[str, Any]:
    refusal = machine.post(event, actor=who, reason=reason)
    if refusal is not None:
        raise PolicyRefusal(refusal)
    return {"accepted": str(event), "state": str(machine.state)}


def build(
    machine: Lifecycle,
    power: switching.Power,
    network: Network,
    *,
    config: RackConfig,
    store: Store,
    health: Alarms | None = None,
) -> dict[str, Handler]:
    """The handler of every rack verb of the registry (``status.get`` and
    ``outbox.stats`` are the reporter's). Verbs that need a second signature are refused
    by report/ without it; locally the operator at the console is trusted, as the
    design promises."""
    handlers = {
        **_runbook(machine),
        **_records(machine, config, store, health),
        **_rack(machine, power, network, config),
    }
    unknown = sorted(set(handlers) - set(REGISTRY))
    if unknown:
        raise AssertionError(f"lifecycle/verbs.py: handlers for unregistered verbs {unknown}")
    return {verb: checked(verb, handler) for verb, handler in handlers.items()}


def _runbook(machine: Lifecycle) -> dict[str, Handler]:
    async def runbook_status(cmd: Request) -> Any:
        engine = machine.engine
        return {
            "state": str(machine.state),
            "waiting": sorted(engine.waiting) if engine else [],
            "prompts": dict(machine.steps.prompts.pending),
        }

    async def runbook_start(cmd: Request) -> Any:
        return _post(machine, Event.OPERATOR_RETRY, actor(cmd), "restart asked")

    async def runbook_retry(cmd: Request) -> Any:
        step = str(cmd.args["step"])
        refusal = machine.decide(step, Decision("retry", actor=actor(cmd)))
        if refusal:
            raise PolicyRefusal(refusal)
        return {"step": step, "decision": "retry"}

    async def runbook_skip(cmd: Request) -> Any:
        step, reason = str(cmd.args["step"]), str(cmd.args["reason"])
        refusal = machine.decide(step, Decision("skip", reason=reason, actor=actor(cmd)))
        if refusal:
            raise PolicyRefusal(refusal)
        return {"step": step, "decision": "skip", "reason": reason}

    async def runbook_abort(cmd: Request) -> Any:
        reason = str(cmd.args.get("reason") or "aborted by an operator")
        engine = machine.engine
        if engine is not None and engine.waiting:
            waiting = sorted(engine.waiting)
            for step in waiting:
                machine.decide(step, Decision("abort", reason=reason, actor=actor(cmd)))
            return {"aborted": waiting, "reason": reason}
        return _post(machine, Event.OPERATOR_ABORT, actor(cmd), reason)

    async def prompt_ack(cmd: Request) -> Any:
        step = str(cmd.args["step"])
        if not machine.steps.prompts.acknowledge(step, actor(cmd)):
            raise PolicyRefusal(f"step {step!r} is not waiting for an acknowledgement")
        return {"step": step, "acknowledged_by": actor(cmd)}

    async def power_down(cmd: Request) -> Any:
        reason = str(cmd.args.get("reason") or "operator power-down")
        return _post(machine, Event.SHUTDOWN_REQUESTED, actor(cmd), reason)

    async def drill_start(cmd: Request) -> Any:
        return _post(machine, Event.DRILL_START, actor(cmd), "drill asked")

    return {
        "runbook.status": runbook_status,
        "runbook.start": runbook_start,
        "runbook.retry": runbook_retry,
        "runbook.skip": runbook_skip,
        "runbook.abort": runbook_abort,
        "prompt.ack": prompt_ack,
        "power.down": power_down,
        "drill.start": drill_start,
    }


def _records(
    machine: Lifecycle, config: RackConfig, store: Store, health: Alarms | None
) -> dict[str, Handler]:
    """Alarms, the audit chain's head, firmware overrides: what is known and accepted."""

    async def alarms_get(cmd: Request) -> Any:
        if health is None:
            return {"level": "none", "alarms": [], "note": "the health part is not running"}
        snap = health.snapshot()
        return {"level": snap["level"], "alarms": snap["alarms"]}

    async def health_snapshot(cmd: Request) -> Any:
        if health is None:
            raise PolicyRefusal("health.snapshot: the health part is not running")
        return health.snapshot()

    async def alarm_ack(cmd: Request) -> Any:
        if health is None:
            raise PolicyRefusal("alarm.ack: the health part is not running; no alarm is active")
        alarm_id = str(cmd.args["alarm"])
        health.acknowledge(alarm_id, actor=actor(cmd), reason=str(cmd.args.get("reason", "")))
        return {"alarm": alarm_id, "acknowledged_by": actor(cmd)}

    async def audit_head(cmd: Request) -> Any:
        def read(conn: Any) -> tuple[Any, int]:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (HEAD_KEY,)).fetchone()
            count = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
            return row, int(count)

        row, count = await store.call(read)
        head = json.loads(row[0]) if row is not None else {"id": 0, "hash": "0" * 64}
        return {"id": head["id"], "hash": head["hash"], "entries": count}

    async def firmware_override(cmd: Request) -> Any:
        device, version = str(cmd.args["device"]), str(cmd.args["version"])
        if device not in config.device_ids():
            raise PolicyRefusal(
                f"firmware.override: no device {device!r} in the rack config; "
                f"devices: {', '.join(config.device_ids())}"
            )
        who, reason = actor(cmd), str(cmd.args["reason"])
        said = BusEvent(kind="firmware.override", source="lifecycle", category="audit",
                        data={"actor": who, "device": device, "version": version,
                              "reason": reason, "approved_by": list(cmd.approved_by)})  # fmt: skip

        def save(conn: sqlite3.Connection) -> dict[str, Any]:
            return overrides.save(conn, device, version, actor=who, reason=reason)

        record = machine.journal.record
        if record is not None:
            # In force only together with its audit entry: one transaction.
            stored = await record.commit_with(save, [said])
        else:
            stored = await store.transaction(save)
            machine.bus.publish(said)
        return {"device": device, **stored, "note": "used by the next self-test"}

    return {
        "alarms.get": alarms_get,
        "health.snapshot": health_snapshot,
        "alarm.ack": alarm_ack,
        "audit.head": audit_head,
        "firmware.override": firmware_override,
    }


def _rack(
    machine: Lifecycle, power: switching.Power, network: Network, config: RackConfig
) -> dict[str, Handler]:
    """What switches something: power and the network."""

    def _power(action: switching.Action) -> Handler:
        async def run(cmd: Request) -> Any:
            target = str(cmd.args["target"])
            # Only the operator at the rack may switch a protected outlet off.
            local = actor(cmd).startswith("local:")
            pause = cmd.args.get("pause_s")
            lines = await switching.switch(
                power,
                config,
                target,
                action,
                via=str(cmd.args.get("via") or "auto"),
                remote=not (local and bool(cmd.args.get("force"))),
                pause_s=None if pause is None else float(pause),
            )
            return {"target": target, "action": action, "result": "; ".join(lines)}

        return run

    async def network_status(cmd: Request) -> Any:
        layout = network.layout
        return {"phase": layout.phase, "devices": dict(layout.devices), "held": network.held}

    async def network_isolate(cmd: Request) -> Any:
        reason = str(cmd.args.get("reason") or f"isolation asked by {actor(cmd)}")
        verified, summary = await machine.isolate(actor=actor(cmd), reason=reason)
        return {"verified": verified, "reason": reason, "summary": summary, "held": True}

    async def network_release(cmd: Request) -> Any:
        reason = str(cmd.args["reason"])
        state = await machine.release(actor=actor(cmd), reason=reason)
        return {"released": True, "reason": reason, "state": state}

    async def network_connect(cmd: Request) -> Any:
        # The network part wants two different names (the signer and the approver) and
        # refuses fewer, whoever calls it.
        approvals = tuple(sorted({cmd.key_id, *cmd.approved_by}))
        reason = str(cmd.args.get("reason") or f"uplink asked by {actor(cmd)}")
        verified, summary = await machine.connect(
            actor=actor(cmd), reason=reason, approvals=approvals
        )
        return {"connected": True, "verified": verified, "summary": summary,
                "approved_by": list(approvals)}  # fmt: skip

    async def network_disconnect(cmd: Request) -> Any:
        reason = str(cmd.args.get("reason") or f"uplink down asked by {actor(cmd)}")
        verified, summary = await machine.disconnect(actor=actor(cmd), reason=reason)
        return {"connected": False, "verified": verified, "summary": summary}

    return {
        "power.on": _power("on"),
        "power.off": _power("off"),
        "power.cycle": _power("cycle"),
        "network.status": network_status,
        "network.isolate": network_isolate,
        "network.release": network_release,
        "network.connect": network_connect,
        "network.disconnect": network_disconnect,
    }
