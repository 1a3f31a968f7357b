"""Does the running kernel have what the kernel_lab tests need?

Asked by trying, in a throwaway network namespace (``unshare --net``), exactly what the
tests do: a bridge with VLAN filtering, an 802.1Q device and a netem qdisc. Reading
/proc/config.gz would miss modules that are built but not loadable, and vice versa.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

_SCRIPT = (
    "ip link add b type bridge vlan_filtering 1 vlan_default_pvid 0"
    " && ip link add d type dummy"
    " && ip link add link d name d.5 type vlan id 5"
    " && tc qdisc add dev d root netem delay 1ms"
)


@functools.cache
def kernel_has_lab_features() -> bool:
    """True when bridge VLAN filtering, 8021q and netem all work here (needs root)."""
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("unshare", "ip", "tc")):
        return False
    try:
        probe = subprocess.run(
            ["unshare", "--net", "sh", "-c", _SCRIPT],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0
