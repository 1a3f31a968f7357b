"""The agent's footprint on the controller, against references measured in the same run.

- Start-up: wall time from exec of ``cleanroom run --config <demo rack>`` to ``READY=1`` on
  a NOTIFY_SOCKET this script owns (the moment systemd would report the unit Started),
  next to the bare interpreter's ``python -c pass`` (same interpreter, same spawn path).
- Memory: the agent's steady VmRSS, ``--settle`` seconds after READY (150 by default: the
  demo rack is operational within about 15 s and the agent's bounded histories, outbox
  and SQLite cache are full within about 2 minutes; watchdog pings on, the simulated rack
  answering if ``cleanroom sim`` exists), with samples on the way, next to mosquitto's
  and snmpd's VmRSS started in the same run.

The agent's own modules are byte-compiled first (``compileall``), as the image ships them
(``image-build/build.sh`` compiles the venv) and as pip compiled the venv's packages: with
``PYTHONDONTWRITEBYTECODE=1`` (set on build machines and in the unit), an uncompiled
checkout would be timed compiling itself at every start.

Prints medians and ratios, asserts nothing about time. The demo config is copied into a
scratch tree that mirrors the checkout with symlinks, so every relative path in it
resolves as in the repository while the store (``../var/...``) lands in the scratch tree:
no config rewriting, whatever keys the config grows. As root, the simulator and the agent
run in a throw-away network namespace so that the agent's netlink changes never touch the
host.

Usage: python tests/bench/bench_footprint.py [--runs N] [--settle SECONDS] [--config FILE]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

from agent.sim.testing import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
READY_TIMEOUT = 60.0


def cleanroom_command() -> list[str]:
    script = VENV_BIN / "cleanroom"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from agent.cli import main; sys.exit(main())"]


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line: is {pid} a zombie?")


def mirror_checkout(config: Path, scratch: Path) -> Path:
    """A tree where config's relative paths resolve as in the repo, state stays in scratch."""
    try:
        relative = config.resolve().relative_to(REPO)
    except ValueError:
        raise SystemExit(f"--config {config}: must be inside the checkout {REPO}") from None
    parsed = tomllib.loads(config.read_text())
    store = str(parsed.get("store", {}).get("path", ""))
    if store.startswith("/"):
        raise SystemExit(
            f"{config}: [store] path {store!r} is absolute; the bench would write there. "
            "Use a config whose store path is relative (like config/demo-rack.toml)."
        )
    root = scratch / "checkout"
    root.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {relative.parts[0], "var", ".git"}:
            (root / entry.name).symlink_to(entry)
    source_dir = REPO / relative.parent
    target_dir = root / relative.parent
    target_dir.mkdir(parents=True)
    for entry in source_dir.iterdir():
        if entry.name != config.name:
            (target_dir / entry.name).symlink_to(entry)
    shutil.copy(config, target_dir / config.name)
    return target_dir / config.name


def netns_prefix(name: str) -> list[str]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("note: not root (or no `ip`): agent runs in the host network namespace")
        return []
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return ["ip", "netns", "exec", name]


