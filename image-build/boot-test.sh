#!/usr/bin/env bash
# Boot the built controller image under qemu (software emulation, no network) and check,
# from the serial console, that the appliance does what a rack arrival needs:
#
#   1. the image's signature and artifact digests verify (we boot the signed bits);
#   2. systemd starts cleanroom-agent.service and reports it "Started": the unit is
#      Type=notify, so that line only appears after the agent sent READY=1;
#   3. (unless --no-expect-operational) the agent logs "lifecycle state: operational";
#   4. (training images, unless --no-expect-sim) the simulated rack started and stayed up;
#   5. the agent stays up for --soak seconds, longer than WatchdogSec, with no watchdog
#      timeout and no crash (so the watchdog is fed under the real sandbox: seccomp,
#      MemoryDenyWriteExecute, read-only root);
#   6. an ACPI power-button press (QEMU monitor `system_powerdown`, handled by logind)
#      stops the agent cleanly ("Deactivated successfully", not "Failed") and the machine
#      powers off ("reboot: Power down") within --stop-timeout.
#
#   image-build/boot-test.sh [--image-dir DIR] [--boot-timeout S] [--soak S]
#       [--stop-timeout S] [--expect-operational | --no-expect-operational]
#       [--expect-sim | --no-expect-sim] [--console-log FILE] [--keep-var]
#
# The serial console is kept in DIR/boot-test-console.log unless --console-log says where.
# --keep-var keeps the guest's /var disk as DIR/boot-test-var.ext4: read the agent's store,
# reports and journal with `debugfs -R "rdump /log/journal out/" DIR/boot-test-var.ext4`
# and `journalctl --directory=out/journal/*`.
#
# Exit 0 when every check passed; 1 with the failed check and the console's relevant lines.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
PY=${PYTHON:-$REPO/.venv/bin/python}
IMAGE_DIR=$HERE/out/training
BOOT_TIMEOUT=420
SOAK=40
STOP_TIMEOUT=120
# The agent's lifecycle logs "lifecycle state: operational" once the restore runbook is
# done; --no-expect-operational stops at READY (e.g. a site config without a runbook).
EXPECT_OPERATIONAL=1
EXPECT_SIM=auto
CONSOLE_LOG=""
KEEP_VAR=0

die() { echo "boot-test: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --image-dir) IMAGE_DIR=$(realpath "$2"); shift ;;
        --boot-timeout) BOOT_TIMEOUT=$2; shift ;;
        --soak) SOAK=$2; shift ;;
        --stop-timeout) STOP_TIMEOUT=$2; shift ;;
        --expect-operational) EXPECT_OPERATIONAL=1 ;;
        --no-expect-operational) EXPECT_OPERATIONAL=0 ;;
        --expect-sim) EXPECT_SIM=1 ;;
        --no-expect-sim) EXPECT_SIM=0 ;;
        --console-log) CONSOLE_LOG=$(realpath -m "$2"); shift ;;
        --keep-var) KEEP_VAR=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done

QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found: apt-get install qemu-system-x86"
for artifact in vmlinuz initrd.img root.ext4 var.ext4 MANIFEST cleanroom-image-version; do
    [ -f "$IMAGE_DIR/$artifact" ] || die "$IMAGE_DIR/$artifact missing: build the image first (image-build/build.sh --training)"
done
VARIANT=$(sed -n 's/^IMAGE_VARIANT=//p' "$IMAGE_DIR/cleanroom-image-version")
if [ "$EXPECT_SIM" = auto ]; then
    EXPECT_SIM=0; [ "$VARIANT" = training ] && EXPECT_SIM=1
fi

SCRATCH=$(mktemp -d /tmp/cleanroom-boot-test.XXXXXX)
# Kept after the run (pass or fail) next to the image, for reading what the agent logged.
LOG=${CONSOLE_LOG:-$IMAGE_DIR/boot-test-console.log}
MONITOR=$SCRATCH/monitor.sock
QEMU_PID=""
cleanup() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then kill "$QEMU_PID"; fi
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

echo "boot-test: verifying the signed manifest of $IMAGE_DIR"
"$PY" "$HERE/verify_manifest.py" "$IMAGE_DIR/MANIFEST"

# The root disk is attached read-only: the appliance must boot without ever writing it.
# /var gets a scratch copy, so every test run starts from the image's first-boot state.
VAR_DISK=$SCRATCH/var.ext4
if [ "$KEEP_VAR" = 1 ]; then VAR_DISK=$IMAGE_DIR/boot-test-var.ext4; fi
cp --sparse=always "$IMAGE_DIR/var.ext4" "$VAR_DISK"
: > "$LOG"
START=$(date +%s.%N)
"$QEMU" -accel tcg -machine q35 -m 1024 -smp 2 -display none -nographic -no-reboot \
    -kernel "$IMAGE_DIR/vmlinuz" -initrd "$IMAGE_DIR/initrd.img" \
    -append "root=LABEL=cleanroom-root ro console=ttyS0 panic=-1" \
    -drive "file=$IMAGE_DIR/root.ext4,format=raw,if=virtio,readonly=on" \
    -drive "file=$VAR_DISK,format=raw,if=virtio" \
    -nic none -serial "file:$LOG" -monitor "unix:$MONITOR,server,nowait" \
    > "$SCRATCH/qemu.out" 2>&1 &
