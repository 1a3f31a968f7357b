"""The arrival self-test: reach every device, read who it is, check it against the
inventory and the firmware baseline, and say whether the rack may go on.

``await run(config)`` opens its own clients (or uses the ``readers`` given), asks every
device at once (each bounded by ``limit_s``), and returns a :class:`SelftestReport`.
Nothing is switched or written. Whether a finding blocks follows ``[policy] firmware``:

- a PDU, UPS or switch that does not answer blocks under any policy (without them the
  rack cannot be isolated or powered safely);
- a server BMC that does not answer is reported, never blocking (its outlet may be off);
- a model mismatch or a firmware that is not approved blocks under ``"block"`` and is a
  warning under ``"warn"``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.conf.schema import RackConfig
from agent.errors import AgentError
from agent.health.firmware import (
    Baseline,
    FirmwareCheck,
    check_firmware,
    load_baselines,
    model_matches,
)
from agent.health.inventory import open_readers
from agent.health.readers.base import Reader
from agent.health.sensors import Identity, Reading

Role = Literal["pdu", "ups", "switch", "server"]
INFRASTRUCTURE: frozenset[str] = frozenset({"pdu", "ups", "switch"})


@dataclass
class DeviceCheck:
    device: str
    role: Role
    inventory_model: str
    reachable: bool = False
    identity: Identity | None = None
    error: str = ""
    model_match: bool | None = None
    firmware: FirmwareCheck | None = None
    expected_outlets: int | None = None  # a PDU's `outlets` in rack.toml
    blocking: bool = False
    overridden: bool = False  # its firmware was accepted by a firmware.override
    problems: list[str] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return (
            self.reachable
            and self.model_match is not False
            and self.firmware is not None
            and self.firmware.verdict == "approved"
        )


@dataclass
class SelftestReport:
    rack: str
    policy: str
    started: float
    finished: float
    devices: list[DeviceCheck]
    ups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks: the lifecycle may go on to isolation and power."""
        return not any(d.blocking for d in self.devices)

    def blocking(self) -> list[DeviceCheck]:
        return [d for d in self.devices if d.blocking]

    def to_dict(self) -> dict[str, Any]:
        devices = []
        for check in self.devices:
            item = asdict(check)
            item["identity"] = (
                None
                if check.identity is None
                else {f: getattr(check.identity, f) for f in check.identity.__struct_fields__}
            )
            item["compliant"] = check.compliant
            devices.append(item)
        return {
            "rack": self.rack,
            "policy": self.policy,
            "ok": self.ok,
            "started": self.started,
            "finished": self.finished,
            "devices": devices,
            "ups": self.ups,
        }


def _roles(config: RackConfig) -> dict[str, tuple[Role, str]]:
    roles: dict[str, tuple[Role, str]] = {}
    for p in config.pdu:
        roles[p.id] = ("pdu", p.model)
    for u in config.ups:
        roles[u.id] = ("ups", u.model)
    for s in config.switch:
        if s.host:
            roles[s.id] = ("switch", s.model)
    for srv in config.server:
        if srv.bmc is not None:
            roles[srv.id] = ("server", srv.model)
    return roles


async def _check_device(
    check: DeviceCheck,
    reader: Reader,
    baselines: list[Baseline],
    block: bool,
    limit_s: float,
    *,
    override: str | None = None,
) -> list[Reading]:
    readings: list[Reading] = []
    try:
        async with asyncio.timeout(limit_s):
            check.identity = await reader.identify()
            if check.role == "ups":
                readings = await reader.read(time.time())
    except TimeoutError:
        check.error = f"no answer within {limit_s:g} s; check its power, cabling and address"
    except AgentError as exc:
        check.error = str(exc)
    if check.identity is None:
        check.blocking = check.role in INFRASTRUCTURE
        check.problems.append(
            f"unreachable: {check.error}"
            + (
                " (blocks: the rack cannot be made safe without it)"
                if check.blocking
                else " (a server BMC may be unpowered at arrival; checked again at power-on)"
            )
        )
        return readings
    check.reachable = True
    ident = check.identity
    check.model_match = model_matches(check.inventory_model, ident.model)
    if check.model_match is False:
        check.problems.append(
            f"model mismatch: the inventory says {check.inventory_model!r}, the device says "
            f"{ident.model!r}; fix the rack config or swap the device"
        )
    if (
        check.expected_outlets is not None
        and ident.outlets is not None
        and ident.outlets != check.expected_outlets
    ):
        # A warning, not a block: the outlets the config uses may all exist (a 16-outlet
        # reading of a 24-outlet PDU is a tower or table the driver did not see).
        check.problems.append(
            f"outlet count: rack.toml says {check.expected_outlets} outlets, the PDU "
            f"reports {ident.outlets}; check `outlets` for this PDU, its driver, or the "
            "unit (a daisy-chained or two-tower PDU)"
        )
    check.firmware = check_firmware(baselines, ident, check.inventory_model)
    if check.firmware.verdict != "approved":
        check.problems.append(f"firmware {check.firmware.verdict}: {check.firmware.detail}")
        if override is not None and override == ident.firmware:
            check.overridden = True
            check.problems.append(
                f"firmware {ident.firmware} accepted by a firmware.override (audited)"
            )
    if not check.compliant and not (check.overridden and check.model_match is not False):
        check.blocking = block
    return readings