class NotifySocket:
    """The datagram socket systemd would own: collects sd_notify messages.

    A thread reads it all the time, as systemd does: a notify socket left unread blocks
    the sender once it holds net.unix.max_dgram_qlen (10) datagrams, and the agent's
    event loop with it (its watchdog pings alone fill that in under two minutes).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._arrivals: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="notify-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            arrived = time.perf_counter()
            message = data.decode(errors="replace")
            with self._changed:
                self.messages.append(message)
                self._arrivals.append((arrived, message))
                self._changed.notify_all()

    def wait_for(self, line: str, deadline: float, proc: subprocess.Popen[bytes]) -> float:
        """perf_counter() when a datagram holding ``line`` arrived."""
        seen = 0
        with self._changed:
            while True:
                for arrived, message in self._arrivals[seen:]:
                    if line in message.splitlines():
                        return arrived
                seen = len(self._arrivals)
                if proc.poll() is not None:
                    raise RuntimeError(f"agent exited with {proc.returncode} before {line}")
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"no {line} within {READY_TIMEOUT}s")
                self._changed.wait(min(remaining, 0.2))

    def drain(self) -> None:
        """Give the reader a moment for what the agent sent on its way out (STOPPING=1)."""
        time.sleep(0.3)

    def close(self) -> None:
        self._closed = True
        self._reader.join()
        self.sock.close()


def spawn_agent(
    prefix: list[str], config: Path, notify: NotifySocket, log: Path
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="30000000")
    env.pop("WATCHDOG_PID", None)
    with log.open("ab") as stream:
        return subprocess.Popen(
            [*prefix, *cleanroom_command(), "run", "--config", str(config)],
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen[bytes], what: str) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print(f"warning: {what} ignored SIGTERM for 30 s; killing it")
            proc.kill()
            proc.wait()
    return proc.returncode


def time_python(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return times


def time_agent(
    prefix: list[str], config: Path, scratch: Path, runs: int
) -> tuple[list[float], list[str]]:
    times = []
    problems = []
    for run in range(runs):
        log = scratch / f"agent-{run}.log"
        notify = NotifySocket(scratch / f"notify-{run}.sock")
        start = time.perf_counter()
        proc = spawn_agent(prefix, config, notify, log)
        try:
            ready = notify.wait_for("READY=1", start + READY_TIMEOUT, proc)
            times.append(ready - start)
        except (TimeoutError, RuntimeError) as exc:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"agent run {run}: {exc}\n--- agent output ---\n{tail}") from exc
        finally:
            code = stop(proc, "agent")
            notify.drain()
            notify.close()
        if code != 0:
            # The agent's own account of the failure: its log lines, not task stack dumps.
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln[:1].isdigit()]
            tail = "\n    ".join(lines[-8:])
            problems.append(f"run {run}: agent exited {code} on SIGTERM (want 0):\n    {tail}")
        if not any("STOPPING=1" in message.splitlines() for message in notify.messages):
            problems.append(f"run {run}: no STOPPING=1 before exit")
    return times, problems


@contextlib.contextmanager
def started(argv: Sequence[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as stream:
        proc = subprocess.Popen(list(argv), stdout=stream, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop(proc, argv[0])


def wait_tcp(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on 127.0.0.1:{port} within 10 s")


def reference_rss(scratch: Path, settle: float) -> dict[str, int]:
    """VmRSS (KiB) of a running mosquitto and snmpd, each settled like the agent."""
    rss: dict[str, int] = {}
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    mqtt_port = free_port(socket.SOCK_STREAM)
    (scratch / "mosquitto.conf").write_text(
        f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
    )
    (scratch / "snmpd.conf").write_text("rocommunity public 127.0.0.1\n")
    snmp_port = free_port(socket.SOCK_DGRAM)
    log = scratch / "references.log"
    if Path(mosquitto).exists():
        with started([mosquitto, "-c", str(scratch / "mosquitto.conf")], log) as proc:
            wait_tcp(mqtt_port, proc, "mosquitto")
            time.sleep(settle)
            rss["mosquitto"] = vm_rss_kib(proc.pid)
    else:
        print("note: mosquitto not installed (apt-get install mosquitto): no reference")
    if Path(snmpd).exists():
        argv = [snmpd, "-f", "-Lo", "-C", "-c", str(scratch / "snmpd.conf")]
        with started([*argv, f"udp:127.0.0.1:{snmp_port}"], log) as proc:
            time.sleep(settle)
            if proc.poll() is not None:
                raise SystemExit(f"snmpd exited with {proc.returncode}: see {log}")
            rss["snmpd"] = vm_rss_kib(proc.pid)
    else:
        print("note: snmpd not installed (apt-get install snmpd): no reference")
    return rss


def agent_rss(
    prefix: list[str], config: Path, scratch: Path, settle: float
) -> tuple[int, list[tuple[float, int]]]:
    """The agent's VmRSS ``settle`` seconds after READY (its steady state: the demo rack
    is operational within about 15 s, and the bounded histories, the outbox and SQLite's
    cache fill within about 2 minutes), and the samples taken every second on the way."""
    notify = NotifySocket(scratch / "notify-rss.sock")
    start = time.perf_counter()
    proc = spawn_agent(prefix, config, notify, scratch / "agent.log")
    samples: list[tuple[float, int]] = []
    try:
        ready = notify.wait_for("READY=1", start + READY_TIMEOUT, proc)
        while (elapsed := time.perf_counter() - ready) < settle:
            time.sleep(min(1.0, settle - elapsed))
            if proc.poll() is not None:
                raise SystemExit(f"agent exited with {proc.returncode} while settling")
            # With `ip netns exec` the pid is still the agent's: ip execs it in place.
            samples.append((time.perf_counter() - ready, vm_rss_kib(proc.pid)))
        if not samples:  # --settle 0: read once, right after READY
            samples.append((time.perf_counter() - ready, vm_rss_kib(proc.pid)))
        return samples[-1][1], samples
    finally:
        stop(proc, "agent")
        notify.close()


def has_sim() -> bool:
    result = subprocess.run(
        [*cleanroom_command(), "sim", "--help"], capture_output=True, check=False
    )
    return result.returncode == 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=5, help="start-ups to time (median)")
    parser.add_argument(
        "--settle", type=float, default=150.0, help="seconds after READY to read the RSS"
    )
    parser.add_argument("--config", type=Path, default=REPO / "config" / "demo-rack.toml")
    args = parser.parse_args(argv)

    if not compileall.compile_dir(REPO / "agent", quiet=1):
        raise SystemExit(f"compileall {REPO / 'agent'} failed: a module does not compile")
    netns = f"cleanroom-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="cleanroom-footprint-") as tmp:
        scratch = Path(tmp)
        config = mirror_checkout(args.config, scratch)
        prefix = netns_prefix(netns)
        try:
            sim_log = scratch / "sim.log"
            sim_argv = [*prefix, *cleanroom_command(), "sim", "--config", str(config)]
            with contextlib.ExitStack() as stack:
                if has_sim():
                    stack.enter_context(started(sim_argv, sim_log))
                    time.sleep(2)  # let the simulated devices bind their ports
                else:
                    print("note: no `cleanroom sim`: the agent runs without devices")
                python_times = time_python(args.runs)
                agent_times, problems = time_agent(prefix, config, scratch, args.runs)
                rss, samples = agent_rss(prefix, config, scratch, args.settle)
            references = reference_rss(scratch, min(args.settle, 5.0))
        finally:
            if prefix:
                subprocess.run(["ip", "netns", "delete", netns], check=False)

    py = statistics.median(python_times)
    agent = statistics.median(agent_times)
    print(f"start-up (median of {args.runs}, exec to exit / exec to READY=1):")
    print(f"  python -c pass          {py * 1000:8.1f} ms")
    print(f"  cleanroom run -> READY  {agent * 1000:8.1f} ms   {agent / py:6.1f}x python")
    print(f"steady VmRSS ({args.settle:.0f} s after READY / 5 s after start):")
    print(f"  cleanroom run           {rss / 1024:8.1f} MiB")
    marks = [s for s in samples if round(s[0]) in {1, 5, 15, 30, 60, 90, 120}]
    trail = ", ".join(f"{kib / 1024:.1f} at {t:.0f} s" for t, kib in marks)
    print(f"    on the way: {trail}")
    for name, kib in sorted(references.items()):
        print(f"  {name:<23} {kib / 1024:8.1f} MiB   agent is {rss / kib:6.1f}x {name}")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
