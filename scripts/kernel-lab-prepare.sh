#!/usr/bin/env bash
# Prepare the kernel lab: a small VM (virtme-ng under qemu, software emulation) that boots
# Debian's 6.1 kernel over this host's own file system, for the tests that need bridge VLAN
# filtering, 802.1Q devices and netem, which the development kernel lacks (DESIGN.md, 7).
#
# Idempotent: every step checks first and says what it did or found. Run as root, from
# anywhere; `make test` runs it before the kernel_lab tests. Environment overrides:
#   KERNEL_LAB_PACKAGE   an exact Debian package to use instead of the newest
#                        linux-image-6.1.0-<N>-amd64 (e.g. linux-image-6.1.0-56-amd64)
#   KERNEL_LAB_CACHE     cache folder (default: <repo>/.kernel-lab, git-ignored)
#   KERNEL_LAB_VENV      the project venv (default: <repo>/.venv)
#
# On success the last line is `kernel-lab: ready <path of vmlinuz>`, and the path is also
# written to <cache>/vmlinuz.path for tests/kernel_lab/plugin.py.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${KERNEL_LAB_CACHE:-$repo/.kernel-lab}"
venv="${KERNEL_LAB_VENV:-$repo/.venv}"
# virtme-ng: 1.42 is the version checked here; the CLI flags we use (--run, --disable-kvm,
# --rwdir, --exec, --memory, --cpus) are stable across the 1.x series.
vng_spec='virtme-ng>=1.30,<2'

# `cmd | grep -q` fails under pipefail when grep exits early (SIGPIPE), so test captured text.
has_candidate() { [[ "$(apt-cache policy "$@" 2>/dev/null)" == *"Candidate: "[0-9]* ]]; }
say() { printf 'kernel-lab: %s\n' "$*"; }
die() { printf 'kernel-lab: ERROR: %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "must run as root (apt-get install, /lib/modules, depmod); run: sudo $0"
command -v apt-get >/dev/null || die "apt-get not found: this script expects Debian 12; install qemu-system-x86, kmod, busybox-static and iputils-ping by hand"
[[ -x "$venv/bin/pip" ]] || die "no project venv at $venv (set KERNEL_LAB_VENV or create it: python3 -m venv .venv && .venv/bin/pip install -e '.[dev]')"

# --- Debian packages -------------------------------------------------------------------
# qemu-system-x86: the VM; kmod: depmod/modprobe for the guest's modules; busybox-static:
# virtme-ng's initramfs; iputils-ping: the lab's pings (inside and outside the VM).
declare -A need=([qemu-system-x86]=qemu-system-x86_64 [kmod]=depmod [busybox-static]=busybox [iputils-ping]=ping)
missing=()
for pkg in "${!need[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]]; then
        say "package $pkg: already installed"
    else
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    if ! has_candidate "${missing[@]}"; then
        apt-get update -qq || die "apt-get update failed: check the Debian mirror in /etc/apt/sources.list*"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null || die "apt-get install ${missing[*]} failed: run it by hand to see why"
fi
for pkg in "${!need[@]}"; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "${need[$pkg]}" >/dev/null \
        || die "${need[$pkg]} still missing after installing $pkg"
done

# --- virtme-ng -------------------------------------------------------------------------
if [[ -x "$venv/bin/vng" ]]; then
    say "virtme-ng: already installed ($("$venv/bin/vng" --version 2>/dev/null | head -1))"
else
    say "installing $vng_spec into $venv"
    "$venv/bin/pip" install -q "$vng_spec" || die "pip install '$vng_spec' failed: check PyPI access"
    say "virtme-ng: installed ($("$venv/bin/vng" --version 2>/dev/null | head -1))"
fi

# --- Debian's kernel -------------------------------------------------------------------
mkdir -p "$cache/debs" "$cache/root"
pick_package() {
    if [[ -n "${KERNEL_LAB_PACKAGE:-}" ]]; then
        echo "$KERNEL_LAB_PACKAGE"
        return
    fi
    # Newest ABI number N first. For one N prefer the signed image; Debian sometimes
    # publishes the -unsigned build of a new ABI before the signed one, and the two hold
    # the same kernel, so the unsigned build is taken only when it is the only one.
    local abis n
    abis="$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' \
        | sed -nE 's/^linux-image-6\.1\.0-([0-9]+)-amd64.*/\1/p' | sort -nu -r)"
    for n in $abis; do
        for pkg in "linux-image-6.1.0-$n-amd64" "linux-image-6.1.0-$n-amd64-unsigned"; do
            if has_candidate "$pkg"; then
                echo "$pkg"
                return
            fi
        done
    done
}
pkg="$(pick_package)"
if [[ -z "$pkg" ]]; then
    apt-get update -qq || true
    pkg="$(pick_package)"
fi
[[ -n "$pkg" ]] || die "no linux-image-6.1.0-<N>-amd64 package in apt's lists: add Debian 12 (bookworm) to /etc/apt/sources.list and run apt-get update"
# The kernel's version string is the package name without the prefix and -unsigned.
kver="${pkg#linux-image-}"
kver="${kver%-unsigned}"
say "kernel package: $pkg (kernel $kver)"

vmlinuz="$cache/root/$kver/boot/vmlinuz-$kver"
if [[ -f "$vmlinuz" && -d "$cache/root/$kver/lib/modules/$kver" ]]; then
    say "kernel $kver: already unpacked in $cache/root/$kver"
else
    deb="$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)"
    if [[ -z "$deb" ]]; then
        say "downloading $pkg (about 70 MB)"
        (cd "$cache/debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") \
            || die "apt-get download $pkg failed: check the Debian mirror"
        deb="$(ls "$cache/debs/${pkg}_"*.deb | head -1)"
    fi
    say "unpacking $(basename "$deb")"
    rm -rf "$cache/root/$kver.tmp"
    dpkg -x "$deb" "$cache/root/$kver.tmp" || die "dpkg -x $deb failed: delete it and rerun"
    rm -rf "$cache/root/$kver"
    mv "$cache/root/$kver.tmp" "$cache/root/$kver"
fi
[[ -f "$vmlinuz" ]] || die "$pkg has no boot/vmlinuz-$kver: pick another with KERNEL_LAB_PACKAGE"

# The guest mounts the host's root file system, so modprobe inside it looks in the host's
# /lib/modules/<version>/; the host's own kernel never loads these (different version).
moddir="/lib/modules/$kver"
has_8021q() { compgen -G "$1/kernel/net/8021q/8021q.ko*" >/dev/null; }
if [[ -f "$moddir/modules.dep" ]] && has_8021q "$moddir"; then
    say "modules: already in $moddir"
else
    say "copying modules to $moddir"
    mkdir -p /lib/modules
    rm -rf "$moddir.tmp"
    cp -a "$cache/root/$kver/lib/modules/$kver" "$moddir.tmp"
    rm -rf "$moddir"
    mv "$moddir.tmp" "$moddir"
    depmod -a "$kver" || die "depmod -a $kver failed"
    say "depmod -a $kver: done"
fi
has_8021q "$moddir" || die "$moddir has no 8021q module: the package $pkg is not the expected Debian kernel"

printf '%s\n' "$vmlinuz" > "$cache/vmlinuz.path"
say "ready $vmlinuz"
