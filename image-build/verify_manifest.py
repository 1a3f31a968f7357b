"""Check a built image against its signed SHA-256 manifest.

    verify_manifest.py MANIFEST [--public-key PEM] [--tree DIR | --image root.ext4]

Verifies the Ed25519 signature first (with MANIFEST.pub.pem unless --public-key names the
key you trust: pass it for anything but a self-check), then the digest of every artifact
found next to MANIFEST, then, if asked, every file of an unpacked tree or of the root
ext4 image itself (read with debugfs, so no loop mount or root privilege is needed).
Exit status 0 only when everything matches.
"""

from __future__ import annotations

import argparse
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import manifest_lib as ml


def _debugfs() -> str:
    debugfs = shutil.which("debugfs") or "/usr/sbin/debugfs"
    if not Path(debugfs).exists():
        raise ml.ManifestError("debugfs not found: install the Debian package 'e2fsprogs'")
    return debugfs


def _ext4_metadata(image: Path, directories: list[str]) -> dict[str, tuple[int, int, int]]:
    """Exact (mode, uid, gid) of every entry, from `ls -p` in one debugfs run.

    rdump alone is not enough: it chowns after chmod, which clears setuid/setgid bits, so
    an added setuid bit would go unseen. `ls -p` prints /inode/mode/uid/gid/name/size/.
    """
    commands = "".join(f'ls -p "{directory}"\n' for directory in directories)
    result = subprocess.run(
        [_debugfs(), "-f", "-", str(image)],
        input=commands,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ml.ManifestError(f"{image}: debugfs ls failed: {result.stderr.strip()}")
    found: dict[str, tuple[int, int, int]] = {}
    current = ""
    for line in result.stdout.splitlines():
        if line.startswith("debugfs: ls -p "):
            current = line.removeprefix("debugfs: ls -p ").strip('"').rstrip("/")
        elif line.startswith("/") and line.endswith("/"):
            fields = line[1:-1].split("/")
            name = fields[4]
            if name not in {".", ".."}:
                found[f"{current}/{name}"] = (int(fields[1], 8), int(fields[2]), int(fields[3]))
    return found


def scan_ext4(image: Path, scratch: Path) -> list[ml.Entry]:
    """The manifest entries of an ext4 image, read without mounting it."""
    result = subprocess.run(
        [_debugfs(), "-R", f"rdump / {scratch}", str(image)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ml.ManifestError(f"{image}: debugfs rdump failed: {result.stderr.strip()}")
    dumped = ml.scan(scratch)
    directories = ["/"] + [entry.path for entry in dumped if entry.kind == "d"]
    metadata = _ext4_metadata(image, directories)
    entries = []
    for entry in dumped:
        if entry.path not in metadata:
            raise ml.ManifestError(f"{image}: debugfs did not list {entry.path}")
        mode, uid, gid = metadata[entry.path]
        entries.append(ml.Entry(entry.path, entry.kind, stat.S_IMODE(mode), uid, gid, entry.digest))
    return entries


def verify(manifest_path: Path, public_key: Path | None, tree: Path | None) -> list[str]:
    """Problems found (empty when all is well); raises ManifestError on a bad signature."""
    data = manifest_path.read_bytes()
    key_path = public_key or manifest_path.with_name(manifest_path.name + ".pub.pem")
    signature = manifest_path.with_name(manifest_path.name + ".sig").read_bytes()
    ml.check_signature(data, signature, ml.load_public_key(key_path))
    manifest = ml.parse(data)
    problems = []
    for name, digest in sorted(manifest.artifacts.items()):
        artifact = manifest_path.with_name(name)
        if not artifact.exists():
            problems.append(f"artifact missing: {artifact}")
        elif ml.sha256_file(artifact) != digest:
            problems.append(f"artifact changed: {artifact}")
    if tree is not None:
        problems += ml.compare(manifest.entries, ml.scan(tree))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--public-key", type=Path, help="trusted Ed25519 public key, PEM")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--tree", type=Path, help="an unpacked root file system")
    where.add_argument("--image", type=Path, help="the root ext4 image")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="cleanroom-verify-") as scratch:
            problems = verify(args.manifest, args.public_key, args.tree)
            if args.image is not None and not problems:
                signed = ml.parse(args.manifest.read_bytes()).entries
                problems = ml.compare(signed, scan_ext4(args.image, Path(scratch)))
    except (ml.ManifestError, OSError) as exc:
        print(f"verify_manifest: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem)
    if problems:
        print(f"verify_manifest: {args.manifest}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.manifest}: signature good, everything matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
