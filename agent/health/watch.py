"""The health watch: one poller per device, thresholds, alarms and policy, composed.

Usage (the daemon's health part)::

    async with HealthWatch(config, bus) as watch:
        snapshot = watch.snapshot()          # for the MQTT birth message and the CLI
        async for action in watch.actions(): # degraded / shutdown / recovered
            ...

Each device's poller is a named task of the watch's TaskGroup (``health-poll-<id>``).
Per device and per ``[mqtt] telemetry_interval``, one ``telemetry.batch`` event (category
telemetry) carries all the readings of that cycle (`telemetry.TelemetryGate`; polling
itself runs at ``[health] interval``); alarm edges are ``alarm.raised`` / ``alarm.cleared`` events;
device state changes are ``device.state`` events. A device silent past ``stale_after``
raises a warning alarm, past ``lost_after`` a critical one whose action is ``degraded``
(``shutdown`` for a UPS last seen on battery: with no news from it, assume the worst, as
NUT's upsmon does with a dead UPS that was on battery).

A server whose every outlet the PDUs report off is *unpowered*: its BMC is silent because
nobody gave it power (power-up has not reached its group yet, or an operator powered it
down), so its silence raises no alarm and clears any it had. When one of its outlets is
reported on again, its poller restarts: the BMC gets its full ``stale_after`` from then.
The PDUs' own readings decide, and only until the PDU goes stale: a PDU that cannot be read
leaves its servers judged as powered (alarms on), never the other way round. A server
that answers while its outlets read off is powered whatever the PDU says (an outlet-state
column decoded wrongly must not silence every server's alarms); it is judged by the PDU
again once one of its outlets reads on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

from agent.bus import Bus
from agent.conf.schema import RackConfig
from agent.health.alarms import Action, AlarmBook, PolicyAction
from agent.health.inventory import open_readers
from agent.health.poller import Clock, DevicePoller, DeviceState, MonotonicClock, PollSettings
from agent.health.readers.base import Reader
from agent.health.sensors import Reading
from agent.health.telemetry import TelemetryGate
from agent.health.thresholds import Edge, Thresholds

log = logging.getLogger(__name__)
SOURCE = "health"


def poll_settings(config: RackConfig, device: str) -> PollSettings:
    """The rack's [health] settings, with a UPS's own dead_time as its lost_after."""
    h = config.health
    stale, lost = float(h.stale_after), float(h.lost_after)
    for ups in config.ups:
        if ups.id == device:
            lost = float(ups.dead_time)
            stale = min(stale, lost)
    interval = min(float(h.interval), stale)
    return PollSettings(
        interval=interval,
        timeout=float(h.timeout),
        stale_after=stale,
        lost_after=lost,
        jitter=h.jitter,
    )


def reading_payload(r: Reading) -> dict[str, Any]:
    """A reading as the telemetry batch carries it (device and time are the batch's)."""
    item: dict[str, Any] = {
        "sensor": r.sensor,
        "kind": r.kind,
        "unit": r.unit,
        "value": r.value,
        "status": r.status,
    }
    if r.detail:
        item["detail"] = r.detail
    return item


class HealthWatch:
    def __init__(
        self,
        config: RackConfig,
        bus: Bus,
        *,
        readers: Mapping[str, Reader] | None = None,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
        settings: Mapping[str, PollSettings] | None = None,
        rng: random.Random | None = None,
        telemetry_interval: float | None = None,
    ) -> None:
        self.config = config
        self.bus = bus
        self.clock: Clock = clock or MonotonicClock()
        self._wall = wall
        self._given_readers = readers
        self._settings = dict(settings or {})
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.thresholds = Thresholds(config.threshold)
        self.alarms = AlarmBook(bus, SOURCE, wall=wall)
        self.telemetry = TelemetryGate(
            float(config.mqtt.telemetry_interval)
            if telemetry_interval is None
            else telemetry_interval
        )
        self.readers: dict[str, Reader] = {}
        self.pollers: dict[str, DevicePoller] = {}
        self.last: dict[str, list[Reading]] = {}
        self._stack = AsyncExitStack()
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # server -> the (pdu, outlet) pairs that feed it; servers known to be unpowered.
        self._feeds = {srv.id: [(o.pdu, o.outlet) for o in srv.power] for srv in config.server}
        self.unpowered: set[str] = set()
        # Servers that answered while their outlets read off -> warned about it yet.
        self._contradicted: dict[str, bool] = {}
        self._feeding = {p for feeds in self._feeds.values() for p, _ in feeds}

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._stack.__aenter__()
        try:
            if self._given_readers is None:
                self.readers = await open_readers(self.config, self._stack)
            else:
                self.readers = dict(self._given_readers)
            for device, reader in self.readers.items():
                settings = self._settings.get(device) or poll_settings(self.config, device)
                self.pollers[device] = DevicePoller(
                    device,
                    self._poll_fn(reader),
                    settings,
                    on_result=self._on_result,
                    on_state=self._on_state,
                    clock=self.clock,
                    rng=random.Random(self._rng.random()),  # noqa: S311
                )
            for server, feeds in self._feeds.items():
                if feeds and server in self.pollers:
                    # Powered with the rack, or not yet: until its PDUs have said which,
                    # a silent BMC is not worth a warning before its stale_after.
                    self.pollers[server].expect_boot()
            self._tg = asyncio.TaskGroup()
            await self._tg.__aenter__()
        except BaseException:
            await self._stack.__aexit__(None, None, None)
            raise
        for device, poller in self.pollers.items():
            self._tasks.append(self._tg.create_task(poller.run(), name=f"health-poll-{device}"))
        log.info("health watch: %d pollers started", len(self.pollers))
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
            await self._stack.__aexit__(exc_type, exc, tb)

    def _poll_fn(self, reader: Reader) -> Callable[[], Any]:
        async def poll() -> list[Reading]:
            return await reader.read(self._wall())

        return poll

    # --- results -------------------------------------------------------------------------

    def _on_result(self, poller: DevicePoller, readings: list[Reading]) -> None:
        device = poller.device
        self.last[device] = readings
        now = self.clock.now()
        if device in self.unpowered and self._newer_than_its_pdus(poller):
            self._answered_unpowered(device)
        if device in self._feeding:
            self._follow_power(device, now, fresh=True)
        evaluate = self.thresholds.evaluate
        for r in readings:
            for edge in evaluate(r, now):
                self._alarm_edge(edge)
        if not self.telemetry.due(device, now):
            return
        ts = readings[0].ts if readings else self._wall()
        self.bus.emit(
            "telemetry.batch",
            SOURCE,
            "telemetry",
            device=device,
            ts=ts,
            state=poller.state,
            readings=[reading_payload(r) for r in readings],
        )

    def _alarm_edge(self, edge: Edge) -> None:
        r, rule = edge.reading, edge.threshold
        alarm_id = f"{r.device}:{r.sensor}:threshold{edge.rule}"
        word = "above" if rule.direction == "above" else "below"
        if edge.change == "raised":
            limit = f"{word} {rule.raise_at:g} {r.unit}"
            self.alarms.raise_alarm(
                alarm_id,
                device=r.device,
                sensor=r.sensor,
                kind=r.kind,
                value=r.value,
                severity=rule.severity,
                action=rule.action,
                message=f"{r.device} {r.sensor}: {r.kind} {r.value:g} {r.unit} is {limit}",
            )
        else:
            self.alarms.clear_alarm(
                alarm_id,
                value=r.value,
                message=f"{r.device} {r.sensor}: {r.kind} back to {r.value:g} {r.unit} "
                f"(clear level {rule.clear_at:g})",
            )

    def _on_state(self, poller: DevicePoller, old: DeviceState, new: DeviceState) -> None:
        device = poller.device
        self.bus.emit(
            "device.state",
            SOURCE,
            "event",
            device=device,
            old=old,
            new=new,
            error=poller.last_error,
            silent_s=round(poller.silent_for(), 3),
        )
        if device in self._feeding and new in ("stale", "lost"):
            # Its readings no longer count. (A PDU answering again is judged on its
            # fresh readings, in _on_result, not on those from before its silence.)
            self._follow_power(device, self.clock.now())
        stale_id, lost_id = f"{device}:state:stale", f"{device}:state:lost"
        if new in ("stale", "lost") and device in self.unpowered:
            return  # silent because every outlet feeding it is off: no alarm
        if new == "stale":
            self.alarms.raise_alarm(
                stale_id,
                device=device,
                sensor="state",
                kind="device_state",
                value=None,
                severity="warning",
                action="none",
                message=f"{device} is stale: silent for {poller.settings.stale_after:g} s "
                f"(last error: {poller.last_error})",
            )
        elif new == "lost":
            action: Action = "shutdown" if self._ups_on_battery(device) else "degraded"
            self.alarms.raise_alarm(
                lost_id,
                device=device,
                sensor="state",
                kind="device_state",
                value=None,
                severity="critical",
                action=action,
                message=f"{device} is lost: silent for {poller.settings.lost_after:g} s "
                f"(last error: {poller.last_error})",
            )
        elif new == "ok":
            for alarm_id in (stale_id, lost_id):
                self.alarms.clear_alarm(alarm_id, value=None, message=f"{device} answers again")

    # --- power of the servers ---------------------------------------------------------

    def _follow_power(self, pdu: str, now: float, *, fresh: bool = False) -> None:
        """After ``pdu`` reported (``fresh``) or changed state, update which of the
        servers it feeds are unpowered."""
        for server, feeds in self._feeds.items():
            if server not in self.pollers or not any(p == pdu for p, _ in feeds):
                continue
            states = [self._outlet_state(p, n) for p, n in feeds]
            unpowered = all(state == 0.0 for state in states)
            if server in self._contradicted:
                if any(state == 1.0 for state in states):
                    del self._contradicted[server]  # the PDU agrees now
                    continue
                # Off or unknown: the server's own answer still stands. A reading taken
                # after that answer that still says off is worth a warning, once.
                if (
                    fresh
                    and unpowered
                    and not self._contradicted[server]
                    and self._newer_than_the_server(pdu, server)
                ):
                    self._contradicted[server] = True
                    self._warn_contradiction(server)
                continue
            self.pollers[server].expected_silent = unpowered
            if unpowered and server not in self.unpowered:
                self.unpowered.add(server)
                self._power_event(server, powered=False)
                for alarm_id in (f"{server}:state:stale", f"{server}:state:lost"):
                    self.alarms.clear_alarm(
                        alarm_id, value=None, message=f"{server}: every outlet is off"
                    )
            elif not unpowered and server in self.unpowered:
                self.unpowered.discard(server)
                self._power_event(server, powered=True)
                self.pollers[server].restart(now)

    def _newer_than_its_pdus(self, server: DevicePoller) -> bool:
        """Whether the server's last poll started after every reading its PDUs gave (an
        answer to a poll sent before an outlet was cut says nothing about now)."""
        started = server.polls[-1].started if server.polls else server.started_at
        pdus = {p for p, _ in self._feeds[server.device] if p in self.pollers}
        readings = [self.pollers[p].last_success for p in pdus]
        return all(at is None or started >= at for at in readings)

    def _newer_than_the_server(self, pdu: str, server: str) -> bool:
        """Whether ``pdu``'s last poll started after the server last answered."""
        pdu_poller, srv = self.pollers[pdu], self.pollers[server]
        started = pdu_poller.polls[-1].started if pdu_poller.polls else pdu_poller.started_at
        return srv.state == "ok" and srv.last_success is not None and started > srv.last_success

    def _answered_unpowered(self, server: str) -> None:
        """The server answered: it has power, whatever the PDU said last."""
        self.unpowered.discard(server)
        self._contradicted[server] = False
        self.pollers[server].expected_silent = False
        self._power_event(server, powered=True)

    def _warn_contradiction(self, server: str) -> None:
        feeds = ", ".join(f"{p}/{n}" for p, n in self._feeds[server])
        log.warning(
            "%s answers although its outlets (%s) read off: judged powered; check the "
            "PDU's outlet-state column for this model and the config's power = [...]",
            server,
            feeds,
        )

    def _outlet_state(self, pdu: str, outlet: int) -> float | None:
        """1.0 on, 0.0 off, None when the PDU has not reported this outlet (yet) or has
        been silent past stale_after (what it said then is no longer news)."""
        poller = self.pollers.get(pdu)
        if poller is not None and poller.state in ("stale", "lost"):
            return None
        sensor = f"outlet/{outlet}/state"
        for r in self.last.get(pdu, []):
            if r.sensor == sensor and r.kind == "outlet_state":
                return r.value
        return None

    def _power_event(self, server: str, *, powered: bool) -> None:
        feeds = ", ".join(f"{p}/{n}" for p, n in self._feeds[server])
        log.info("%s: %s (outlets %s)", server, "powered" if powered else "unpowered", feeds)
        self.bus.emit("device.power", SOURCE, "event", device=server, powered=powered)

    def _ups_on_battery(self, device: str) -> bool:
        if not any(u.id == device for u in self.config.ups):
            return False
        return any(r.kind == "ups_on_battery" and r.value == 1.0 for r in self.last.get(device, []))

    async def poll_all(self) -> None:
        """Poll every device once now, all at once (for `cleanroom health --once` and
        tests); the scheduled polls go on as planned."""
        async with asyncio.TaskGroup() as tg:
            for device, poller in self.pollers.items():
                tg.create_task(poller.poll_once(), name=f"health-once-{device}")

    # --- views ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every device's state and last readings, and the active alarms (JSON-ready)."""
        now_mono, now_wall = self.clock.now(), self._wall()

        def wall_of(mono: float | None) -> float | None:
            return None if mono is None else now_wall - (now_mono - mono)

        devices = []
        for device, poller in self.pollers.items():
            devices.append(
                {
                    "device": device,
                    "state": poller.state,
                    "unpowered": device in self.unpowered,
                    "last_success": wall_of(poller.last_success),
                    "last_error": poller.last_error,
                    "last_error_at": wall_of(poller.last_error_at),
                    "silent_s": round(poller.silent_for(now_mono), 3),
                    "readings": [
                        {**reading_payload(r), "ts": r.ts} for r in self.last.get(device, [])
                    ],
                    # Per MIB table of the last poll: read, absent, empty or unreadable
                    # (readers that account for their tables: the PDU readers).
                    "tables": dict(getattr(self.readers.get(device), "last_tables", {}) or {}),
                }
            )
        return {
            "ts": now_wall,
            "level": self.alarms.level,
            "devices": devices,
            "alarms": [
                {
                    "id": a.id,
                    "device": a.device,
                    "sensor": a.sensor,
                    "kind": a.kind,
                    "value": a.value,
                    "severity": a.severity,
                    "action": a.action,
                    "message": a.message,
                    "raised_at": a.raised_at,
                    "acknowledged_by": self.alarms.acked.get(a.id, ("", 0.0))[0] or None,
                }
                for a in self.alarms.active()
            ],
        }

    def acknowledge(self, alarm_id: str, *, actor: str, reason: str) -> object:
        """An operator acknowledged an active alarm (audited; it stays active)."""
        return self.alarms.acknowledge(alarm_id, actor=actor, reason=reason)

    def actions(self) -> AsyncIterator[PolicyAction]:
        """Policy actions (degraded, shutdown, recovered) as they happen."""
        return self.alarms.actions()

    def on_action(self, listener: Callable[[PolicyAction], None]) -> None:
        self.alarms.on_action(listener)
