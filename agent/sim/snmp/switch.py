"""A top-of-rack switch: IF-MIB ports, BRIDGE-MIB port mapping, Q-BRIDGE-MIB VLANs and
ENTITY-SENSOR-MIB fans and temperature.

Bridge port P is interface ifIndex = if_index_base + P (1000 + P by default), so a driver
that confuses dot1qPvid's bridge-port index with an ifIndex reads or writes nothing.
Starts in the factory state the agent must fix: every port untagged in VLAN 1, PVID 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from agent.sim.snmp import portlist
from agent.sim.snmp.device import Clock, SimDevice
from agent.sim.snmp.faults import SimCredentials
from agent.sim.snmp.mib import SetError
from agent.sim.snmp.setlog import SetLog
from agent.sim.snmp.switch_mib import add_switch_objects

MAX_VLAN = 4094


@dataclass(frozen=True)
class SwitchSpec:
    id: str
    ports: int = 24
    model: str = "SIM-TOR-24X"
    firmware: str = "9.3(10)"
    serial: str = "SIMSW000001"
    connected: Collection[int] = frozenset()
    vlans: Mapping[int, str] = field(default_factory=lambda: {1: "default"})
    credentials: SimCredentials = field(default_factory=SimCredentials)
    if_index_base: int = 1000
    fans: int = 2
    temperature_c: float = 38.0
    sys_object_id: tuple[int, ...] = (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)  # netSnmpAgentOIDs.linux
    port: int = 0

    def __post_init__(self) -> None:
        where = f"SwitchSpec {self.id!r}"
        if not 1 <= self.ports <= 512:
            raise ValueError(f"{where}: ports={self.ports}, a switch has 1..512 ports")
        bad = sorted(p for p in self.connected if not 1 <= p <= self.ports)
        if bad:
            raise ValueError(f"{where}: connected ports {bad} outside 1..{self.ports}")
        if 1 not in self.vlans:
            raise ValueError(f"{where}: vlans must include the default VLAN 1")
        bad = sorted(vid for vid in self.vlans if not 1 <= vid <= MAX_VLAN)
        if bad:
            raise ValueError(f"{where}: VLAN ids {bad} outside 1..{MAX_VLAN}")


@dataclass
class Vlan:
    name: str
    egress: set[int]
    untagged: set[int]
    active: bool = True


@dataclass(frozen=True, slots=True)
class PortState:
    """What the observer sees of one port after a change."""

    port: int
    if_index: int
    admin_up: bool
    oper_up: bool
    pvid: int
    untagged: frozenset[int]
    tagged: frozenset[int]


VlanObserver = Callable[[dict[int, PortState]], None]


class VlanRefusedError(SetError):
    """A VLAN change the switch refuses, with the SNMP error-status it answers."""


class SwitchModel(SimDevice):
    kind = "switch"

    def __init__(self, spec: SwitchSpec, set_log: SetLog, clock: Clock = time.monotonic) -> None:
        super().__init__(
            spec.id,
            sys_descr=f"{spec.model} top-of-rack switch, software {spec.firmware}",
            sys_object_id=spec.sys_object_id,
            credentials=spec.credentials,
            set_log=set_log,
            clock=clock,
        )
        self.spec = spec
        ports = range(1, spec.ports + 1)
        self.vlans: dict[int, Vlan] = {
            vid: Vlan(name, set(ports) if vid == 1 else set(), set(ports) if vid == 1 else set())
            for vid, name in spec.vlans.items()
        }
        self.pvid = dict.fromkeys(ports, 1)
        self.admin_up = dict.fromkeys(ports, True)
        self.connected = set(spec.connected)
        self.alias = dict.fromkeys(ports, "")
        self.last_change = dict.fromkeys(ports, 0.0)
        self.fan_ok = dict.fromkeys(range(1, spec.fans + 1), True)
        self.forced: dict[str, float] = {}
        self._observers: list[VlanObserver] = []
        self._publish()

    def _publish(self) -> None:
        """Publish the model's MIB objects: IF-MIB, BRIDGE-MIB, Q-BRIDGE-MIB, ENTITY-MIB.
        A vendor model (switch_cisco) publishes its own MIBs over the same state."""
        add_switch_objects(self)

    # -- observation ----------------------------------------------------------------

    def if_index(self, port: int) -> int:
        return self.spec.if_index_base + port

    def oper_up(self, port: int) -> bool:
        return self.admin_up[port] and port in self.connected

    def port_states(self) -> dict[int, PortState]:
        out = {}
        for p in self.pvid:
            untagged = frozenset(
                v for v, vl in self.vlans.items() if vl.active and p in vl.untagged
            )
            egress = frozenset(v for v, vl in self.vlans.items() if vl.active and p in vl.egress)
            out[p] = PortState(
                p,
                self.if_index(p),
                self.admin_up[p],
                self.oper_up(p),
                self.pvid[p],
                untagged,
                egress - untagged,
            )
        return out

    def on_vlan_change(self, callback: VlanObserver) -> None:
        """Call `callback(port_states)` after every change of PVID, egress, untagged or
        admin status, whether made over SNMP or behind the agent's back."""
        self._observers.append(callback)

    def _changed(self) -> None:
        if not self._observers:
            return  # nobody to tell: the states of every port are not worth computing
        states = self.port_states()
        for callback in self._observers:
            callback(states)

    # -- changes (used by SNMP writes and by the drift fault) ---------------------------

    def _check_port(self, port: int) -> None:
        if port not in self.pvid:
            raise VlanRefusedError(
                "noCreation", f"{self.id}: port {port} does not exist (1..{self.spec.ports})"
            )

    def set_pvid(self, port: int, vid: int) -> None:
        self._check_port(port)
        if not 1 <= vid <= MAX_VLAN:
            raise VlanRefusedError("wrongValue", f"{self.id}: PVID {vid} outside 1..{MAX_VLAN}")
        if vid not in self.vlans or not self.vlans[vid].active:
            # Real switches refuse a PVID naming a VLAN that is not configured.
            raise VlanRefusedError(
                "inconsistentValue", f"{self.id}: VLAN {vid} does not exist; create it first"
            )
        self.pvid[port] = vid
        self._changed()

    def set_admin(self, port: int, up: bool) -> None:
        self._check_port(port)
        if self.admin_up[port] != up:
            self.admin_up[port] = up
            self.last_change[port] = self.uptime()
        self._changed()

    def connect(self, port: int, plugged: bool = True) -> None:
        """Plug or unplug the cable of a port (oper status follows)."""
        self._check_port(port)
        if plugged:
            self.connected.add(port)
        else:
            self.connected.discard(port)
        self.last_change[port] = self.uptime()

    def set_membership(
        self, vid: int, *, egress: set[int] | None = None, untagged: set[int] | None = None
    ) -> None:
        vlan = self.vlans.get(vid)
        if vlan is None:
            raise VlanRefusedError("noCreation", f"{self.id}: VLAN {vid} does not exist")
        for ports in (egress, untagged):
            bad = sorted(p for p in ports or () if p not in self.pvid)
            if bad:
                raise VlanRefusedError(
                    "wrongValue", f"{self.id}: VLAN {vid}: ports {bad} do not exist"
                )
        new_egress = set(vlan.egress if egress is None else egress)
        new_untagged = set(vlan.untagged if untagged is None else untagged)
        if egress is not None and untagged is None:
            new_untagged &= new_egress  # leaving the VLAN also leaves its untagged set
        if not new_untagged <= new_egress:
            raise VlanRefusedError(
                "inconsistentValue",
                f"{self.id}: VLAN {vid}: untagged ports {sorted(new_untagged - new_egress)} "
                "are not in the egress set; add them to the egress ports first",
            )
        vlan.egress, vlan.untagged = new_egress, new_untagged
        self._changed()

    def create_vlan(self, vid: int, name: str = "", *, active: bool = True) -> None:
        if not 1 <= vid <= MAX_VLAN:
            raise VlanRefusedError("noCreation", f"{self.id}: VLAN id {vid} outside 1..{MAX_VLAN}")
        if vid in self.vlans:
            raise VlanRefusedError("inconsistentValue", f"{self.id}: VLAN {vid} already exists")
        self.vlans[vid] = Vlan(name or f"VLAN{vid:04d}", set(), set(), active)
        self.rows_changed(vid)
        self._changed()

    def activate_vlan(self, vid: int) -> None:
        self.vlans[vid].active = True
        self._changed()

    def deactivate_vlan(self, vid: int) -> None:
        if any(pv == vid for pv in self.pvid.values()):
            raise VlanRefusedError("inconsistentValue", f"{self.id}: VLAN {vid} is a PVID in use")
        self.vlans[vid].active = False
        self._changed()

    def destroy_vlan(self, vid: int) -> None:
        if vid not in self.vlans:
            return  # RFC 2579: destroying a row that does not exist succeeds
        if vid == 1:
            raise VlanRefusedError("wrongValue", f"{self.id}: the default VLAN 1 cannot be deleted")
        users = sorted(p for p, pv in self.pvid.items() if pv == vid)
        if users:
            raise VlanRefusedError(
                "inconsistentValue",
                f"{self.id}: VLAN {vid} is the PVID of ports {users}; move them first",
            )
        del self.vlans[vid]
        self.rows_changed(vid)
        self._changed()

    def rows_changed(self, vid: int) -> None:
        """Replaced by switch_mib with the function that adds/removes the VLAN's rows."""

    # -- faults ---------------------------------------------------------------------

    def drift(
        self,
        *,
        pvid: Mapping[int, int] | None = None,
        vlan: int | None = None,
        egress: set[int] | None = None,
        untagged: set[int] | None = None,
    ) -> None:
        """Fault: change the VLAN config behind the agent's back (someone on the console)."""
        for port, vid in (pvid or {}).items():
            if vid not in self.vlans:
                self.create_vlan(vid)
            self.set_pvid(port, vid)
        if vlan is not None:
            if vlan not in self.vlans:
                self.create_vlan(vlan)
            self.set_membership(vlan, egress=egress, untagged=untagged)

    def fail_fan(self, fan: int, failed: bool = True) -> None:
        if fan not in self.fan_ok:
            raise ValueError(f"{self.id}: fan {fan} does not exist (1..{len(self.fan_ok)})")
        self.fan_ok[fan] = not failed

    def force_sensor(self, sensor: str, value: float) -> None:
        if sensor != "temperature":
            raise ValueError(f"{self.id}: no sensor {sensor!r}; a switch has 'temperature'")
        self.forced[sensor] = value

    def release_sensor(self, sensor: str) -> None:
        self.forced.pop(sensor, None)

    def temperature_c(self) -> float:
        return self.forced.get("temperature", self.spec.temperature_c)

    def portlist(self, ports: set[int]) -> bytes:
        return portlist.encode(ports, self.spec.ports)
