"""A simulated server BMC speaking Redfish over real HTTP on loopback.

One instance per server. Its life follows the PDU outlet that feeds it, through the
``outlet_powered`` callable: with no outlet power it stops listening (clients see
connection refused) and the host is off; when power returns the BMC starts answering
after ``boot_delay_s``. The host's power state follows the Reset actions, with a
GracefulShutdown that takes ``graceful_shutdown_s`` or, when ``graceful_hangs`` is set,
never completes (an OS that ignores the ACPI button), so a ForceOff fallback is testable.

Independent of the agent: nothing here imports the agent's drivers or adapters, so a wrong
resource path in a driver fails a test instead of being mirrored.

Usage::

    async with RedfishBmcSim(outlet_powered=pdu.outlet_is_on) as bmc:
        url = bmc.base_url          # http://127.0.0.1:<port>
        bmc.graceful_hangs = True   # fault injection, any time
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from agent.sim import redfish_resources as res
from agent.sim.redfish_http import HttpServer, Request, Response

_OUTLET_POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class ResetRecord:
    """One Reset action the BMC accepted (the witness list tests read)."""

    at: float  # time.monotonic() when it arrived
    reset_type: str


def _always_powered() -> bool:
    return True


class RedfishBmcSim:
    """A Redfish BMC for one simulated server; an async context manager."""

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str = "password",  # noqa: S107 - a simulator's well-known default
        outlet_powered: Callable[[], bool] = _always_powered,
        identity: res.Identity | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        boot_delay_s: float = 0.3,
        graceful_shutdown_s: float = 0.2,
        graceful_hangs: bool = False,
        host_on_after_power_loss: bool = False,
        standby_draw_w: float = 12.0,
        running_draw_w: float = 240.0,
    ) -> None:
        self.identity = identity or res.Identity()
        self.username = username
        self.password = password
        self.boot_delay_s = boot_delay_s
        self.graceful_shutdown_s = graceful_shutdown_s
        self.graceful_hangs = graceful_hangs
        self.host_on_after_power_loss = host_on_after_power_loss
        self.standby_draw_w = standby_draw_w
        self.running_draw_w = running_draw_w
        self.resets: list[ResetRecord] = []
        self.temperatures = [
            res.Sensor("Inlet Temp", 22.0, 42.0, needs_host=False),
            res.Sensor("CPU1 Temp", 48.0, 95.0, needs_host=True),
            res.Sensor("System Board Temp", 31.0, 75.0, needs_host=False),
        ]
        self.fans = [
            res.Sensor("Fan1", 5400.0, 600.0, needs_host=True),
            res.Sensor("Fan2", 5280.0, 600.0, needs_host=True),
        ]
        self._outlet_powered = outlet_powered
        self._http = HttpServer(self._handle, host, port)
        self._host_on = False
        self._bmc_alive = False  # powered and booted (listening)
        self._malformed_replies = 0
        self._error_replies: list[int] = []
        self._tg: asyncio.TaskGroup | None = None
        self._boot: asyncio.Task[None] | None = None
        self._pending: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()  # set on every answering/not-answering edge

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        if self._outlet_powered():
            # Power present at start: the BMC is already booted, tests need not wait.
            await self._http.start()
            self._bmc_alive = True
        self._watcher = self._tg.create_task(
            self._watch_outlet(), name=f"redfish-sim-outlet-{self.port}"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        for task in (self._watcher, self._boot, self._pending):
            if task is not None:
                task.cancel()
        await self._http.stop()
        await self._tg.__aexit__(exc_type, exc, tb)
        return None

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def base_url(self) -> str:
        return f"http://{self._http.host}:{self._http.port}"

    def is_answering(self) -> bool:
        """Powered, booted and listening."""
        return self._bmc_alive

    def is_host_on(self) -> bool:
        return self._host_on

    async def wait_answering(self, answering: bool) -> None:
        """Return once the BMC is (or is not) answering; the caller bounds the wait."""
        while self._bmc_alive != answering:
            self._changed.clear()
            await self._changed.wait()

    def power_draw_w(self) -> float:
        """What the server draws from its outlet now (for the PDU load model)."""
        if not self._outlet_powered():
            return 0.0
        return self.running_draw_w if self._host_on else self.standby_draw_w

    # -- fault injection ---------------------------------------------------------------

    def inject_malformed(self, count: int = 1) -> None:
        """The next ``count`` authenticated replies are 200 with a truncated JSON body."""
        self._malformed_replies += count

    def inject_http_error(self, status: int, count: int = 1) -> None:
        """The next ``count`` authenticated replies fail with ``status`` (e.g. 503 busy)."""
        self._error_replies.extend([status] * count)

    def set_temperature(self, name: str, celsius: float) -> None:
        self._sensor(self.temperatures, name).reading = celsius

    def set_fan_rpm(self, name: str, rpm: float) -> None:
        self._sensor(self.fans, name).reading = rpm

    @staticmethod
    def _sensor(sensors: list[res.Sensor], name: str) -> res.Sensor:
        for sensor in sensors:
            if sensor.name == name:
                return sensor
        known = ", ".join(s.name for s in sensors)
        raise KeyError(f"redfish sim: no sensor {name!r}; known sensors: {known}")

    # -- outlet power ------------------------------------------------------------------

    async def _watch_outlet(self) -> None:
        # The PDU simulator exposes a plain callable, so its state is polled; 20 ms is far
        # below any boot delay a test configures.
        while True:
            powered = self._outlet_powered()
            if not powered and (self._bmc_alive or self._boot is not None):
                await self._lose_power()
            elif powered and not self._bmc_alive and self._boot is None:
                assert self._tg is not None
                self._boot = self._tg.create_task(self._boot_bmc(), name="redfish-sim-boot")
            await asyncio.sleep(_OUTLET_POLL_S)

    async def _lose_power(self) -> None:
        for task in (self._boot, self._pending):
            if task is not None:
                task.cancel()
        self._boot = self._pending = None
        self._bmc_alive = False
        self._changed.set()
        self._host_on = False
        await self._http.stop()

    async def _boot_bmc(self) -> None:
        await asyncio.sleep(self.boot_delay_s)
        await self._http.start()
        self._bmc_alive = True
        self._changed.set()
        self._host_on = self.host_on_after_power_loss
        self._boot = None

    # -- host power --------------------------------------------------------------------

    def _reset(self, reset_type: str) -> None:
        self.resets.append(ResetRecord(time.monotonic(), reset_type))
        if reset_type in ("On", "ForceOff", "ForceRestart") and self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if reset_type == "On":
            self._host_on = True
        elif reset_type == "ForceOff":
            self._host_on = False
        elif reset_type == "ForceRestart":
            self._host_on = True  # off and on again within the request
        elif self._host_on and self._pending is None and not self.graceful_hangs:
            assert self._tg is not None
            restart = reset_type == "GracefulRestart"
            self._pending = self._tg.create_task(
                self._graceful(restart=restart), name=f"redfish-sim-{reset_type}"
            )

    async def _graceful(self, *, restart: bool) -> None:
        await asyncio.sleep(self.graceful_shutdown_s)
        self._host_on = restart
        self._pending = None

    # -- HTTP --------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        ident = self.identity
        if path == res.ROOT:
            # DSP0266: the service root answers without authentication.
            return self._get_only(request, lambda: res.service_root(ident))
        if request.basic_auth() != (self.username, self.password):
            reply = Response.json(401, res.error("InsufficientPrivilege", "bad credentials"))
            reply.headers["WWW-Authenticate"] = 'Basic realm="Redfish"'
            return reply
        if self._error_replies:
            status = self._error_replies.pop(0)
            return Response.json(status, res.error("GeneralError", f"injected {status}"))
        if self._malformed_replies:
            self._malformed_replies -= 1
            body = b'{"@odata.id": "' + path.encode() + b'", "PowerState": "On'
            return Response(200, body, {"Content-Type": "application/json"})
        if path == res.reset_target(ident):
            return self._post_reset(request)
        power_state = "On" if self._host_on else "Off"
        documents = {
            f"{res.ROOT}/Systems": lambda: res.collection("Systems", res.system_path(ident)),
            f"{res.ROOT}/Chassis": lambda: res.collection("Chassis", res.chassis_path(ident)),
            f"{res.ROOT}/Managers": lambda: res.collection("Managers", res.manager_path(ident)),
            res.system_path(ident): lambda: res.computer_system(
                ident, power_state, healthy=self._healthy()
            ),
            res.chassis_path(ident): lambda: res.chassis(ident, power_state),
            f"{res.chassis_path(ident)}/Thermal": lambda: res.thermal(
                ident, self.temperatures, self.fans, self._host_on
            ),
            f"{res.chassis_path(ident)}/Power": lambda: res.power(
                ident, self.power_draw_w(), self.running_draw_w * 2
            ),
            res.manager_path(ident): lambda: res.manager(ident),
        }
        build = documents.get(path)
        if build is None:
            return Response.json(
                404, res.error("ResourceMissingAtURI", f"no resource at {request.path}")
            )
        return self._get_only(request, build)

    def _healthy(self) -> bool:
        return all(s.reading < s.upper_critical for s in self.temperatures)

    @staticmethod
    def _get_only(request: Request, build: Callable[[], dict[str, object]]) -> Response:
        if request.method not in ("GET", "HEAD"):
            reply = Response.json(
                405, res.error("OperationNotAllowed", f"{request.method} not allowed here")
            )
            reply.headers["Allow"] = "GET, HEAD"
            return reply
        return Response.json(200, build())

    def _post_reset(self, request: Request) -> Response:
        if request.method != "POST":
            return Response.json(
                405, res.error("OperationNotAllowed", "the Reset action takes POST")
            )
        try:
            body = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return Response.json(400, res.error("MalformedJSON", "request body is not JSON"))
        reset_type = body.get("ResetType") if isinstance(body, dict) else None
        if reset_type not in res.RESET_TYPES:
            allowed = ", ".join(res.RESET_TYPES)
            return Response.json(
                400,
                res.error(
                    "ActionParameterValueNotInList",
                    f"ResetType {reset_type!r} is not one of {allowed}",
                ),
            )
        self._reset(reset_type)
        return Response(204)
