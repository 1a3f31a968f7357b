"""Device drivers, one layer below power/, network/ and health/.

A driver reads and writes one device family through the adapters and reports what it
found; it never decides policy. ``pdu/`` (switched and metered PDUs, as data per
family), ``ups`` (UPS-MIB and vendor UPS MIBs), ``bmc*`` (Redfish, IPMI), ``switch/``
(Q-BRIDGE, Cisco IOS, Linux bridge) and ``detect`` (which family a device is, by what
answers) are used by every part above them.
"""
