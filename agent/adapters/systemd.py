"""systemd integration: sd_notify and the journal. The only module importing systemd-python.

Outside systemd (no NOTIFY_SOCKET) notifications are no-ops and logs go to stderr, so the
same daemon runs in a terminal, under pytest and as a unit.
"""

from __future__ import annotations

import logging
import os
import sys


def notify(*lines: str) -> None:
    """Send sd_notify lines (``READY=1``, ``STATUS=...``, ``WATCHDOG=1``, ``STOPPING=1``)."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return
    import systemd.daemon  # noqa: PLC0415 - only needed under a service manager

    systemd.daemon.notify("\n".join(lines))


def watchdog_interval() -> float | None:
    """Seconds between the watchdog deadlines systemd set for us (WatchdogSec), or None.

    Read from WATCHDOG_USEC, honouring WATCHDOG_PID as sd_watchdog_enabled() does.
    """
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


def under_journal() -> bool:
    """True when our stderr is connected to the journal (systemd sets JOURNAL_STREAM)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        dev, ino = (int(part) for part in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def setup_logging(level: int = logging.INFO) -> None:
    """Journal with structured fields under systemd; human lines on stderr otherwise."""
    root = logging.getLogger()
    root.setLevel(level)
    # httpx logs every request at INFO: one line per Redfish poll would drown the journal.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if under_journal():
        from systemd.journal import JournalHandler  # noqa: PLC0415

        # Fields passed as `extra=` (DEVICE=, STATE=, ...) become journal fields.
        root.addHandler(JournalHandler(SYSLOG_IDENTIFIER="cleanroom-agent"))
        return
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root.addHandler(stderr)