QEMU_PID=$!

since() { awk -v now="$(date +%s.%N)" -v then="$1" 'BEGIN { printf "%.1f", now - then }'; }
elapsed() { since "$START"; }
# The guest's own clock for a console line: the kernel-style "[   53.265688]" prefix.
guest_time() { grep -a -m1 -E -- "$1" "$LOG" | sed -n 's/^.*\[ *\([0-9]*\.[0-9]*\)\] .*/\1/p'; }
fail() {
    echo "boot-test: FAIL: $*" >&2
    echo "---- console lines about the agent, the simulator and failures ($LOG) ----" >&2
    grep -a -E 'cleanroom|Failed|failed|Watchdog|panic|Power down' "$LOG" | tail -40 >&2 || true
    echo "---- whole console: $LOG ----" >&2
    exit 1
}
# wait_for SECONDS PATTERN WHAT [FATAL_PATTERN]: poll the console until PATTERN shows up.
wait_for() {
    local deadline=$(( $(date +%s) + $1 ))
    while ! grep -a -q -E -- "$2" "$LOG"; do
        if [ -n "${4:-}" ] && grep -a -q -E -- "$4" "$LOG"; then
            fail "$3: saw '$(grep -a -m1 -E -- "$4" "$LOG")' first"
        fi
        kill -0 "$QEMU_PID" 2>/dev/null || fail "$3: qemu exited: $(cat "$SCRATCH/qemu.out")"
        [ "$(date +%s)" -lt "$deadline" ] || fail "$3: not seen within $1 s"
        sleep 0.5
    done
    printf 'boot-test: ok   %-42s host %6ss  guest %8ss\n' "$3" "$(elapsed)" "$(guest_time "$2")"
}

AGENT_CRASH='cleanroom-agent.service: (Main process exited|Failed with result|Watchdog timeout)'
SIM_CRASH='cleanroom-sim.service: (Main process exited|Failed with result)'
wait_for "$BOOT_TIMEOUT" '\] Linux version' "kernel started"
wait_for "$BOOT_TIMEOUT" 'systemd\[1\]: Hostname set to' "systemd running from the read-only root"
wait_for "$BOOT_TIMEOUT" 'systemd\[1\]: Started cleanroom-agent.service' "agent READY (Type=notify Started)" "$AGENT_CRASH"
if [ "$EXPECT_OPERATIONAL" = 1 ]; then
    wait_for "$BOOT_TIMEOUT" 'lifecycle state: operational' "agent operational" "$AGENT_CRASH"
fi
if [ "$EXPECT_SIM" = 1 ]; then
    wait_for "$BOOT_TIMEOUT" 'systemd\[1\]: Started cleanroom-sim.service' "simulated rack started" "$SIM_CRASH"
fi

# Longer than WatchdogSec=30s: a loop that stops pinging, or a sandbox option that kills a
# later code path, shows up here.
SOAK_END=$(( $(date +%s) + SOAK ))
while [ "$(date +%s)" -lt "$SOAK_END" ]; do
    if grep -a -q -E -- "$AGENT_CRASH" "$LOG"; then fail "agent died during the ${SOAK}s soak"; fi
    if [ "$EXPECT_SIM" = 1 ] && grep -a -q -E -- "$SIM_CRASH" "$LOG"; then fail "simulated rack died during the soak"; fi
    kill -0 "$QEMU_PID" 2>/dev/null || fail "qemu exited during the soak"
    sleep 1
done
printf 'boot-test: ok   %-42s host %6ss\n' "agent stayed up ${SOAK}s (watchdog fed)" "$(elapsed)"

# The ACPI power button: logind (HandlePowerKey=poweroff) starts an orderly shutdown.
POWERDOWN_AT=$(date +%s.%N)
"$PY" - "$MONITOR" <<'EOF'
import socket, sys, time
with socket.socket(socket.AF_UNIX) as monitor:
    monitor.connect(sys.argv[1])
    monitor.recv(4096)  # the banner and prompt
    monitor.sendall(b"system_powerdown\n")
    time.sleep(0.5)
EOF
wait_for "$STOP_TIMEOUT" 'Power key pressed' "power button seen by logind"
wait_for "$STOP_TIMEOUT" 'systemd\[1\]: Stopped cleanroom-agent.service' "agent stopped" 'cleanroom-agent.service: Failed with result'
grep -a -q 'cleanroom-agent.service: Deactivated successfully' "$LOG" || fail "agent did not exit cleanly on SIGTERM"
wait_for "$STOP_TIMEOUT" 'reboot: Power down' "machine powered off"
for _ in $(seq 1 "$STOP_TIMEOUT"); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 1; done
kill -0 "$QEMU_PID" 2>/dev/null && fail "qemu still running after the guest powered off"
wait "$QEMU_PID" || fail "qemu exited with status $?: $(cat "$SCRATCH/qemu.out")"
QEMU_PID=""

printf 'boot-test: PASS (%s image, %s): READY at guest %ss, power-off took %ss host time, %ss in all\n' \
    "$VARIANT" "$(sed -n 's/^IMAGE_VERSION=//p' "$IMAGE_DIR/cleanroom-image-version")" \
    "$(guest_time 'systemd\[1\]: Started cleanroom-agent.service')" \
    "$(since "$POWERDOWN_AT")" "$(elapsed)"
