"""The switch objects the drivers and the survey read and write, each with its MIB name.

One table for every switch module (Q-BRIDGE driver, Cisco IOS driver, survey), so an
OID is written once and a report can name what it read (``NAMES``). Indexes:

- BRIDGE-MIB ``dot1dBasePortIfIndex.P``: bridge port P -> ifIndex.
- Q-BRIDGE-MIB static table ``.V`` (VlanIndex); current table ``.T.V`` (TimeMark,
  VlanIndex); ``dot1qPvid.P`` by bridge port.
- IF-MIB and CISCO-VLAN-MEMBERSHIP-MIB ``vmVlan`` by ifIndex;
  CISCO-VTP-MIB ``vlanTrunkPort*`` by ifIndex, ``vtpVlan*`` by (management domain, VLAN),
  the edit buffer ``vtpVlanEdit*`` by (management domain, VLAN), its control by domain.
"""

from __future__ import annotations

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"  # SNMPv2-MIB::sysObjectID.0

IF_DESCR = "1.3.6.1.2.1.2.2.1.2"  # IF-MIB::ifDescr
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"  # IF-MIB::ifAdminStatus (up 1, down 2)
IF_OPER = "1.3.6.1.2.1.2.2.1.8"  # IF-MIB::ifOperStatus
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"  # IF-MIB::ifName

BASE_PORT_IF_INDEX = "1.3.6.1.2.1.17.1.4.1.2"  # BRIDGE-MIB::dot1dBasePortIfIndex

_QBRIDGE = "1.3.6.1.2.1.17.7.1.4"
CURRENT_EGRESS = f"{_QBRIDGE}.2.1.4"  # Q-BRIDGE-MIB::dot1qVlanCurrentEgressPorts
CURRENT_UNTAGGED = f"{_QBRIDGE}.2.1.5"  # Q-BRIDGE-MIB::dot1qVlanCurrentUntaggedPorts
VLAN_STATIC = f"{_QBRIDGE}.3.1"  # Q-BRIDGE-MIB::dot1qVlanStaticEntry
STATIC_EGRESS = f"{VLAN_STATIC}.2"  # Q-BRIDGE-MIB::dot1qVlanStaticEgressPorts
STATIC_UNTAGGED = f"{VLAN_STATIC}.4"  # Q-BRIDGE-MIB::dot1qVlanStaticUntaggedPorts
STATIC_ROW_STATUS = f"{VLAN_STATIC}.5"  # Q-BRIDGE-MIB::dot1qVlanStaticRowStatus
PVID = f"{_QBRIDGE}.5.1.1"  # Q-BRIDGE-MIB::dot1qPvid
# Q-BRIDGE-MIB VlanIndex: 1..4094 are VLAN IDs (a dot1qPvid of 0 names no VLAN).
VLAN_MIN, VLAN_MAX = 1, 4094

_ENTITY = "1.3.6.1.2.1.47.1.1.1.1"  # ENTITY-MIB::entPhysicalEntry
ENT_CLASS = f"{_ENTITY}.5"  # ENTITY-MIB::entPhysicalClass (chassis 3)
ENT_FIRMWARE_REV = f"{_ENTITY}.9"  # ENTITY-MIB::entPhysicalFirmwareRev
ENT_SOFTWARE_REV = f"{_ENTITY}.10"  # ENTITY-MIB::entPhysicalSoftwareRev
ENT_SERIAL = f"{_ENTITY}.11"  # ENTITY-MIB::entPhysicalSerialNum
ENT_MODEL = f"{_ENTITY}.13"  # ENTITY-MIB::entPhysicalModelName
ENT_CHASSIS = 3

_VM = "1.3.6.1.4.1.9.9.68.1.2.2.1"  # CISCO-VLAN-MEMBERSHIP-MIB::vmMembershipEntry
VM_VLAN = f"{_VM}.2"  # CISCO-VLAN-MEMBERSHIP-MIB::vmVlan (read-write, by ifIndex)

