"""A small simulated rack for the health tests: three PDUs of three vendors, a switch, a
UPS (all SNMP over real UDP) and a Redfish BMC (real HTTP), plus the rack config that
points at them."""

from __future__ import annotations

from dataclasses import dataclass

from agent.conf import RackConfig, parse_config
from agent.sim.redfish import RedfishBmcSim
from agent.sim.snmp import PduSpec, SimulatedRack, SwitchSpec, UpsSpec

PDUS = {"pdu-a": "apc_rpdu2", "pdu-b": "raritan_pdu2", "pdu-c": "eaton_epdu"}
# One poll per test step: the tests call poll_once() themselves.
DEFAULT_HEALTH = 'interval = "1h"\nstale_after = "1h"\nlost_after = "2h"\ntimeout = "2s"'
MODELS = {"pdu-a": "AP8941", "pdu-b": "PX3-5190R", "pdu-c": "EMAB03"}


def specs(apc_firmware: str = "") -> list[PduSpec | SwitchSpec | UpsSpec]:
    pdus: list[PduSpec | SwitchSpec | UpsSpec] = [
        PduSpec(
            device,
            family,
            outlets=8,
            loads_w={2: 460.0, 3: 230.0},
            initial={2: True},
            ramp_s=0.0,
            firmware=apc_firmware if family == "apc_rpdu2" else "",
        )
        for device, family in PDUS.items()
    ]
    return [*pdus, SwitchSpec("tor-1", ports=8, connected={1, 2}), UpsSpec("ups-1")]


def rack_toml(
    rack: SimulatedRack,
    bmc: RedfishBmcSim | None,
    *,
    health: str = "",
    thresholds: str = "",
    policy: str = "block",
    server_power: str = "",
) -> str:
    def port(device: str) -> int:
        return rack.endpoint(device)[1]

    pdus = "".join(
        f'[[pdu]]\nid = "{d}"\nhost = "127.0.0.1"\nsnmp_port = {port(d)}\ncredentials = "sim"\n'
        f'model = "{MODELS[d]}"\noutlets = 8\ninlet_budget_w = 3680\n\n'
        for d in PDUS
    )
    server = ""
    if bmc is not None:
        server = (
            '[[server]]\nid = "srv-1"\nmodel = "SimServer R1"\nnominal_w = 300\n'
            f'bmc = {{ kind = "redfish", host = "127.0.0.1", port = {bmc.port}, '
            'scheme = "http", username = "admin", password = "password" }\n'
            f"{server_power}\n"
        )
    return f"""
[rack]
id = "health-test"
site = "lab"

[vlans]
management = 10
clean = 20
quarantine = 999
drill = 30
uplink = 100

[store]
path = "/tmp"

[credentials.sim]
version = "2c"
community = "public"
timeout = "300ms"
retries = 0

{pdus}
[[ups]]
id = "ups-1"
host = "127.0.0.1"
snmp_port = {port("ups-1")}
credentials = "sim"
model = "9PX 3000i RT2U"
budget_w = 3000
dead_time = "2s"

[[switch]]
id = "tor-1"
host = "127.0.0.1"
snmp_port = {port("tor-1")}
credentials = "sim"
model = "SIM-TOR-24X"
port_count = 8

{server}
[health]
{health or DEFAULT_HEALTH}

{thresholds}

[policy]
firmware = "{policy}"
"""


@dataclass
class Lab:
    rack: SimulatedRack
    bmc: RedfishBmcSim

    def config(self, **kwargs: str) -> RackConfig:
        return parse_config(rack_toml(self.rack, self.bmc, **kwargs))
