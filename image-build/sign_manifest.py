"""Write and sign the SHA-256 manifest of a built image (see manifest_lib.py).

    sign_manifest.py pubkey --key KEY [--dev] > signing-key.pub.pem
    sign_manifest.py sign --key KEY [--dev] --tree ROOTFS --artifact FILE ... \
        --header NAME=VALUE ... --out MANIFEST

Writes MANIFEST, MANIFEST.sig (base64 Ed25519 signature) and MANIFEST.pub.pem. With --dev
a missing KEY is generated (development builds); without it a missing KEY is an error, so a
release build can never be signed by a key invented on the spot.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import manifest_lib as ml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _key(path: Path, *, dev: bool) -> Ed25519PrivateKey:
    if not path.exists():
        if not dev:
            raise ml.ManifestError(
                f"{path}: signing key not found: set CLEANROOM_IMAGE_SIGNING_KEY to the "
                "release key (PEM, Ed25519), or build with --dev-key for a development image"
            )
        return ml.generate_dev_key(path)
    return ml.load_private_key(path)


def _header(pairs: list[str]) -> dict[str, str]:
    header: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or "\n" in pair:
            raise ml.ManifestError(f"--header {pair!r}: expected NAME=VALUE on one line")
        header[name] = value
    return header


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("pubkey", help="print the public key (PEM) of KEY")
    sig = sub.add_parser("sign", help="write MANIFEST, MANIFEST.sig and MANIFEST.pub.pem")
    for command in (pub, sig):
        command.add_argument("--key", type=Path, required=True, help="Ed25519 private key, PEM")
        command.add_argument("--dev", action="store_true", help="generate KEY if missing")
    sig.add_argument("--tree", type=Path, required=True, help="the unpacked root file system")
    sig.add_argument("--artifact", type=Path, action="append", default=[], help="image file")
    sig.add_argument("--header", action="append", default=[], help="NAME=VALUE")
    sig.add_argument("--out", type=Path, required=True, help="manifest file to write")
    args = parser.parse_args(argv)
    try:
        key = _key(args.key, dev=args.dev)
        if args.command == "pubkey":
            sys.stdout.buffer.write(ml.public_pem(key))
            return 0
        manifest = ml.Manifest(
            header=_header(args.header),
            artifacts={path.name: ml.sha256_file(path) for path in args.artifact},
            entries=ml.scan(args.tree),
        )
        data = manifest.render()
        out: Path = args.out
        out.write_bytes(data)
        out.with_name(out.name + ".sig").write_bytes(ml.sign(data, key))
        out.with_name(out.name + ".pub.pem").write_bytes(ml.public_pem(key))
    except ml.ManifestError as exc:
        print(f"sign_manifest: {exc}", file=sys.stderr)
        return 1
    print(f"{out}: {len(manifest.entries)} entries, {len(manifest.artifacts)} artifacts, signed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
