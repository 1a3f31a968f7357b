"""`verify_image`: a backup image may only be used once its SHA-256 matches the runbook
and an Ed25519 signature over that digest verifies against the trusted key.

The signature covers the raw 32-byte digest, so a multi-gigabyte image is read once, in
a worker thread, and never held in memory. ``cryptography`` does the Ed25519 maths.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.conf.schema import Step
from agent.conf.steps import VerifyImageArgs, parse_args
from agent.errors import AgentError
from agent.lifecycle.steps.context import StepContext

_CHUNK = 1 << 20


class ImageError(AgentError):
    """The image's fault: missing, altered, or not signed by the trusted key."""


def sha256_file(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


def verify_image(path: Path, sha256_hex: str, signature_path: Path, public_key_b64: str) -> str:
    """Raise ImageError naming the image and what is wrong; return a summary."""
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read the image: {exc.strerror}") from exc
    if digest.hex() != sha256_hex:
        raise ImageError(
            f"{path}: SHA-256 is {digest.hex()}, the runbook expects {sha256_hex}; the image "
            "was altered or is not the one planned: do not restore it"
        )
    try:
        signature = base64.b64decode(signature_path.read_bytes().strip(), validate=True)
    except OSError as exc:
        raise ImageError(f"{signature_path}: cannot read the signature: {exc.strerror}") from exc
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"{signature_path}: not a base64 signature") from exc
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        key.verify(signature, digest)
    except InvalidSignature as exc:
        raise ImageError(
            f"{path}: the signature in {signature_path.name} does not verify with the trusted "
            "key; the image is not the one the ARS signed: do not restore it"
        ) from exc
    return f"{path.name}: sha256 {sha256_hex[:12]}... and signature verified"


class VerifyImage:
    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def _paths(self, step: Step) -> tuple[VerifyImageArgs, Path, Path]:
        args = parse_args(step.args, VerifyImageArgs)
        return args, self.ctx.config.resolve(args.path), self.ctx.config.resolve(args.signature)

    async def run(self, step: Step) -> str:
        args, image, signature = self._paths(step)
        return await asyncio.to_thread(verify_image, image, args.sha256, signature, args.public_key)

    async def check(self, step: Step) -> bool:
        # Verification has no lasting effect: re-verifying is the check.
        try:
            await self.run(step)
        except ImageError:
            return False
        return True
