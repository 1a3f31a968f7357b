"""Firmware compliance: the approved baselines in ``firmware/`` and the verdict for a
device's reported firmware.

One TOML file per device model (see ``firmware/README.md`` for the format). A device's
firmware is

- ``approved``: one of the model's approved versions;
- ``known_bad``: listed as bad, with the reason (whatever else is true);
- ``outdated``: older than the model's minimum version;
- ``unknown``: no baseline for the model, no version reported, or a version that is
  neither approved nor known bad (newer or in between: nobody has validated it).

Versions are compared by their numeric parts ("v6.9.6" = "6.9.6", "9.3(10)" is
9.3.10, "INV: 01.14.0019" is 1.14.19): vendors decorate versions differently, and the
baseline should not have to copy each vendor's decoration.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from agent.errors import ConfigError
from agent.health.sensors import Identity

Verdict = Literal["approved", "outdated", "known_bad", "unknown"]
_DIGITS = re.compile(r"\d+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
# Where the baselines ship: next to the package in a source tree, or installed data.
DEFAULT_DIRS = (
    Path(__file__).resolve().parents[2] / "firmware",
    Path("/usr/share/cleanroom/firmware"),
)


class ApprovedVersion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: str
    sha256: str = ""  # of the vendor's image file, when the ARS pins the exact image
    notes: str = ""


class KnownBad(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: str
    reason: str


class Baseline(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    vendor: str
    model: str
    family: str = ""
    aliases: list[str] = []
    minimum: str = ""
    approved: list[ApprovedVersion] = []
    known_bad: list[KnownBad] = []
    notes: str = ""
    source: str = ""  # the file it came from (set by the loader)

    def names(self) -> list[str]:
        return [self.model, *self.aliases]


def version_key(text: str) -> tuple[int, ...]:
    """The numeric parts of a version string, for comparison; () when there are none."""
    return tuple(int(part) for part in _DIGITS.findall(text))


def normalise_model(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


def default_dir() -> Path:
    override = os.environ.get("CLEANROOM_FIRMWARE_DIR")
    if override:
        return Path(override)
    for candidate in DEFAULT_DIRS:
        if candidate.is_dir():
            return candidate
    return DEFAULT_DIRS[0]


def _check(baseline: Baseline, where: str) -> list[str]:
    problems = []
    if not baseline.approved and not baseline.minimum:
        problems.append(f"{where}: no approved versions and no minimum; add [[approved]] entries")
    for field, versions in (
        ("approved", [a.version for a in baseline.approved]),
        ("known_bad", [k.version for k in baseline.known_bad]),
        ("minimum", [baseline.minimum] if baseline.minimum else []),
    ):
        for version in versions:
            if not version_key(version):
                problems.append(f"{where}: {field} version {version!r} has no digits to compare")
    for entry in baseline.approved:
        if entry.sha256 and not re.fullmatch(r"[0-9a-f]{64}", entry.sha256):
            problems.append(
                f"{where}: approved {entry.version!r}: sha256 {entry.sha256!r} is not 64 "
                "lowercase hex digits (sha256sum of the image file)"
            )
    bad = {version_key(k.version) for k in baseline.known_bad}
    clash = [a.version for a in baseline.approved if version_key(a.version) in bad]
    if clash:
        problems.append(f"{where}: versions {clash} are both approved and known bad; pick one")
    return problems


def load_baselines(folder: Path | None = None) -> list[Baseline]:
    """Every ``*.toml`` baseline of ``folder``; ConfigError lists every bad file."""
    folder = folder or default_dir()
    if not folder.is_dir():
        raise ConfigError(
            [
                f"{folder}: firmware baseline folder does not exist; install firmware/ or set "
                "CLEANROOM_FIRMWARE_DIR"
            ]
        )
    baselines: list[Baseline] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            baseline = msgspec.toml.decode(path.read_bytes(), type=Baseline)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            problems.append(f"{path}: {exc}; see firmware/README.md for the format")
            continue
        problems += _check(baseline, str(path))
        for name in baseline.names():
            key = normalise_model(name)
            if key in seen:
                problems.append(f"{path}: model {name!r} is also described by {seen[key]}")
            seen[key] = str(path)
        baselines.append(msgspec.structs.replace(baseline, source=str(path)))
    if problems:
        raise ConfigError(problems)
    return baselines


def find_baseline(baselines: list[Baseline], *models: str) -> Baseline | None:
    """The baseline of the first model name that has one: an exact (normalised) name or
    alias first, else the longest name contained in the reported model ("Eaton ePDU
    EMAB03" is an EMAB03)."""
    for model in models:
        key = normalise_model(model)
        if not key:
            continue
        for baseline in baselines:
            if key in (normalise_model(n) for n in baseline.names()):
                return baseline
        best: tuple[int, Baseline] | None = None
        for baseline in baselines:
            for name in baseline.names():
                n = normalise_model(name)
                if len(n) >= 4 and n in key and (best is None or len(n) > best[0]):
                    best = (len(n), baseline)
        if best is not None:
            return best[1]
    return None


@dataclass(frozen=True, slots=True)
class FirmwareCheck:
    verdict: Verdict
    version: str
    baseline: str  # the baseline file, "" when none
    detail: str


def check_firmware(
    baselines: list[Baseline], identity: Identity, inventory_model: str = ""
) -> FirmwareCheck:
    """The verdict for a device's reported firmware, with words an operator can act on."""
    version = identity.firmware
    baseline = find_baseline(baselines, identity.model, inventory_model)
    if baseline is None:
        return FirmwareCheck(
            "unknown",
            version,
            "",
            f"no baseline for model {identity.model or inventory_model or '(none reported)'}; "
            "add firmware/<vendor>-<model>.toml once the ARS has validated a version",
        )
    key = version_key(version)
    where = baseline.source
    if not key:
        return FirmwareCheck(
            "unknown", version, where, f"the device reports no firmware version ({version!r})"
        )
    for bad in baseline.known_bad:
        if version_key(bad.version) == key:
            return FirmwareCheck(
                "known_bad",
                version,
                where,
                f"{version} is known bad: {bad.reason}; install an approved "
                f"version ({', '.join(a.version for a in baseline.approved)})",
            )
    for approved in baseline.approved:
        if version_key(approved.version) == key:
            return FirmwareCheck("approved", version, where, f"{version} is approved")
    if baseline.minimum and key < version_key(baseline.minimum):
        return FirmwareCheck(
            "outdated",
            version,
            where,
            f"{version} is older than the minimum {baseline.minimum}; update "
            f"to an approved version ({', '.join(a.version for a in baseline.approved)})",
        )
    return FirmwareCheck(
        "unknown",
        version,
        where,
        f"{version} is not in the {baseline.vendor} {baseline.model} baseline; "
        "validate it and add it to the approved list, or install an approved one",
    )


def model_matches(inventory_model: str, reported: str) -> bool | None:
    """Whether the device is the model the inventory expects (None: nothing to compare).

    Normalised containment, either way: "AP8941" matches "AP8941", and an inventory
    "EMAB03" matches a reported "Eaton ePDU EMAB03".
    """
    want, got = normalise_model(inventory_model), normalise_model(reported)
    if not want:
        return None
    if not got:
        return False
    return want == got or want in got or got in want
