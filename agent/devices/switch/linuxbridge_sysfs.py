"""What the kernel shows of bridges and VLAN devices in sysfs and procfs, for the parts
the netlink adapter does not ask for: a bridge's member interfaces, its ``vlan_filtering``
and ``default_pvid`` options (read and written), a link's operational state, and the
parent and VLAN id of an 802.1Q device.

These are the files iproute2's ``bridge`` and the old ``brctl`` read. They describe the
network namespace sysfs was mounted in (the controller's own), so everything here is for
the agent's namespace only. They are in-memory kernel files: reading them never blocks,
so they are read directly from the event loop. ``root`` is a parameter so the naming
rules can be tested against a folder laid out the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.errors import EnvironmentMissing, NegativeReply

SYSFS_NET = Path("/sys/class/net")
PROC_VLAN = Path("/proc/net/vlan")
_LAB_FIX = "run inside the kernel lab (tests/kernel_lab) or on Debian's kernel"


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    """A bridge's VLAN options; None when the kernel has no such option at all."""

    vlan_filtering: bool | None
    default_pvid: int | None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def is_bridge(bridge: str, root: Path = SYSFS_NET) -> bool:
    return (root / bridge / "bridge").is_dir()


def check_bridge(bridge: str, root: Path = SYSFS_NET) -> None:
    """Raise unless ``bridge`` exists in this namespace and is a bridge."""
    if not (root / bridge).exists():
        raise NegativeReply(
            f"bridge {bridge}",
            f"no interface {bridge!r} in the controller's namespace ({root}); create the "
            "bridge (systemd-networkd .netdev Kind=bridge) or fix switch[].bridge",
            status="ENODEV",
        )
    if not is_bridge(bridge, root):
        raise NegativeReply(
            f"bridge {bridge}",
            f"interface {bridge!r} is not a bridge ({root / bridge / 'bridge'} is missing); "
            "fix switch[].bridge to name the bridge itself",
            status="EINVAL",
        )


def bridge_members(bridge: str, root: Path = SYSFS_NET) -> list[str]:
    """Names of the interfaces enslaved to ``bridge`` (unsorted)."""
    check_bridge(bridge, root)
    return [entry.name for entry in (root / bridge / "brif").iterdir()]


def bridge_options(bridge: str, root: Path = SYSFS_NET) -> BridgeOptions:
    check_bridge(bridge, root)
    folder = root / bridge / "bridge"
    filtering = _read(folder / "vlan_filtering")
    pvid = _read(folder / "default_pvid")
    return BridgeOptions(
        vlan_filtering=None if filtering is None else filtering == "1",
        default_pvid=None if pvid is None else int(pvid),
    )


def write_bridge_option(bridge: str, option: str, value: int, root: Path = SYSFS_NET) -> None:
    """Write one bridge option (``vlan_filtering``, ``default_pvid``)."""
    path = root / bridge / "bridge" / option
    if not path.exists():
        raise EnvironmentMissing(
            f"bridge {bridge}: this kernel has no bridge option {option!r} ({path} is "
            f"missing: no CONFIG_BRIDGE_VLAN_FILTERING): {_LAB_FIX}"
        )
    try:
        path.write_text(f"{value}\n")
    except PermissionError as exc:
        raise EnvironmentMissing(
            f"bridge {bridge}: writing {option}={value} to {path}: permission denied; run "
            "as root or with CAP_NET_ADMIN"
        ) from exc
    except OSError as exc:
        raise NegativeReply(
            f"bridge {bridge}",
            f"the kernel refused {option}={value} ({exc.strerror}); see `dmesg` for why",
            status=str(exc.errno),
        ) from exc


def oper_up(ifname: str, root: Path = SYSFS_NET) -> bool | None:
    """True when the link is operationally up (carrier, IF_OPER_UP); None if unknown."""
    state = _read(root / ifname / "operstate")
    if state is None or state == "unknown":
        return None
    return state == "up"


def vlan_device(ifname: str, proc: Path = PROC_VLAN) -> tuple[str, int] | None:
    """(parent, VLAN id) of an 802.1Q device, from the 8021q module's /proc/net/vlan/<dev>
    (first line ``<dev>  VID: <vid>  ...``, and a ``Device: <parent>`` line); None when
    ``ifname`` is not a VLAN device."""
    text = _read(proc / ifname)
    if text is None:
        return None
    vid: int | None = None
    parent = ""
    for line in text.splitlines():
        words = line.split()
        if "VID:" in words:
            vid = int(words[words.index("VID:") + 1])
        if words[:1] == ["Device:"] and len(words) > 1:
            parent = words[1]
    if vid is None or not parent:
        return None
    return parent, vid
