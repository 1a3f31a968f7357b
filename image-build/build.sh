#!/usr/bin/env bash
# Build the clean-room controller OS image: Debian 12 + the agent, read-only root, state on
# its own /var partition, signed SHA-256 manifest. Run as root (debootstrap, chroot, file
# ownership); no loop mounts are used, the file systems are written by `mkfs.ext4 -d`.
#
#   image-build/build.sh [--training] [--config FILE] [--config-data DIR]... [--overlay DIR]...
#                        [--var-size MiB] [--refresh-base] [--mirror URL] [--out DIR]
#
# Output in image-build/out/<variant>/ (variant: production, or training with --training):
#   root.ext4 var.ext4 vmlinuz initrd.img   the disks and the kernel qemu boots
#   MANIFEST MANIFEST.sig MANIFEST.pub.pem  signed SHA-256 manifest (verify_manifest.py)
#   cleanroom-image-version packages.txt requirements.lock build.log
#
# Signing key: $CLEANROOM_IMAGE_SIGNING_KEY (Ed25519 PEM) for a release; without it a
# development key is generated once in out/dev-signing-key.pem and the image says so.
# See image-build/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
OUT=$HERE/out
PY=${PYTHON:-$REPO/.venv/bin/python}
SUITE=bookworm
MIRROR=${CLEANROOM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
VARIANT=production
CONFIG=$REPO/config/demo-rack.toml
CONFIG_DATA=()
CONFIG_DATA_SET=0
OVERLAYS=()
VAR_SIZE_MIB=1024
REFRESH_BASE=0
# What the controller needs beyond debootstrap's minbase: init and device management, the
# kernel, dbus for logind (which powers off on the ACPI power button), Python for the
# venv, netlink tools for the operator, time sync (command expiry trusts the clock).
BASE_PACKAGES=systemd,systemd-sysv,udev,dbus,kmod,linux-image-amd64,python3,python3-venv,ca-certificates,iproute2,netbase,systemd-timesyncd

die() { echo "build.sh: $*" >&2; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
    case $1 in
        --training) VARIANT=training ;;
        --config) CONFIG=$(realpath "$2"); shift ;;
        --config-data) CONFIG_DATA+=("$(realpath "$2")"); CONFIG_DATA_SET=1; shift ;;
        --overlay) OVERLAYS+=("$(realpath "$2")"); shift ;;
        --var-size) VAR_SIZE_MIB=$2; shift ;;
        --refresh-base) REFRESH_BASE=1 ;;
        --mirror) MIRROR=$2; shift ;;
        --out) OUT=$(realpath -m "$2"); shift ;;
        -h|--help) usage 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; usage 2 ;;
    esac
    shift
done
# The demo config references its signed demo images relative to itself.
if [ "$CONFIG_DATA_SET" = 0 ] && [ "$CONFIG" = "$REPO/config/demo-rack.toml" ]; then
    CONFIG_DATA=("$REPO/config/demo/images")
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and file ownership need it): run it as root or with sudo"
for tool in debootstrap mkfs.ext4 debugfs chroot systemctl systemd-sysusers systemd-tmpfiles git tar; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install debootstrap e2fsprogs systemd git tar"
done
[ -x "$PY" ] || die "$PY not found: run 'make venv' first, or set PYTHON to a Python with pip and cryptography"
[ -f "$CONFIG" ] || die "rack config $CONFIG not found: pass --config FILE (default config/demo-rack.toml)"
if ! [[ $VAR_SIZE_MIB =~ ^[0-9]+$ ]] || [ "$VAR_SIZE_MIB" -lt 512 ]; then
    die "--var-size $VAR_SIZE_MIB: give MiB, at least 512 (journal cap 200M + store)"
fi

WORK=$OUT/$VARIANT
ROOTFS=$WORK/rootfs
VARFS=$WORK/varfs
mkdir -p "$WORK" "$OUT/cache/debs"
exec > >(tee "$WORK/build.log") 2>&1
START=$(date +%s)
step() { printf '== [%4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }

# Unmount whatever this build mounted in the chroot, on success and on failure alike.
cleanup() {
    for mnt in "$ROOTFS/proc" "$ROOTFS/dev"; do
        if mountpoint -q "$mnt" 2>/dev/null; then umount -l "$mnt"; fi
    done
}
trap cleanup EXIT
in_root() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root "$@"; }