_VTP = "1.3.6.1.4.1.9.9.46.1"  # CISCO-VTP-MIB::vtpMIBObjects
VTP_VLAN_STATE = f"{_VTP}.3.1.1.2"  # CISCO-VTP-MIB::vtpVlanState (operational 1)
VTP_EDIT_OPERATION = f"{_VTP}.4.1.1.1"  # CISCO-VTP-MIB::vtpVlanEditOperation
VTP_APPLY_STATUS = f"{_VTP}.4.1.1.2"  # CISCO-VTP-MIB::vtpVlanApplyStatus
VTP_EDIT_OWNER = f"{_VTP}.4.1.1.3"  # CISCO-VTP-MIB::vtpVlanEditBufferOwner
VTP_EDIT_TYPE = f"{_VTP}.4.2.1.3"  # CISCO-VTP-MIB::vtpVlanEditType (ethernet 1)
VTP_EDIT_NAME = f"{_VTP}.4.2.1.4"  # CISCO-VTP-MIB::vtpVlanEditName
VTP_EDIT_SAID = f"{_VTP}.4.2.1.6"  # CISCO-VTP-MIB::vtpVlanEditDot10Said
VTP_EDIT_ROW_STATUS = f"{_VTP}.4.2.1.11"  # CISCO-VTP-MIB::vtpVlanEditRowStatus
_TRUNK = f"{_VTP}.6.1.1"  # CISCO-VTP-MIB::vlanTrunkPortEntry
TRUNK_VLANS_ENABLED = f"{_TRUNK}.4"  # CISCO-VTP-MIB::vlanTrunkPortVlansEnabled (0..1023)
TRUNK_NATIVE_VLAN = f"{_TRUNK}.5"  # CISCO-VTP-MIB::vlanTrunkPortNativeVlan
TRUNK_DYNAMIC_STATUS = f"{_TRUNK}.14"  # CISCO-VTP-MIB::vlanTrunkPortDynamicStatus
TRUNK_VLANS_ENABLED_2K = f"{_TRUNK}.17"  # CISCO-VTP-MIB::vlanTrunkPortVlansEnabled2k
TRUNK_VLANS_ENABLED_3K = f"{_TRUNK}.18"  # CISCO-VTP-MIB::vlanTrunkPortVlansEnabled3k
TRUNK_VLANS_ENABLED_4K = f"{_TRUNK}.19"  # CISCO-VTP-MIB::vlanTrunkPortVlansEnabled4k
# The four trunk VLAN bitmaps and the first VLAN each covers (VLAN 0 is the MSB of the
# first octet of vlanTrunkPortVlansEnabled; the 2k/3k/4k strings start at 1024/2048/3072).
TRUNK_BITMAPS: tuple[tuple[str, int], ...] = (
    (TRUNK_VLANS_ENABLED, 0),
    (TRUNK_VLANS_ENABLED_2K, 1024),
    (TRUNK_VLANS_ENABLED_3K, 2048),
    (TRUNK_VLANS_ENABLED_4K, 3072),
)
TRUNKING = 1  # vlanTrunkPortDynamicStatus trunking(1), notTrunking(2)

NAMES: dict[str, str] = {
    SYS_OBJECT_ID: "SNMPv2-MIB::sysObjectID",
    IF_DESCR: "IF-MIB::ifDescr",
    IF_ADMIN: "IF-MIB::ifAdminStatus",
    IF_OPER: "IF-MIB::ifOperStatus",
    IF_NAME: "IF-MIB::ifName",
    BASE_PORT_IF_INDEX: "BRIDGE-MIB::dot1dBasePortIfIndex",
    CURRENT_EGRESS: "Q-BRIDGE-MIB::dot1qVlanCurrentEgressPorts",
    CURRENT_UNTAGGED: "Q-BRIDGE-MIB::dot1qVlanCurrentUntaggedPorts",
    STATIC_EGRESS: "Q-BRIDGE-MIB::dot1qVlanStaticEgressPorts",
    STATIC_UNTAGGED: "Q-BRIDGE-MIB::dot1qVlanStaticUntaggedPorts",
    STATIC_ROW_STATUS: "Q-BRIDGE-MIB::dot1qVlanStaticRowStatus",
    PVID: "Q-BRIDGE-MIB::dot1qPvid",
    ENT_CLASS: "ENTITY-MIB::entPhysicalClass",
    ENT_FIRMWARE_REV: "ENTITY-MIB::entPhysicalFirmwareRev",
    ENT_SOFTWARE_REV: "ENTITY-MIB::entPhysicalSoftwareRev",
    ENT_SERIAL: "ENTITY-MIB::entPhysicalSerialNum",
    ENT_MODEL: "ENTITY-MIB::entPhysicalModelName",
    VM_VLAN: "CISCO-VLAN-MEMBERSHIP-MIB::vmVlan",
    VTP_VLAN_STATE: "CISCO-VTP-MIB::vtpVlanState",
    VTP_EDIT_OPERATION: "CISCO-VTP-MIB::vtpVlanEditOperation",
    VTP_APPLY_STATUS: "CISCO-VTP-MIB::vtpVlanApplyStatus",
    VTP_EDIT_OWNER: "CISCO-VTP-MIB::vtpVlanEditBufferOwner",
    VTP_EDIT_TYPE: "CISCO-VTP-MIB::vtpVlanEditType",
    VTP_EDIT_NAME: "CISCO-VTP-MIB::vtpVlanEditName",
    VTP_EDIT_SAID: "CISCO-VTP-MIB::vtpVlanEditDot10Said",
    VTP_EDIT_ROW_STATUS: "CISCO-VTP-MIB::vtpVlanEditRowStatus",
    TRUNK_VLANS_ENABLED: "CISCO-VTP-MIB::vlanTrunkPortVlansEnabled",
    TRUNK_NATIVE_VLAN: "CISCO-VTP-MIB::vlanTrunkPortNativeVlan",
    TRUNK_DYNAMIC_STATUS: "CISCO-VTP-MIB::vlanTrunkPortDynamicStatus",
    TRUNK_VLANS_ENABLED_2K: "CISCO-VTP-MIB::vlanTrunkPortVlansEnabled2k",
    TRUNK_VLANS_ENABLED_3K: "CISCO-VTP-MIB::vlanTrunkPortVlansEnabled3k",
    TRUNK_VLANS_ENABLED_4K: "CISCO-VTP-MIB::vlanTrunkPortVlansEnabled4k",
}


def name_of(oid: str) -> str:
    """``MIB::object`` of a column or instance OID (the longest known prefix), else the OID."""
    best = ""
    for prefix in NAMES:
        if (oid == prefix or oid.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return NAMES[best] if best else oid


def index_of(oid: str, column: str) -> tuple[int, ...]:
    """The index of an instance OID under ``column`` (``column.1.5`` -> (1, 5))."""
    rest = oid[len(column) + 1 :]
    return tuple(int(part) for part in rest.split(".")) if rest else ()
