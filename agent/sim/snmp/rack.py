"""The simulated rack: every device of a list of specs, each on its own UDP port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from agent.sim.snmp import scenario as scenarios
from agent.sim.snmp.device import Clock, SimDevice
from agent.sim.snmp.engine import Endpoint
from agent.sim.snmp.pdu import PduModel, PduSpec
from agent.sim.snmp.pdu_families import build_pdu
from agent.sim.snmp.recording import RecordedDevice, RecordingSpec
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.switch import SwitchModel, SwitchSpec
from agent.sim.snmp.switch_cisco import CiscoSwitchModel, CiscoSwitchSpec
from agent.sim.snmp.ups import UpsModel, UpsSpec

Spec = PduSpec | SwitchSpec | UpsSpec | RecordingSpec
D = TypeVar("D", bound=SimDevice)


class SimulatedRack:
    """Start with `async with SimulatedRack(specs) as rack:`; every endpoint answers
    until the block ends.

    A background task settles every device each `settle_interval` seconds so power
    effects reach the SET log even when nobody polls; a scenario file, if given, is
    played as another task.

    `power_off` and `power_on` are the rack-wide power cut: every endpoint goes dark,
    then every device boots again from its spec on the same port, as after mains loss
    (outlets off but the spec's initial ones, the switch on its factory VLANs).
    """

    def __init__(
        self,
        specs: Sequence[Spec],
        host: str = "127.0.0.1",
        set_log_path: Path | None = None,
        *,
        clock: Clock = time.monotonic,
        scenario: Path | None = None,
        settle_interval: float = 0.1,
    ) -> None:
        ids = [s.id for s in specs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(
                f"SimulatedRack: device ids {duplicates} are used twice; ids must be unique"
            )
        self._specs = list(specs)
        self._host = host
        self.set_log = SetLog(set_log_path)
        self._clock = clock
        self._scenario = scenario
        self._settle_interval = settle_interval
        self._devices: dict[str, SimDevice] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.powered = True

    def _build(self, spec: Spec) -> SimDevice:
        if isinstance(spec, PduSpec):
            return build_pdu(spec, self.set_log, self._clock)
        if isinstance(spec, CiscoSwitchSpec):
            return CiscoSwitchModel(spec, self.set_log, self._clock)
        if isinstance(spec, SwitchSpec):
            return SwitchModel(spec, self.set_log, self._clock)
        if isinstance(spec, UpsSpec):
            return UpsModel(spec, self.set_log, self._clock)
        return RecordedDevice(spec, self.set_log, self._clock)

    def _build_all(self) -> None:
        for spec in self._specs:
            self._devices[spec.id] = self._build(spec)
        for spec in self._specs:
            if isinstance(spec, UpsSpec) and spec.feeds:
                ups = self._devices[spec.id]
                assert isinstance(ups, UpsModel)
                fed = [self.pdu(pdu_id) for pdu_id in spec.feeds]
                ups.load_source = lambda fed=fed: sum(p.inlet_power_w() for p in fed)

    def _start_endpoints(self, ports: dict[str, int]) -> None:
        for spec in self._specs:
            endpoint = Endpoint(self._devices[spec.id], self._host, ports.get(spec.id, spec.port))
            endpoint.start()
            self._endpoints[spec.id] = endpoint

    async def __aenter__(self) -> SimulatedRack:
        self.set_log.open()
        self._build_all()
        steps = (
            scenarios.load_scenario(self._scenario, set(self._devices)) if self._scenario else []
        )
        try:
            self._start_endpoints({})
            await asyncio.sleep(0)  # let asyncio attach the datagram protocols
            self._tg = asyncio.TaskGroup()
            await self._tg.__aenter__()
            self._tasks.append(self._tg.create_task(self._settle_loop(), name="sim-rack-settle"))
            if steps:
                self._tasks.append(
                    self._tg.create_task(
                        scenarios.play(steps, self._devices, self), name="sim-rack-scenario"
                    )
                )
        except BaseException:
            self._stop_endpoints()
            self.set_log.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            for task in self._tasks:
                task.cancel()
            if self._tg is not None:
                await self._tg.__aexit__(None, None, None)
        finally:
            self._stop_endpoints()
            for device in self._devices.values():
                device.settle()
            self.set_log.close()

    def _stop_endpoints(self) -> None:
        for endpoint in self._endpoints.values():
            endpoint.stop()

    # -- rack-wide power ----------------------------------------------------------------

    def power_off(self) -> None:
        """Mains lost: no device answers, no outlet feeds anything."""
        if not self.powered:
            return
        self.powered = False
        self._stop_endpoints()
        self.set_log.record(self._clock(), "rack", "power", "mains", "off")

    def power_on(self) -> None:
        """Mains back: every device boots from its spec, on the port it had."""
        if self.powered:
            return
        ports = {device_id: ep.address[1] for device_id, ep in self._endpoints.items()}
        self._endpoints.clear()
        self._build_all()
        self._start_endpoints(ports)
        self.powered = True
        self.set_log.record(self._clock(), "rack", "power", "mains", "on")

    async def power_cut(self, seconds: float) -> None:
        """Mains lost for ``seconds``, then back (the devices reset)."""
        self.power_off()
        await asyncio.sleep(seconds)
        self.power_on()

    async def _settle_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settle_interval)
            for device in self._devices.values():
                device.settle()

    # -- access -----------------------------------------------------------------------

    def endpoint(self, device_id: str) -> tuple[str, int]:
        try:
            return self._endpoints[device_id].address
        except KeyError:
            raise KeyError(
                f"SimulatedRack: no device {device_id!r} (have {sorted(self._endpoints)})"
            ) from None

    def device(self, device_id: str) -> SimDevice:
        try:
            return self._devices[device_id]
        except KeyError:
            raise KeyError(
                f"SimulatedRack: no device {device_id!r} (have {sorted(self._devices)})"
            ) from None

    def _typed(self, device_id: str, cls: type[D]) -> D:
        d = self.device(device_id)
        if not isinstance(d, cls):
            raise TypeError(f"SimulatedRack: {device_id!r} is a {d.kind}, not a {cls.kind}")
        return d

    def pdu(self, device_id: str) -> PduModel:
        return self._typed(device_id, PduModel)

    def switch(self, device_id: str) -> SwitchModel:
        return self._typed(device_id, SwitchModel)

    def ups(self, device_id: str) -> UpsModel:
        return self._typed(device_id, UpsModel)

    def outlet_powered(self, pdu_id: str, outlet: int) -> bool:
        """Whether the outlet is energised now (what a BMC simulator follows)."""
        if not self.powered:
            return False
        pdu = self.pdu(pdu_id)
        pdu.settle()
        return pdu.is_on(outlet)

    async def play(self, steps: list[scenarios.FaultStep]) -> None:
        await scenarios.play(steps, self._devices, self)