# --- version ---------------------------------------------------------------------------
# Reproducibility: every time stamp in the image is the last commit's time, file system
# UUIDs are derived from the version, and the package set comes from a cached base tree.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct)}
AGENT_VERSION=$("$PY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$REPO/pyproject.toml")
GIT_COMMIT=$(git -C "$REPO" rev-parse HEAD)  # once: others may commit during the build
GIT_REV=${GIT_COMMIT:0:12}
DIRTY=""
if [ -n "$(git -C "$REPO" status --porcelain -- agent pyproject.toml systemd image-build config)" ]; then DIRTY=".dirty"; fi
IMAGE_VERSION="$AGENT_VERSION+g$GIT_REV$DIRTY"
if [ -n "${CLEANROOM_IMAGE_SIGNING_KEY:-}" ]; then
    SIGN_ARGS=(--key "$CLEANROOM_IMAGE_SIGNING_KEY"); SIGNING=release
else
    SIGN_ARGS=(--key "$OUT/dev-signing-key.pem" --dev); SIGNING=development
fi
step "cleanroom image $IMAGE_VERSION ($VARIANT, $SIGNING signing) from $CONFIG"

# --- 1. base system ---------------------------------------------------------------------
# debootstrap takes minutes; its result depends only on the suite and the package list,
# so it is kept as a tar (numeric owners, xattrs) and reused until --refresh-base.
BASE_KEY=$(printf '%s %s' "$SUITE" "$BASE_PACKAGES" | sha256sum | cut -c1-16)
BASE_TAR=$OUT/cache/base-$SUITE-$BASE_KEY.tar
if [ "$REFRESH_BASE" = 1 ] || [ ! -f "$BASE_TAR" ]; then
    step "debootstrap $SUITE from $MIRROR"
    rm -rf "$WORK/base"
    debootstrap --variant=minbase --cache-dir="$OUT/cache/debs" --include="$BASE_PACKAGES" \
        "$SUITE" "$WORK/base" "$MIRROR"
    tar --numeric-owner --xattrs -C "$WORK/base" -cf "$BASE_TAR.tmp" .
    mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf "$WORK/base"
fi
step "unpack base $(basename "$BASE_TAR")"
rm -rf "$ROOTFS" "$VARFS"
mkdir -p "$ROOTFS"
tar --numeric-owner --xattrs -C "$ROOTFS" -xpf "$BASE_TAR"

# --- 2. the agent -----------------------------------------------------------------------
# Wheels are built on the host with the dev venv's exact versions as constraints (what the
# tests ran against), then installed in the chroot with no index: the image cannot pick up
# a different version than the one tested, and systemd-python (sdist only) is compiled on
# the host against the same Debian 12 libsystemd, so the image needs no compiler.
step "build wheels (agent and dependencies, constrained to the tested versions)"
rm -rf "$WORK/wheels"
"$PY" -m pip freeze --exclude-editable > "$WORK/constraints.txt"
"$PY" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$WORK/wheels" \
    --constraint "$WORK/constraints.txt" "$REPO"
step "install the agent into /opt/cleanroom"
mount -t proc proc "$ROOTFS/proc"
in_root python3 -m venv /opt/cleanroom
cp -r "$WORK/wheels" "$ROOTFS/tmp/wheels"
in_root /opt/cleanroom/bin/pip install --quiet --no-index --no-cache-dir --disable-pip-version-check \
    --find-links /tmp/wheels cleanroom-agent=="$AGENT_VERSION"
in_root /opt/cleanroom/bin/pip freeze --disable-pip-version-check > "$WORK/requirements.lock"
cp "$WORK/requirements.lock" "$ROOTFS/opt/cleanroom/requirements.lock"
# The appliance never installs packages at run time: no pip or setuptools to abuse.
in_root /opt/cleanroom/bin/pip uninstall --quiet --yes pip setuptools
rm -rf "$ROOTFS/tmp/wheels"
# Ship bytecode: the root is read-only, so Python could never cache it at run time.
# unchecked-hash .pyc files are reproducible and are not re-validated against the sources
# at each import, which shortens the agent's start on the slow controller.
find "$ROOTFS/opt/cleanroom" -name __pycache__ -type d -prune -exec rm -rf {} +
in_root /opt/cleanroom/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/cleanroom/lib
umount "$ROOTFS/proc"

# --- 3. system integration --------------------------------------------------------------
step "units, users, directories, config"
install -m 0644 "$REPO/systemd/cleanroom-agent.service" "$ROOTFS/usr/lib/systemd/system/"
install -D -m 0644 "$REPO/systemd/sysusers.d/cleanroom.conf" "$ROOTFS/usr/lib/sysusers.d/cleanroom.conf"
install -D -m 0644 "$REPO/systemd/tmpfiles.d/cleanroom.conf" "$ROOTFS/usr/lib/tmpfiles.d/cleanroom.conf"
install -D -m 0644 "$REPO/README.md" "$ROOTFS/usr/share/doc/cleanroom-agent/README.md"
install -D -m 0644 "$REPO/systemd/README.md" "$ROOTFS/usr/share/doc/cleanroom-agent/systemd.md"
install -D -m 0644 "$REPO/systemd/cleanroom-agent.service.d/site-override.conf.example" \
    "$ROOTFS/usr/share/doc/cleanroom-agent/site-override.conf.example"
