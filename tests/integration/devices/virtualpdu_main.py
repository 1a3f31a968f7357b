"""Run OpenStack's virtualpdu with its no-op core; run by ``.venv-virtualpdu``'s Python.

virtualpdu's own entry point (``virtualpdu.main``) always builds its libvirt driver and
maps each configured outlet to a VM. The tests need no VM: its ``Core`` switches an
outlet that is mapped to no VM by recording the state alone (its own unit tests call
that the no-op case), so this script builds virtualpdu's ``Core`` with an empty mapping,
its ``APCRackPDU`` and its ``SNMPPDUHarness``, from a config file in virtualpdu's format
(``[global] outlet_default_state``; one section per PDU with ``listen_address``,
``listen_port``, ``community``, ``snmp_versions``) plus one key of ours per PDU,
``outlet_count``. It runs until it is terminated.

Usage: .venv-virtualpdu/bin/python virtualpdu_main.py CONFIG
"""

import configparser
import sys
import warnings

# pysnmp-lextudio 5 and asyncore warn on import about their own deprecation.
warnings.simplefilter("ignore", DeprecationWarning)

from virtualpdu import core  # type: ignore[import-not-found]  # noqa: E402
from virtualpdu.pdu import apc_rackpdu, pysnmp_handler  # type: ignore[import-not-found]  # noqa: E402


class NoDriver:
    """The driver slot of virtualpdu's Core. With no outlet mapped to a VM the core
    never calls it; if it ever did, the test should fail loudly, not power anything."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"virtualpdu called its driver ({name}) with no VM mapped")


def main(path: str) -> int:
    config = configparser.RawConfigParser()
    if not config.read(path):
        sys.stderr.write(f"{path}: cannot read the config file\n")
        return 2
    default = config.get("global", "outlet_default_state", fallback="ON").upper()
    states = {"ON": core.POWER_ON, "OFF": core.POWER_OFF}
    pdu_core = core.Core(driver=NoDriver(), mapping={}, store={}, default_state=states[default])
    harnesses = []
    for name in (s for s in config.sections() if s != "global"):
        section = config[name]
        pdu = apc_rackpdu.APCRackPDU(name, pdu_core, outlet_count=section.getint("outlet_count"))
        harnesses.append(
            pysnmp_handler.SNMPPDUHarness(
                pdu,
                section["listen_address"],
                section.getint("listen_port"),
                snmp_versions=[v.strip() for v in section.get("snmp_versions", "2c").split(",")],
                community=section["community"],
            )
        )
    for harness in harnesses:
        harness.start()
    print("virtualpdu: serving", flush=True)
    for harness in harnesses:
        harness.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