def _ups_summary(device: str, readings: list[Reading]) -> dict[str, Any]:
    by_kind = {r.kind: r.value for r in readings}
    on_battery = by_kind.get("ups_on_battery")
    return {
        "device": device,
        "on_mains": None if on_battery is None else on_battery == 0.0,
        "runtime_s": by_kind.get("ups_runtime"),
        "charge_pct": by_kind.get("ups_charge"),
    }


async def run(
    config: RackConfig,
    *,
    readers: Mapping[str, Reader] | None = None,
    baselines: list[Baseline] | None = None,
    firmware_dir: Path | None = None,
    limit_s: float | None = None,
    overrides: Mapping[str, str] | None = None,
) -> SelftestReport:
    """The arrival report of every device in the inventory (see the module docstring)."""
    started = time.time()
    known = baselines if baselines is not None else load_baselines(firmware_dir)
    block = config.policy.firmware == "block"
    limit = limit_s if limit_s is not None else max(3 * float(config.health.timeout), 5.0)
    roles = _roles(config)
    async with AsyncExitStack() as stack:
        if readers is None:
            readers = await open_readers(config, stack, controller=False)
        outlets = {p.id: p.outlets for p in config.pdu}
        checks = [
            DeviceCheck(device, role, model, expected_outlets=outlets.get(device))
            for device, (role, model) in roles.items()
        ]
        missing = [c for c in checks if c.device not in readers]
        for check in missing:
            check.error = "no reader for this device"
            check.blocking = check.role in INFRASTRUCTURE
            check.problems.append("not checked: no reader could be built for it")
        async with asyncio.TaskGroup() as tg:
            tasks = {
                c.device: tg.create_task(
                    _check_device(
                        c,
                        readers[c.device],
                        known,
                        block,
                        limit,
                        override=(overrides or {}).get(c.device),
                    ),
                    name=f"selftest-{c.device}",
                )
                for c in checks
                if c.device in readers
            }
    ups = [
        _ups_summary(c.device, tasks[c.device].result())
        for c in checks
        if c.role == "ups" and c.device in tasks and c.reachable
    ]
    return SelftestReport(
        rack=config.rack.id,
        policy=config.policy.firmware,
        started=started,
        finished=time.time(),
        devices=checks,
        ups=ups,
    )


def render(report: SelftestReport) -> str:
    """The human report: one line per device, then the problems, then the verdict."""
    lines = [f"self-test of rack {report.rack} (firmware policy: {report.policy})"]
    for c in report.devices:
        ident = c.identity
        what = f"{ident.vendor} {ident.model} fw {ident.firmware}".strip() if ident else "-"
        verdict = c.firmware.verdict if c.firmware else ("unreachable" if not c.reachable else "-")
        flag = "BLOCKS" if c.blocking else ("ok" if c.compliant else "warn")
        lines.append(f"  {flag:<6} {c.device:<12} {c.role:<7} {verdict:<11} {what}")
        lines += [f"           - {p}" for p in c.problems]
    for u in report.ups:
        mains = {True: "on mains", False: "ON BATTERY", None: "source unknown"}[u["on_mains"]]
        runtime = u["runtime_s"]
        left = f"{runtime / 60:.0f} min left" if runtime is not None else "runtime unknown"
        lines.append(f"  UPS {u['device']}: {mains}, {left}")
    blocking = report.blocking()
    lines.append(
        "result: OK" if report.ok else f"result: BLOCKED by {', '.join(c.device for c in blocking)}"
    )
    return "\n".join(lines)