# The approved firmware baselines the self-test holds devices against (agent/health
# looks in /usr/share/cleanroom/firmware when not running from a checkout). Read-only and
# covered by the signed manifest, like the agent itself.
install -d -m 0755 "$ROOTFS/usr/share/cleanroom/firmware"
install -m 0644 "$REPO"/firmware/*.toml "$REPO"/firmware/README.md "$ROOTFS/usr/share/cleanroom/firmware/"
cp -r --no-preserve=ownership "$HERE/overlay/." "$ROOTFS/"
for overlay in "${OVERLAYS[@]}"; do
    step "site overlay $overlay"
    cp -r --no-preserve=ownership "$overlay/." "$ROOTFS/"
done
# The root is read-only at run time: every system user must exist in /etc already.
systemd-sysusers --root="$ROOTFS"
CLEANROOM_GID=$(awk -F: '$1 == "cleanroom" { print $3 }' "$ROOTFS/etc/group")
[ -n "$CLEANROOM_GID" ] || die "systemd-sysusers did not create group cleanroom in the image"

install -d -m 0750 -o 0 -g "$CLEANROOM_GID" "$ROOTFS/etc/cleanroom"
"$PY" "$HERE/install_config.py" "$CONFIG" "$ROOTFS/etc/cleanroom/rack.toml" \
    --set store.path=/var/lib/cleanroom/agent.db --set drill.report_dir=/var/log/cleanroom/drills
for data in "${CONFIG_DATA[@]}"; do
    relative=$(realpath --relative-to="$(dirname "$CONFIG")" "$data")
    case $relative in ../*) die "--config-data $data is not below the config's folder $(dirname "$CONFIG")" ;; esac
    mkdir -p "$ROOTFS/etc/cleanroom/$(dirname "$relative")"
    cp -r --no-preserve=ownership "$data" "$ROOTFS/etc/cleanroom/$relative"
done
chown -R 0:"$CLEANROOM_GID" "$ROOTFS/etc/cleanroom"
chmod -R u=rwX,g=rX,o= "$ROOTFS/etc/cleanroom"
in_root /opt/cleanroom/bin/cleanroom check-config /etc/cleanroom/rack.toml

systemd-tmpfiles --create --root="$ROOTFS" "$REPO/systemd/tmpfiles.d/cleanroom.conf"
systemctl --root="$ROOTFS" set-default multi-user.target
systemctl --root="$ROOTFS" enable cleanroom-agent.service systemd-networkd.service
if [ "$VARIANT" = training ]; then
    install -m 0644 "$REPO/systemd/cleanroom-sim.service" "$ROOTFS/usr/lib/systemd/system/"
    systemctl --root="$ROOTFS" enable cleanroom-sim.service
fi
# apt's timers would only fail on a read-only root: updates come as a new signed image.
systemctl --root="$ROOTFS" mask apt-daily.timer apt-daily-upgrade.timer

# --- 4. read-only root ------------------------------------------------------------------
step "read-only root, version, clean-up"
# Empty machine-id: systemd makes a transient one at boot on a read-only /etc (a copied
# image must not share one identity); under qemu/KVM it is taken from the VM's UUID.
: > "$ROOTFS/etc/machine-id"
ln -sf /etc/machine-id "$ROOTFS/var/lib/dbus/machine-id"
grep -q cleanroom-controller "$ROOTFS/etc/hosts" || printf '127.0.1.1\tcleanroom-controller\n' >> "$ROOTFS/etc/hosts"
cat > "$ROOTFS/etc/cleanroom-image-version" <<EOF
IMAGE_VERSION=$IMAGE_VERSION
IMAGE_VARIANT=$VARIANT
AGENT_VERSION=$AGENT_VERSION
GIT_COMMIT=$GIT_COMMIT$DIRTY
DEBIAN_SUITE=$SUITE
KERNEL=$(basename "$ROOTFS"/boot/vmlinuz-* | sed 's/^vmlinuz-//')
BUILD_DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
SIGNING=$SIGNING
EOF
cp "$ROOTFS/etc/cleanroom-image-version" "$WORK/cleanroom-image-version"
install -d -m 0755 "$ROOTFS/usr/share/cleanroom-image"
"$PY" "$HERE/sign_manifest.py" pubkey "${SIGN_ARGS[@]}" > "$ROOTFS/usr/share/cleanroom-image/signing-key.pub.pem"
dpkg-query --admindir="$ROOTFS/var/lib/dpkg" -W -f '${Package} ${Version} ${Architecture}\n' > "$WORK/packages.txt"
# Caches, package lists, man pages and docs (copyright files stay: they are the licences).
rm -rf "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/debconf/*-old \
    "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* "$ROOTFS"/tmp/* "$ROOTFS"/usr/share/man/* \
    "$ROOTFS"/boot/*.dpkg-bak "$ROOTFS"/boot/*.new
find "$ROOTFS/usr/share/doc" -type f ! -name copyright ! -path '*/cleanroom-agent/*' -delete
find "$ROOTFS/usr/share/doc" -type l -delete
# Kernel modules for hardware a rack controller does not have (sound, cameras and TV
# tuners, wireless, Bluetooth, InfiniBand, ISDN, industrial sensors, staging drivers):
# about 100 MiB less to ship, sign and verify. The initramfs was built before and holds
# none of them. Storage, network, USB and GPU (console) drivers stay.
KVER=$(basename "$ROOTFS"/usr/lib/modules/*)
for unneeded in sound drivers/media drivers/net/wireless net/wireless net/mac80211 \
    drivers/bluetooth net/bluetooth drivers/infiniband drivers/isdn drivers/iio drivers/staging; do
    rm -rf "$ROOTFS/usr/lib/modules/$KVER/kernel/$unneeded"
done
in_root depmod "$KVER"
# devtmpfs is mounted over /dev at boot: the nodes debootstrap made are dead weight.
find "$ROOTFS/dev" -mindepth 1 -delete
# One time stamp for everything (SOURCE_DATE_EPOCH), so the trees are byte-identical.
find "$ROOTFS" -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +

step "kernel and initramfs"
KERNELS=("$ROOTFS"/boot/vmlinuz-*)
if [ ${#KERNELS[@]} != 1 ] || [ ! -f "${KERNELS[0]}" ]; then
    die "expected one kernel in $ROOTFS/boot, found: ${KERNELS[*]}"
fi
INITRD=$ROOTFS/boot/initrd.img-${KERNELS[0]##*/vmlinuz-}
[ -f "$INITRD" ] || die "no initramfs $INITRD: update-initramfs failed during debootstrap (see build.log)"
install -m 0644 "${KERNELS[0]}" "$WORK/vmlinuz"
install -m 0644 "$INITRD" "$WORK/initrd.img"

