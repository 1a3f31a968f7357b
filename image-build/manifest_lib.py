"""A SHA-256 manifest of an image's file tree and artifacts, signed with Ed25519.

The manifest is plain text so that an auditor can read and diff it:

    # cleanroom-image-manifest v1
    # image-version: 0.1.0+g1234abc
    artifact <sha256> root.ext4
    f 0644 0:0 <sha256> /etc/fstab
    l 0777 0:0 <sha256 of the link target> /sbin
    d 0755 0:0 - /etc
    o 0666 0:0 - /dev/null

`f` regular file, `l` symlink, `d` directory, `o` anything else (device, fifo, socket),
then the permission bits (with setuid/setgid/sticky), owner, digest and the path last (so a
path may contain spaces). Lines are sorted by path, so one tree always gives the same bytes.
The signature is Ed25519 over those exact bytes. Hand-written rather than e.g. a dm-verity
hash tree: the image is assembled without loop devices, and an auditor should be able to
check single files of a running controller with sha256sum.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT_LINE = "# cleanroom-image-manifest v1"
CHUNK = 1 << 20


class ManifestError(Exception):
    """The manifest, its signature, a key or the tree it describes is wrong.

    Build tooling, not the agent: it lives outside agent/errors.py on purpose.
    """


@dataclass(frozen=True, order=True)
class Entry:
    """One file system object of the image."""

    path: str
    kind: str
    mode: int
    uid: int
    gid: int
    digest: str

    def line(self) -> str:
        return f"{self.kind} {self.mode:04o} {self.uid}:{self.gid} {self.digest} {self.path}"


@dataclass(frozen=True)
class Manifest:
    header: dict[str, str]
    artifacts: dict[str, str]
    entries: list[Entry]

    def render(self) -> bytes:
        lines = [FORMAT_LINE]
        lines += [f"# {key}: {value}" for key, value in sorted(self.header.items())]
        lines += [f"artifact {digest} {name}" for name, digest in sorted(self.artifacts.items())]
        lines += [entry.line() for entry in sorted(self.entries)]
        return ("\n".join(lines) + "\n").encode()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(root: Path, path: Path) -> Entry:
    info = path.lstat()
    relative = "/" + path.relative_to(root).as_posix()
    if "\n" in relative:
        raise ManifestError(f"{path}: a file name with a newline cannot be listed: rename it")
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISREG(info.st_mode):
        kind, digest = "f", sha256_file(path)
    elif stat.S_ISLNK(info.st_mode):
        kind, digest = "l", hashlib.sha256(os.fsencode(path.readlink())).hexdigest()
    elif stat.S_ISDIR(info.st_mode):
        kind, digest = "d", "-"
    else:
        kind, digest = "o", "-"
    return Entry(relative, kind, mode, info.st_uid, info.st_gid, digest)


def scan(root: Path) -> list[Entry]:
    """Every object below root (root itself excluded), symlinks not followed."""
    if not root.is_dir():
        raise ManifestError(f"{root}: not a directory: pass the image's unpacked root tree")
    entries: list[Entry] = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        base = Path(directory)
        # os.walk lists symlinks to directories under subdirs but never descends into them.
        entries += [_entry(root, base / name) for name in (*subdirs, *sorted(files))]
    return sorted(entries)


def parse(data: bytes) -> Manifest:
    lines = data.decode().splitlines()
    if not lines or lines[0] != FORMAT_LINE:
        raise ManifestError(f"manifest does not start with {FORMAT_LINE!r}: not a manifest")
    header: dict[str, str] = {}
    artifacts: dict[str, str] = {}
    entries: list[Entry] = []
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith("# "):
            key, _, value = line[2:].partition(": ")
            header[key] = value
        elif line.startswith("artifact "):
            _, digest, name = line.split(" ", 2)
            artifacts[name] = digest
        else:
            fields = line.split(" ", 4)
            if len(fields) != 5 or fields[0] not in {"f", "l", "d", "o"}:
                raise ManifestError(f"manifest line {number}: cannot parse {line!r}")
            kind, mode, owner, digest, path = fields
            uid, _, gid = owner.partition(":")
            entries.append(Entry(path, kind, int(mode, 8), int(uid), int(gid), digest))
    return Manifest(header, artifacts, entries)


def compare(expected: list[Entry], actual: list[Entry]) -> list[str]:
    """Human-readable differences between the signed entries and a scanned tree."""
    want = {entry.path: entry for entry in expected}
    got = {entry.path: entry for entry in actual}
    problems = [f"missing: {path}" for path in sorted(want.keys() - got.keys())]
    problems += [f"unexpected: {path}" for path in sorted(got.keys() - want.keys())]
    problems += [
        f"changed: {path}: signed {want[path].line()!r}, found {got[path].line()!r}"
        for path in sorted(want.keys() & got.keys())
        if want[path] != got[path]
    ]
    return problems


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ManifestError(
            f"{path}: cannot load an unencrypted PEM (PKCS#8) private key ({exc}): "
            "create one with `openssl genpkey -algorithm ed25519 -out KEY`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ManifestError(f"{path}: holds a {type(key).__name__}, not an Ed25519 key")
    return key


def generate_dev_key(path: Path) -> Ed25519PrivateKey:
    """A throw-away signing key for development builds, written 0600."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: cannot load a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ManifestError(f"{path}: holds a {type(key).__name__}, not an Ed25519 key")
    return key


def sign(data: bytes, key: Ed25519PrivateKey) -> bytes:
    """The signature file's content: base64 of the 64-byte signature, one line."""
    return base64.b64encode(key.sign(data)) + b"\n"


def check_signature(data: bytes, signature_file: bytes, key: Ed25519PublicKey) -> None:
    try:
        key.verify(base64.b64decode(signature_file.strip(), validate=True), data)
    except (InvalidSignature, ValueError) as exc:
        raise ManifestError(
            "manifest signature does not verify with the given public key: the manifest "
            "was changed after signing, or it was signed by another key"
        ) from exc
