"""Who made a device, from the enterprise number of its sysObjectID.

IANA's Private Enterprise Numbers (1.3.6.1.4.1.<number>) of the makers seen in racks
and in the snmpsim-data recordings of real devices. The name is what an operator reads
on the device's label; where a brand was bought (Trapeze by Juniper, Liebert by
Vertiv), the name is the current one. A number that is not here names no vendor: the
probe then shows the number itself.
"""

from __future__ import annotations

ENTERPRISES: dict[int, str] = {
    9: "Cisco",
    11: "HPE",  # Hewlett-Packard's number, kept by HPE (ProCurve, Aruba switches)
    171: "D-Link",
    318: "APC",
    476: "Vertiv",  # Liebert (Emerson, now Vertiv)
    534: "Eaton",
    674: "Dell",
    705: "Eaton",  # MGE UPS Systems, bought by Eaton
    850: "Tripp Lite",
    890: "Zyxel",
    935: "Phoenixtec",
    1588: "Brocade",
    1718: "Server Technology",
    1991: "Brocade",  # Foundry Networks, bought by Brocade (ICX switches)
    2011: "Huawei",
    2468: "Ingrasys",
    2636: "Juniper",
    3320: "BDCOM",
    3808: "CyberPower",
    3902: "ZTE",
    4526: "Netgear",
    4881: "Ruijie",
    5651: "Maipu",
    6339: "Digital China",
    8072: "net-snmp",
    9304: "CTS",
    13400: "Emerson Network Power",
    13742: "Raritan",
    14525: "Juniper",  # Trapeze Networks, bought by Juniper (wireless controllers)
    14823: "Aruba",
    21239: "Geist",  # Geist, now Vertiv's: GEIST-V5-MIB and its successors
    25506: "H3C",
    30065: "Arista",
    31034: "Schleifenbauer",
    31648: "DPtech",
    38616: "Metel",
    40614: "EAST",
    47196: "HPE Aruba",
}
_PREFIX = "1.3.6.1.4.1."


def enterprise_of(sys_object_id: str) -> int | None:
    """The enterprise number of a sysObjectID, None when it is not under enterprises."""
    oid = sys_object_id.strip(".")
    if not oid.startswith(_PREFIX):
        return None
    head = oid[len(_PREFIX) :].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def vendor_of(sys_object_id: str) -> str:
    """The maker named by the sysObjectID's enterprise number, "" when not in the table."""
    enterprise = enterprise_of(sys_object_id)
    return ENTERPRISES.get(enterprise, "") if enterprise is not None else ""
