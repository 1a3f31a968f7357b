"""A zip of compiled Python modules that makes the VM's pytest start in seconds, not minutes.

The kernel-lab VM reads the host's file system over 9p, and under software emulation every
9p round trip is slow: importing pytest and pyroute2 straight from the venv took 40 to 60 s
inside the guest, almost all of it in the stat/open storm of the import system (the same
imports take 0.3 s on the host). Python imports from a zip on ``sys.path`` after reading
its directory once, so the guest puts this zip first on PYTHONPATH: the standard library
and the test-time distributions (pytest, pytest-asyncio, pyroute2 and what they require)
come from one file; anything else (the agent, the tests, C extensions) still comes from the
shared file system.

The zip holds "sourceless" byte code (``pkg/mod.pyc`` beside no ``mod.py``), which zipimport
loads as is. Each module's code object keeps its original file name, so tracebacks in the
guest still show source lines, read from the shared file system.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import marshal
import os
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT_DISTRIBUTIONS = ("pytest", "pytest-asyncio", "pyroute2")

# Parts of the standard library that tests never import and that cost zip entries.
_STDLIB_SKIP = {
    "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "site-packages",
    "pydoc_data", "lib-dynload", "__pycache__", "venv", "distutils",
}  # fmt: skip


def _closure(roots: tuple[str, ...]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``roots`` need, following their requirements (extras
    excluded, environment markers evaluated for this interpreter)."""
    # evaluate() fills in this interpreter's environment; extras are never wanted here.
    env = {"extra": ""}
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [canonicalize_name(name) for name in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        dist = importlib.metadata.distribution(name)
        seen[name] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(canonicalize_name(req.name))
    return [seen[name] for name in sorted(seen)]


def _dist_sources(dist: importlib.metadata.Distribution) -> Iterator[tuple[Path, str]]:
    for item in dist.files or []:
        if item.suffix == ".py" and "__pycache__" not in item.parts:
            yield Path(str(dist.locate_file(item))), item.as_posix()


def _stdlib_sources() -> Iterator[tuple[Path, str]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for dirpath, dirnames, filenames in os.walk(stdlib):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _STDLIB_SKIP)
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                path = here / filename
                yield path, path.relative_to(stdlib).as_posix()


def _bytecode(source: Path) -> bytes:
    """The .pyc bytes for ``source``: the interpreter's own cached file when it is
    current, otherwise compiled here (PEP 552 header, timestamp flavour)."""
    stat = source.stat()
    mtime, size = int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF
    header = (
        importlib.util.MAGIC_NUMBER
        + (0).to_bytes(4, "little")
        + mtime.to_bytes(4, "little")
        + size.to_bytes(4, "little")
    )
    cached = Path(importlib.util.cache_from_source(str(source)))
    try:
        data = cached.read_bytes()
    except OSError:
        data = b""
    if data[:16] == header:
        return data
    code = compile(source.read_bytes(), str(source), "exec", dont_inherit=True)
    return header + marshal.dumps(code)


def _key(dists: list[importlib.metadata.Distribution]) -> str:
    parts = [sys.version, sys.executable, *(f"{d.metadata['Name']}=={d.version}" for d in dists)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def build(cache_dir: Path) -> Path:
    """The payload zip for this interpreter and these distribution versions, built once
    into ``cache_dir`` and reused while nothing changes."""
    dists = _closure(ROOT_DISTRIBUTIONS)
    target = cache_dir / f"pylib-{_key(dists)}.zip"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    seen: set[str] = set()
    # ZIP_STORED: zipimport can then read entries before the zlib module is imported, and
    # decompression would cost emulated CPU time for nothing.
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        sources = [*_stdlib_sources()] + [s for d in dists for s in _dist_sources(d)]
        for path, relative in sources:
            name = relative[: -len(".py")] + ".pyc"
            if name in seen or not path.is_file():
                continue
            seen.add(name)
            try:
                data = _bytecode(path)
            except SyntaxError:
                continue  # e.g. Python 2 example files some distributions ship
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    partial.replace(target)
    for stale in cache_dir.glob("pylib-*.zip"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target
