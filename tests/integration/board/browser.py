"""Debian's Chromium driven by Playwright for Python (no browser download: the system
binary), for the board's browser tests and benchmark."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_KEYS = Path(__file__).resolve().parents[3] / "config" / "demo" / "keys"


def executable() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def require_browser() -> None:
    """Skip (CI turns it into a failure) when Chromium or Playwright is missing."""
    if executable() is None:
        pytest.skip("chromium is not installed: apt-get install chromium (make test does)")
    try:
        import playwright.async_api  # noqa: F401, PLC0415
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright  # noqa: PLC0415

    binary = executable()
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=binary, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()