# /var goes to its own partition: the agent's store, the journal and dpkg's state.
step "split /var onto its own file system"
mkdir -p "$VARFS"
(shopt -s dotglob nullglob; mv "$ROOTFS"/var/* "$VARFS"/)
install -d -m 0700 "$ROOTFS/lost+found" "$VARFS/lost+found"
touch --date="@$SOURCE_DATE_EPOCH" "$ROOTFS/var" "$ROOTFS/lost+found" "$VARFS/lost+found" "$ROOTFS"

# --- 5. file systems and manifest -------------------------------------------------------
uuid_for() { "$PY" -c 'import sys, uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, sys.argv[1]))' "cleanroom-image:$IMAGE_VERSION:$VARIANT:$1"; }
mkfs() { # label tree image size_mib
    local uuid; uuid=$(uuid_for "$1")
    rm -f "$3"
    E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L "$1" -U "$uuid" \
        -E "root_owner=0:0,hash_seed=$uuid" -d "$2" "$3" "${4}M"
}
ROOT_MIB=$(( $(du -sm --apparent-size "$ROOTFS" | cut -f1) * 5 / 4 + 64 ))
step "mkfs.ext4 root.ext4 (${ROOT_MIB} MiB) and var.ext4 (${VAR_SIZE_MIB} MiB)"
mkfs cleanroom-root "$ROOTFS" "$WORK/root.ext4" "$ROOT_MIB"
mkfs cleanroom-var "$VARFS" "$WORK/var.ext4" "$VAR_SIZE_MIB"

step "sign the manifest"
"$PY" "$HERE/sign_manifest.py" sign "${SIGN_ARGS[@]}" --tree "$ROOTFS" --out "$WORK/MANIFEST" \
    --artifact "$WORK/root.ext4" --artifact "$WORK/var.ext4" \
    --artifact "$WORK/vmlinuz" --artifact "$WORK/initrd.img" \
    --header "image-version=$IMAGE_VERSION" --header "variant=$VARIANT" \
    --header "signing=$SIGNING" --header "source-date-epoch=$SOURCE_DATE_EPOCH"
step "verify root.ext4 against the signed manifest (read back with debugfs)"
"$PY" "$HERE/verify_manifest.py" "$WORK/MANIFEST" --image "$WORK/root.ext4"

rm -rf "$VARFS" "$WORK/wheels"
step "done: $WORK"
du -h --apparent-size "$WORK/root.ext4" "$WORK/var.ext4" "$WORK/vmlinuz" "$WORK/initrd.img" | sed 's/^/   apparent /'
du -h "$WORK/root.ext4" "$WORK/var.ext4" | sed 's/^/   on disk  /'
