"""A flood of bad commands through a real broker: the audit chain keeps up to the rate
one entry per refusal and counts the rest, and every refusal is accounted for."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from agent.report import audit
from agent.report.payloads import Snapshot
from agent.report.refusal_limit import RefusalLimiter
from agent.report.reporter import ReportSettings
from agent.store import Store
from tests.integration.report.broker import Mosquitto
from tests.integration.report.report_helpers import BASE, keyring, make_reporter


class Clock:
    """A clock that moves only when the test says: it drives the limiter's refill."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def flood(port: int, count: int) -> None:
    """``count`` garbage messages on a command topic, from one mosquitto_pub (-l: one
    message per stdin line)."""
    proc = await asyncio.create_subprocess_exec(
        *["mosquitto_pub", "-V", "mqttv5", "-h", "127.0.0.1", "-p", str(port), "-q", "1"],
        *["-t", f"{BASE}/cmd/runbook.retry", "-l"],
        stdin=asyncio.subprocess.PIPE,
    )
    await proc.communicate(b"not a command\n" * count)
    assert proc.returncode == 0


async def until(what: str, check: Callable[[], bool]) -> None:
    try:
        async with asyncio.timeout(20):
            while not check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"no {what} within 20 s") from None


async def test_a_refusal_flood_is_audited_at_a_rate_and_counted_past_it(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    clock = Clock()
    async with Store(tmp_path / "s.db") as store:
        reporter = make_reporter(
            store,
            mosquitto.url,
            boot_id="boot-flood",
            keyring=keyring([]),
            status_provider=lambda: Snapshot(state="operational"),
            settings=ReportSettings(refusal_audit_burst=5, refusal_audit_per_minute=60),
        )
        # The bucket's clock, driven by the test (the agent's is time.monotonic).
        reporter.commands.limiter = RefusalLimiter(5, 60, clock=clock)

        async with reporter:
            async with asyncio.timeout(20):
                await reporter.wait_connected()
            await flood(mosquitto.port, 50)
            await until("50 refusals", lambda: reporter.commands.refused == 50)
            # The clock stands still: no token for a summary yet.
            await asyncio.sleep(0.3)
            first = await store.call(audit.read_entries)
            assert [e.action for e in first] == ["command.refused"] * 5
            clock.now += 1.0  # one token: the summary of the 45 goes out
            await until(
                "the first summary",
                lambda: reporter.commands.limiter.suppressed.count == 0,
            )
            await flood(mosquitto.port, 3)
            await until("53 refusals", lambda: reporter.commands.refused == 53)
        # Stopped with 3 refusals counted and no token: they are audited on the way out.
        entries = await store.call(audit.read_entries)
        report = await store.call(audit.verify)
    assert report.ok, report
    actions_seen = [e.action for e in entries]
    assert actions_seen == ["command.refused"] * 5 + ["command.refused.suppressed"] * 2
    counts = [e.detail for e in entries if e.action == "command.refused.suppressed"]
    assert [c["count"] for c in counts] == [45, 3]
    assert counts[0]["reasons"] == {"malformed": 45}
    assert counts[0]["keys"] == {"unknown": 45}  # garbage names no key
    assert all(e.detail["reason"] == "malformed" for e in entries[:5])
