"""The simulated rack built from a rack config: what `cleanroom sim` and the tests run.

Maps each configured device onto the simulators (SNMP PDUs, switch and UPS on their
configured UDP ports, one Redfish BMC per server on its configured HTTP port), wires
power through them (a server's BMC answers only while one of its outlets is on; the UPS
carries the load of the PDUs it feeds) and hosts the demo applications (`apps.py`).

The config is the only input, so the agent and its simulator always agree on addresses
and credentials; the simulator still never imports the agent's drivers or OID tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import signal
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from agent.conf.schema import Credentials, Pdu, RackConfig, Server
from agent.errors import ConfigError
from agent.sim.apps import AppHost
from agent.sim.redfish import RedfishBmcSim
from agent.sim.redfish_resources import Identity
from agent.sim.snmp import (
    CiscoSwitchSpec,
    PduSpec,
    SimCredentials,
    SimulatedRack,
    SwitchSpec,
    UpsSpec,
)
from agent.sim.snmp.scenario import FaultStep, load_scenario

log = logging.getLogger(__name__)

# Which simulated family stands in for a configured PDU model (by model-name prefix, the
# way an operator knows them). The simulator implements these families from the vendors'
# MIBs; a model not listed here cannot be simulated.
MODEL_FAMILIES: tuple[tuple[str, str], ...] = (
    ("AP", "apc_rpdu2"),  # APC AP79xx/AP84xx/AP86xx/AP89xx: PowerNet-MIB rPDU2
    ("PX", "raritan_pdu2"),  # Raritan PX2/PX3: PDU2-MIB
    ("EMA", "eaton_epdu"),  # Eaton ePDU G3 managed: EATON-EPDU-MIB
    ("EPDU", "eaton_epdu"),
)
_BMC_WATCH_S = 0.05


def pdu_family(pdu: Pdu) -> str:
    if pdu.driver in {family for _, family in MODEL_FAMILIES}:
        return pdu.driver
    for prefix, family in MODEL_FAMILIES:
        if pdu.model.upper().startswith(prefix):
            return family
    raise ConfigError(
        [
            f"pdu {pdu.id!r}: model {pdu.model!r} cannot be simulated; set model to one starting "
            f"with {', '.join(p for p, _ in MODEL_FAMILIES)} or driver to one of "
            f"{sorted({f for _, f in MODEL_FAMILIES})}"
        ]
    )


def sim_credentials(name: str, cred: Credentials) -> SimCredentials:
    if cred.version == "2c":
        assert cred.community is not None
        return SimCredentials(community=cred.community.reveal())
    if cred.auth_protocol != "SHA" or cred.priv_protocol != "AES":
        raise ConfigError(
            [
                f"credentials.{name}: the simulator speaks SNMPv3 with SHA and AES (128) only; "
                f"got {cred.auth_protocol}/{cred.priv_protocol}"
            ]
        )
    assert cred.auth_key is not None
    assert cred.priv_key is not None
    return SimCredentials(
        community=None,
        user=cred.user,
        auth_key=cred.auth_key.reveal(),
        priv_key=cred.priv_key.reveal(),
    )


def state_dir(config: RackConfig) -> Path:
    """Where the agent keeps its state; the demo apps are restored there."""
    return config.state_dir()


def _outlet_loads(config: RackConfig) -> dict[str, dict[int, float]]:
    """Each PDU outlet's draw when on: a device's nominal draw shared by its cords."""
    loads: dict[str, dict[int, float]] = {p.id: {} for p in config.pdu}
    feeds = [(s.power, s.nominal_w) for s in config.server]
    feeds += [(sw.power, sw.nominal_w) for sw in config.switch]
    feeds += [(config.controller.power, 40.0)]
    for refs, watts in feeds:
        for ref in refs:
            loads[ref.pdu][ref.outlet] = watts / max(len(refs), 1)
    return loads


def build_specs(
    config: RackConfig, dirty_seed: int | None = None
) -> list[PduSpec | SwitchSpec | UpsSpec]:
    """The simulator's specs for a config. The switch always arrives dirty (every port
    untagged in VLAN 1, all up, uplink included); with ``dirty_seed`` the PDU outlets
    also arrive in random states, as a rack used and trucked without a clean stop would."""
    loads = _outlet_loads(config)
    cred = {name: sim_credentials(name, c) for name, c in config.credentials.items()}
    specs: list[PduSpec | SwitchSpec | UpsSpec] = []
    # Protected outlets (controller, switch) are on when the rack arrives: the controller
    # is running on them. Everything else starts off, as after transport.
    protected = config.protected_outlets()
    rng = random.Random(dirty_seed)  # noqa: S311 - a reproducible mess, not security
    for pdu in config.pdu:
        on = set(protected.get(pdu.id, frozenset()))
        if dirty_seed is not None:
            on |= {n for n in range(1, pdu.outlets + 1) if rng.random() < 0.5}
        specs.append(
            PduSpec(
                id=pdu.id,
                family=pdu_family(pdu),
                outlets=pdu.outlets,
                loads_w=loads[pdu.id],
                initial=dict.fromkeys(on, True),
                model=pdu.model,
                credentials=cred[pdu.credentials],
                port=pdu.snmp_port,
                ramp_s=0.3,
                command_delay_s=0.2,
            )
        )
    for sw in config.switch:
        if sw.driver == "linux-bridge":
            continue  # a Linux bridge is real, not simulated: the network lab provides it
        connected = {p.number for p in sw.ports if p.role != "unused"}
        # A switch configured for the cisco-ios driver is simulated as a Catalyst.
        switch_spec = CiscoSwitchSpec if sw.driver == "cisco-ios" else SwitchSpec
        specs.append(
            switch_spec(
                id=sw.id,
                ports=sw.port_count,
                model=sw.model or switch_spec.model,
                connected=frozenset(connected),
                credentials=cred[sw.credentials],
                port=sw.snmp_port,
            )
        )
    for ups in config.ups:
        fed = tuple(p.id for p in config.pdu if p.ups == ups.id)
        specs.append(
            UpsSpec(
                id=ups.id,
                model=ups.model or "9PX 3000i RT2U",
                rated_w=ups.budget_w,
                battery_wh=ups.budget_w / 2,
                feeds=fed,
                credentials=cred[ups.credentials],
                port=ups.snmp_port,
            )
        )
    return specs


@dataclass
class SimEndpoint:
    id: str
    kind: str
    family: str
    protocol: str
    host: str
    port: int
    credentials: str


class SimRack:
    """``async with SimRack(config) as sim:`` runs the whole simulated rack."""

    def __init__(
        self,
        config: RackConfig,
        *,
        set_log_path: Path | None = None,
        scenario: Path | None = None,
        dirty_seed: int | None = None,
    ) -> None:
        self.config = config
        self.specs = build_specs(config, dirty_seed)
        self.snmp = SimulatedRack(
            self.specs, host="127.0.0.1", set_log_path=set_log_path, scenario=scenario
        )
        self.bmcs: dict[str, RedfishBmcSim] = {}
        self.apps: AppHost | None = None
        self._stack = AsyncExitStack()
        self._watch: asyncio.Task[None] | None = None

    def server_powered(self, server: Server) -> bool:
        # A server with no outlets in the config is fed from outside the switched PDUs
        # (controlled only by its BMC): its BMC always has power.
        if not server.power:
            return True
        return any(self.snmp.outlet_powered(ref.pdu, ref.outlet) for ref in server.power)

    def host_on(self, server_id: str) -> bool:
        bmc = self.bmcs.get(server_id)
        return bmc is not None and bmc.is_answering() and bmc.is_host_on()

    async def __aenter__(self) -> Self:
        try:
            await self._stack.enter_async_context(self.snmp)
            for server in self.config.server:
                if server.bmc is None or server.bmc.kind != "redfish":
                    continue
                bmc = RedfishBmcSim(
                    username=server.bmc.username,
                    password=server.bmc.password.reveal(),
                    outlet_powered=functools.partial(self.server_powered, server),
                    identity=Identity(
                        model=server.model or "SimServer R1", serial_number=f"SIM-{server.id}"
                    ),
                    port=server.bmc.port,
                    boot_delay_s=0.5,
                    graceful_shutdown_s=0.5,
                    running_draw_w=server.nominal_w,
                    standby_draw_w=15.0,
                )
                self.bmcs[server.id] = await self._stack.enter_async_context(bmc)
            apps_dir = state_dir(self.config) / "apps"
            self.apps = await self._stack.enter_async_context(AppHost(apps_dir, self.host_on))
            self._watch = asyncio.create_task(self._record_bmc_actions(), name="sim-bmc-log")
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._stack.aclose()

    async def _record_bmc_actions(self) -> None:
        """Copy every Reset a BMC accepted into the SET log: one witness for all power."""
        seen = dict.fromkeys(self.bmcs, 0)
        while True:
            for server_id, bmc in self.bmcs.items():
                for record in bmc.resets[seen[server_id] :]:
                    self.snmp.set_log.record(
                        record.at, server_id, "power", "redfish:Reset", record.reset_type
                    )
                seen[server_id] = len(bmc.resets)
            await asyncio.sleep(_BMC_WATCH_S)

    def endpoints(self) -> list[SimEndpoint]:
        out: list[SimEndpoint] = []
        devices = {p.id: p.credentials for p in self.config.pdu}
        devices |= {s.id: s.credentials for s in self.config.switch}
        devices |= {u.id: u.credentials for u in self.config.ups}
        for spec in self.specs:
            host, port = self.snmp.endpoint(spec.id)
            kind = {PduSpec: "pdu", UpsSpec: "ups"}.get(type(spec), "switch")
            family = spec.family if isinstance(spec, PduSpec) else kind
            if isinstance(spec, CiscoSwitchSpec):
                family = "cisco-ios"
            out.append(SimEndpoint(spec.id, kind, family, "snmp", host, port, devices[spec.id]))
        for server_id, bmc in self.bmcs.items():
            out.append(
                SimEndpoint(server_id, "bmc", "redfish", "http", "127.0.0.1", bmc.port, "bmc")
            )
        return out


def simulated_ids(config: RackConfig) -> set[str]:
    """The ids a fault scenario may name: every simulated SNMP device."""
    return {spec.id for spec in build_specs(config)}


def check_faults(config: RackConfig, faults: Path) -> list[FaultStep]:
    """A fault scenario file validated against the rack (ConfigError naming each step)."""
    try:
        return load_scenario(faults, simulated_ids(config))
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()) from exc


async def _replay_on_hangup(sim: SimRack, faults: Path) -> None:
    """Each SIGHUP (`systemctl reload cleanroom-sim`) plays the fault file again from that
    moment, so a drill can cut the rack's power when the trainer chooses."""
    loop = asyncio.get_running_loop()
    hangups: asyncio.Queue[None] = asyncio.Queue()
    loop.add_signal_handler(signal.SIGHUP, hangups.put_nowait, None)
    try:
        async with asyncio.TaskGroup() as tg:
            while True:
                await hangups.get()
                try:
                    steps = check_faults(sim.config, faults)
                except ConfigError as exc:
                    print(f"sim: {faults} not played:\n  " + "\n  ".join(exc.problems), flush=True)
                    continue
                print(f"sim: playing {faults} ({len(steps)} steps)", flush=True)
                tg.create_task(sim.snmp.play(steps), name="sim-faults-replay")
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


async def run_forever(
    config: RackConfig,
    *,
    set_log_path: Path | None,
    json_lines: bool,
    faults: Path | None = None,
) -> None:
    """`cleanroom sim`: start, print the endpoints, serve until cancelled; with ``faults``
    play that scenario from the start and again on each SIGHUP."""
    import json  # noqa: PLC0415 - CLI output only

    if faults is not None:
        check_faults(config, faults)
    started = time.monotonic()
    async with SimRack(config, set_log_path=set_log_path, scenario=faults) as sim:
        for ep in sim.endpoints():
            if json_lines:
                print(json.dumps(ep.__dict__, sort_keys=True), flush=True)
            else:
                print(
                    f"{ep.id:<10} {ep.kind:<7} {ep.family:<13} {ep.protocol}://{ep.host}:"
                    f"{ep.port}  credentials={ep.credentials}",
                    flush=True,
                )
        if not json_lines:
            print(
                f"simulated rack {config.rack.id} up in {time.monotonic() - started:.2f}s; "
                "Ctrl-C to stop",
                flush=True,
            )
        if faults is None:
            await asyncio.Event().wait()
        else:
            await _replay_on_hangup(sim, faults)
