"""IPMI over LAN (RMCP+): the only module that imports pyghmi.

pyghmi is synchronous: its calls block on UDP round trips (a login to a silent BMC blocks
for its own retry budget, ~5 s). Every call therefore runs in a worker thread through
``asyncio.to_thread`` so the event loop keeps serving the rest of the rack, and the calls
to one BMC are serialised by a lock because a pyghmi session is not meant to be driven by
several threads at once. An ``asyncio.timeout`` bounds each call; a timed-out thread cannot
be interrupted and finishes in the background, and its session is dropped so the next call
logs in afresh.

Returns our types and raises our exceptions: DeviceUnreachable (no answer, session lost),
NegativeReply (login refused, or an IPMI completion code as status ``0xNN``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from pyghmi import exceptions as pyghmi_exc
from pyghmi.ipmi import command as pyghmi_command

from agent.errors import DeviceUnreachable, NegativeReply

ChassisAction = Literal["on", "off", "shutdown", "reset"]
_T = TypeVar("_T")

# Completion code 0xCB: "requested sensor, data or record not present" (IPMI 2.0 table
# 5-2); a BMC with an empty SDR repository answers it, which means "no sensors".
_CC_NOT_PRESENT = 0xCB
# pyghmi reports a lost session or an unanswered login with these texts (or none).
_UNREACHABLE_TEXTS = ("Session no longer connected", "timeout", "Session failed to initialize")


@dataclass(frozen=True, slots=True)
class IpmiEndpoint:
    device: str
    host: str
    username: str
    password: str
    port: int = 623
    timeout_s: float = 15.0  # a login to a slow BMC can take several seconds


@dataclass(frozen=True, slots=True)
class IpmiSensor:
    name: str
    type: str  # pyghmi's sensor type text: "Temperature", "Fan", "Voltage", ...
    value: float | None
    units: str  # as the SDR says: "°C", "RPM", "V", "W", ...


@dataclass(frozen=True, slots=True)
class IpmiDeviceId:
    """Get Device ID (IPMI 2.0 section 20.1)."""

    manufacturer_id: int
    product_id: int
    firmware: str


class IpmiClient:
    """One IPMI LAN session to a BMC; an async context manager.

    It runs no background task of its own (pyghmi keeps its session alive in its own IO
    thread), so it holds no TaskGroup.
    """

    def __init__(self, endpoint: IpmiEndpoint) -> None:
        self.endpoint = endpoint
        self.device = endpoint.device
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # No logout: the session stays in the process-wide cache (see _session) for the
        # next client of this BMC, and pyghmi's keepalive ends once the BMC stops answering.
        return

    async def power_state(self) -> Literal["on", "off"]:
        reply = await self._call("Get Chassis Status", lambda c: c.get_power())
        state = reply.get("powerstate") if isinstance(reply, dict) else None
        if state not in ("on", "off"):
            raise NegativeReply(
                self.device,
                f"Get Chassis Status: power state {state!r} is neither on nor off",
                status="protocol",
            )
        return "on" if state == "on" else "off"

    async def chassis_control(self, action: ChassisAction) -> None:
        """Chassis Control: power up, power down, soft shutdown (ACPI) or hard reset."""
        await self._call(f"Chassis Control {action}", lambda c: c.set_power(action, wait=False))

    async def device_id(self) -> IpmiDeviceId:
        def read(c: Any) -> IpmiDeviceId:
            reply = c.raw_command(netfn=6, command=1)  # App / Get Device ID
            if "error" in reply:
                raise pyghmi_exc.IpmiException(reply["error"], code=reply.get("code", 0))
            data = bytes(reply["data"])
            # byte 3: major firmware revision (7 bits), byte 4: minor revision in BCD.
            return IpmiDeviceId(
                manufacturer_id=int.from_bytes(data[6:9], "little"),
                product_id=int.from_bytes(data[9:11], "little"),
                firmware=f"{data[2] & 0x7F}.{data[3]:02x}",
            )

        return await self._call("Get Device ID", read)

    async def sensors(self) -> list[IpmiSensor]:
        def read(c: Any) -> list[IpmiSensor]:
            try:
                readings = list(c.get_sensor_data())
            except pyghmi_exc.IpmiException as exc:
                if getattr(exc, "ipmicode", 0) == _CC_NOT_PRESENT or "not present" in str(exc):
                    return []
                raise
            return [
                IpmiSensor(
                    name=str(r.name),
                    type=str(r.type),
                    value=None if r.value is None or r.unavailable else float(r.value),
                    units=str(r.units or "").strip(),
                )
                for r in readings
            ]

        return await self._call("read sensors (SDR)", read)

    async def _call(self, what: str, op: Callable[[Any], _T]) -> _T:
        ep = self.endpoint
        where = f"{what} on {ep.host}:{ep.port}"
        async with self._lock:
            try:
                async with asyncio.timeout(ep.timeout_s):
                    return await asyncio.to_thread(self._run, op)
            except TimeoutError as exc:
                _forget(ep)
                raise DeviceUnreachable(
                    self.device,
                    f"{where}: no reply within {ep.timeout_s} s; check the BMC's outlet "
                    "power, its management network link and its address in the rack config",
                ) from exc
            except pyghmi_exc.IpmiException as exc:
                raise self._translate(where, exc) from exc

    def _run(self, op: Callable[[Any], _T]) -> _T:
        """In the worker thread: log in if needed, then run ``op`` on the session."""
        return op(_session(self.endpoint))

    def _translate(self, where: str, exc: Any) -> DeviceUnreachable | NegativeReply:
        text = str(exc.args[0]) if exc.args and exc.args[0] else ""
        code = int(getattr(exc, "ipmicode", 0) or 0)
        if not text or any(t in text for t in _UNREACHABLE_TEXTS):
            _forget(self.endpoint)  # the session is gone: log in again next time
            return DeviceUnreachable(
                self.device,
                f"{where}: {text or 'no answer to the session login'}; check the BMC's "
                "outlet power, its network link and the UDP port in the rack config",
            )
        if code:
            return NegativeReply(
                self.device,
                f"{where}: completion code 0x{code:02x}: {text}",
                status=f"0x{code:02x}",
            )
        if "password" in text.lower() or "name" in text.lower() or "privilege" in text.lower():
            return NegativeReply(
                self.device,
                f"{where}: login refused: {text}; check the IPMI user name, password and "
                "privilege level in the rack config",
                status="auth",
            )
        return NegativeReply(self.device, f"{where}: {text}", status="error")


# pyghmi keeps one session per (BMC, user, password, port) in class-level caches, and it
# misbehaves when a second Command is built for a key whose session is alive (the
# constructor waits forever on another thread) or was logged out (pyghmi 1.6 hands the dead
# session back). So the process holds one Command per key here, reused by every client of
# that BMC, and forgets it only once pyghmi has marked its session broken or a call timed
# out; it is never logged out.
_SessionKey = tuple[str, int, str, str]
_SESSIONS: dict[_SessionKey, Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _key(ep: IpmiEndpoint) -> _SessionKey:
    return (ep.host, ep.port, ep.username, ep.password)


def _session(ep: IpmiEndpoint) -> Any:
    with _SESSIONS_LOCK:
        command = _SESSIONS.get(_key(ep))
        if command is not None and not command.ipmi_session.broken:
            return command
    # Outside the lock: a login to a silent BMC blocks for seconds.
    command = pyghmi_command.Command(
        bmc=ep.host, userid=ep.username, password=ep.password, port=ep.port
    )
    with _SESSIONS_LOCK:
        _SESSIONS[_key(ep)] = command
    return command


def _forget(ep: IpmiEndpoint) -> None:
    with _SESSIONS_LOCK:
        _SESSIONS.pop(_key(ep), None)
