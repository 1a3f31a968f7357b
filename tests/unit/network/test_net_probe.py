"""Which paths the traffic probe expects open, per phase, on the demo rack."""

from __future__ import annotations

from pathlib import Path

from agent.conf import load_config
from agent.network.plan import Layout
from agent.network.probe import HOSPITAL, expected_paths, host_ports

ROOT = Path(__file__).resolve().parents[3]
DEMO = load_config(ROOT / "config" / "demo-rack.toml")
HOSTS = host_ports(DEMO, "tor-1")


def test_hosts_are_the_devices_and_the_hospital() -> None:
    assert HOSTS == {"hv-1": 1, "hv-2": 2, "hv-3": 3, "stor-1": 4, "bkp-1": 5, HOSPITAL: 24}


def test_quarantine_hosts_see_each_other_but_never_the_hospital() -> None:
    paths = expected_paths(DEMO, Layout("quarantine"), "tor-1", HOSTS)
    assert paths[("hv-1", "hv-2")] is True  # both in quarantine: peers, nothing else
    assert not any(open_ for (s, d), open_ in paths.items() if HOSPITAL in (s, d))


def test_single_move_splits_clean_from_quarantine() -> None:
    layout = Layout("quarantine").enter("restore", ["hv-1", "hv-2"])
    paths = expected_paths(DEMO, layout, "tor-1", HOSTS)
    assert paths[("hv-1", "hv-2")] is True
    assert paths[("hv-1", "hv-3")] is False
    assert paths[("hv-3", "hv-1")] is False


def test_connected_still_bridges_nothing_to_the_hospital() -> None:
    paths = expected_paths(DEMO, Layout("connected"), "tor-1", HOSTS)
    assert paths[("hv-1", "stor-1")] is True
    assert paths[("hv-1", HOSPITAL)] is False
