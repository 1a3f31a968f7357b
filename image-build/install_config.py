"""Install a rack config into the image with its state paths moved to the writable /var.

    install_config.py SOURCE DEST [--set SECTION.KEY=VALUE ...]

The example configs keep state next to the checkout (`[store] path = "../var/demo/..."`,
relative to the config file). In the image the config lives on the read-only root under
/etc/cleanroom, so those paths must point into the state and logs directories that the
unit owns. This rewrites the `KEY = ...` line of `[SECTION]` in place, keeping every
comment (tomllib can read TOML but no stdlib module writes it back), then parses the
result with tomllib to prove the new values took and the file is still valid TOML.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path


class InstallError(Exception):
    """The config cannot be installed as asked: names the file, the key and the fix."""


def rewrite(text: str, section: str, key: str, value: str) -> str:
    header = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\s*\]\s*(#.*)?$")
    any_header = re.compile(r"^\s*\[")
    assignment = re.compile(r"^(\s*)" + re.escape(key) + r"\s*=.*$")
    lines = text.splitlines(keepends=True)
    inside = False
    for index, line in enumerate(lines):
        if header.match(line):
            inside = True
        elif any_header.match(line):
            inside = False
        elif inside and (match := assignment.match(line)):
            # json.dumps gives a valid TOML basic string for any path.
            lines[index] = f"{match.group(1)}{key} = {json.dumps(value)}\n"
            return "".join(lines)
    raise InstallError(
        f"no `{key} = ...` line in section [{section}]: add one to the source config, "
        "or drop --set for it"
    )


def install(source: Path, dest: Path, settings: list[str]) -> None:
    text = source.read_text()
    wanted: list[tuple[str, str, str]] = []
    for setting in settings:
        dotted, sep, value = setting.partition("=")
        section, dot, key = dotted.rpartition(".")
        if not sep or not dot:
            raise InstallError(f"--set {setting!r}: expected SECTION.KEY=VALUE")
        try:
            text = rewrite(text, section, key, value)
        except InstallError as exc:
            raise InstallError(f"{source}: {exc}") from exc
        wanted.append((section, key, value))
    parsed = tomllib.loads(text)
    for section, key, value in wanted:
        table = parsed
        for part in section.split("."):
            table = table[part]
        if table.get(key) != value:
            raise InstallError(f"{source}: [{section}] {key} did not take the value {value!r}")
    dest.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--set", dest="settings", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        install(args.source, args.dest, args.settings)
    except (InstallError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"install_config: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
