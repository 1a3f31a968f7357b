"""Arguments of each runbook step kind, validated at config load.

A step's ``args`` table is decoded into the record of its kind; the runbook engine reads
the same records, so a typo in a step is a config error, never a failure mid-restore.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec

from agent.conf.units import Duration, make_dec_hook

if TYPE_CHECKING:
    from agent.conf.schema import RackConfig

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
PHASES = ("quarantine", "restore", "operational", "drill", "connected")


class _Args(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    def check(self, config: RackConfig) -> list[str]:
        return []


class PowerArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    target: str
    state: Literal["on", "off"] = "on"
    via: Literal["auto", "outlet", "bmc"] = "auto"

    def check(self, config: RackConfig) -> list[str]:
        powered = {s.id for s in config.server} | {s.id for s in config.switch if s.power}
        if self.target not in powered:
            return [f".target: {self.target!r} is not a server or powered switch"]
        return []


class VlanArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    phase: Literal["quarantine", "restore", "operational", "drill", "connected"]
    devices: list[str] = []

    def check(self, config: RackConfig) -> list[str]:
        ids = set(config.device_ids())
        problems = [f".devices: no device has id {d!r}" for d in self.devices if d not in ids]
        if self.phase == "connected":
            problems.append(
                ".phase: 'connected' joins the hospital network and needs a "
                "two-person approved command; a runbook step may not do it"
            )
        return problems


class WaitTcpArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: str
    port: int
    interval: Duration = Duration(1.0)


class WaitHttpArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    status: int = 200
    contains: str = ""
    interval: Duration = Duration(1.0)

    def check(self, config: RackConfig) -> list[str]:
        ok = self.url.startswith(("http://", "https://"))
        return [] if ok else [f".url: {self.url!r} is not an http(s) URL"]


class VerifyImageArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: str
    sha256: str
    signature: str
    public_key: str

    def check(self, config: RackConfig) -> list[str]:
        problems = []
        if not _SHA256.match(self.sha256):
            problems.append(".sha256: expected 64 lowercase hex digits")
        try:
            raw = base64.b64decode(self.public_key, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            problems.append(".public_key: not the base64 of a 32-byte Ed25519 public key")
        return problems


class CommandArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    argv: list[str]
    cwd: str = ""
    env: dict[str, str] = {}
    success_codes: list[int] = msgspec.field(default_factory=lambda: [0])
    check_argv: list[str] = []

    def check(self, config: RackConfig) -> list[str]:
        return [] if self.argv else [".argv: give the program and its arguments as a list"]


class PromptArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    message: str


class RestoreArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    image: str
    argv: list[str]
    verified_by: str
    check_argv: list[str] = []

    def check(self, config: RackConfig) -> list[str]:
        kinds = {s.id: s.kind for s in config.runbook.step}
        if kinds.get(self.verified_by) != "verify_image":
            return [
                f".verified_by: {self.verified_by!r} is not a verify_image step; a restore "
                "only uses an image whose checksum and signature were verified"
            ]
        if not self.argv:
            return [".argv: give the restore program and its arguments as a list"]
        return []


# Step args hold no secrets: the config's own hook, with an empty secrets table.
_DEC_HOOK = make_dec_hook({}, "")
A = TypeVar("A", bound="_Args")


def parse_args(args: dict[str, Any], args_type: type[A]) -> A:
    """A step's ``args`` as the record of its kind (durations parsed like the config)."""
    return msgspec.convert(args, args_type, strict=True, dec_hook=_DEC_HOOK)


STEP_ARGS: dict[str, type[_Args]] = {
    "power": PowerArgs,
    "vlan": VlanArgs,
    "wait_tcp": WaitTcpArgs,
    "wait_http": WaitHttpArgs,
    "verify_image": VerifyImageArgs,
    "command": CommandArgs,
    "prompt": PromptArgs,
    "restore": RestoreArgs,
}
