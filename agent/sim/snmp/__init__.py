"""SNMP device simulators: switched PDUs, a top-of-rack switch (Q-BRIDGE, or Cisco IOS),
a UPS and recorded devices, served over real UDP by pysnmp, with fault injection and a SET log.

Independent of the agent's drivers on purpose: nothing here imports agent.power,
agent.network, agent.health or agent.adapters.
"""

from agent.sim.snmp.faults import Faults, SimCredentials
from agent.sim.snmp.pdu import PduModel, PduSpec
from agent.sim.snmp.rack import SimulatedRack
from agent.sim.snmp.recording import RecordedDevice, RecordingSpec, parse_snmprec, record
from agent.sim.snmp.scenario import FaultStep, load_scenario, parse_steps
from agent.sim.snmp.setlog import SetLog, SetLogEntry
from agent.sim.snmp.switch import PortState, SwitchModel, SwitchSpec
from agent.sim.snmp.switch_cisco import CiscoSwitchModel, CiscoSwitchSpec
from agent.sim.snmp.ups import UpsModel, UpsSpec

__all__ = [
    "CiscoSwitchModel",
    "CiscoSwitchSpec",
    "FaultStep",
    "Faults",
    "PduModel",
    "PduSpec",
    "PortState",
    "RecordedDevice",
    "RecordingSpec",
    "SetLog",
    "SetLogEntry",
    "SimCredentials",
    "SimulatedRack",
    "SwitchModel",
    "SwitchSpec",
    "UpsModel",
    "UpsSpec",
    "load_scenario",
    "parse_snmprec",
    "parse_steps",
    "record",
]
