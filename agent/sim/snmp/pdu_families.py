"""The PDU families the simulator speaks, by the name a PduSpec gives."""

from __future__ import annotations

import time
from collections.abc import Callable

from agent.sim.snmp import pdu_apc, pdu_eaton, pdu_raritan
from agent.sim.snmp.device import Clock
from agent.sim.snmp.pdu import PduModel, PduSpec
from agent.sim.snmp.setlog import SetLog

Builder = Callable[[PduSpec, SetLog, Clock], PduModel]

FAMILIES: dict[str, Builder] = {
    "apc_rpdu2": pdu_apc.build,
    "raritan_pdu2": pdu_raritan.build,
    "eaton_epdu": pdu_eaton.build,
}


def build_pdu(spec: PduSpec, set_log: SetLog, clock: Clock = time.monotonic) -> PduModel:
    try:
        builder = FAMILIES[spec.family]
    except KeyError:
        raise ValueError(
            f"PduSpec {spec.id!r}: family {spec.family!r} is not simulated; "
            f"use one of {sorted(FAMILIES)}"
        ) from None
    return builder(spec, set_log, clock)
