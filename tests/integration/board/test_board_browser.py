"""The board in a real Chromium against the simulated demo rack, its agent and a real
Mosquitto: the rack arrives and reaches operational live; an injected fault raises an
alarm that appears and clears; one admin proposes ``network.connect``, another approves
it from a second browser context (in French), the rack connects and the board shows it;
an approval with the proposer's own key is refused by the rack."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from agent.adapters.mqtt import BrokerSettings
from agent.board.layout import load_layouts
from agent.board.service import BoardService, BoardSettings
from agent.conf import load_config
from agent.daemon import Daemon
from agent.sim.compose import SimRack
from agent.sim.testing import relocate
from tests.integration.board.browser import DEMO_KEYS, chromium, require_browser
from tests.integration.report.broker import Mosquitto, require_broker

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-rack.toml"
RECORD_STATES = """() => { window.__states = [];
  document.addEventListener('board:rendered', (e) => {
    for (const r of e.detail) if (window.__states.at(-1) !== r.state) window.__states.push(r.state);
  }); }"""


async def _load_key(page: Any, name: str) -> None:
    await page.get_by_test_id("keyfile").set_input_files(str(DEMO_KEYS / name))
    await page.get_by_test_id("whoami").filter(has_text=name.removesuffix(".pem")).wait_for()


async def test_board_follows_the_demo_rack(tmp_path: Path) -> None:
    require_broker()
    require_browser()
    from playwright.async_api import expect  # noqa: PLC0415

    config_path, _ = relocate(DEMO, tmp_path / "rack", fast=True)
    config = load_config(config_path)
    port = int(config.mqtt.urls[0].rsplit(":", 1)[1])
    rack_id = f"{config.rack.site}/{config.rack.id}"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    broker_settings = BrokerSettings(
        urls=(f"mqtt://127.0.0.1:{port}",),
        client_id="cleanroom-board-test",
        clean_start=False,
        backoff_min=0.05,
        backoff_max=0.5,
    )
    settings = BoardSettings(broker=broker_settings, port=0, layouts=load_layouts([config_path]))
    async with (
        Mosquitto(port=port) as _broker,
        BoardService(settings) as board,
        chromium() as browser,
    ):
        first = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        await first.add_init_script(script=f"({RECORD_STATES})()")
        page = await first.new_page()
        await page.goto(board.url)
        await expect(page.get_by_test_id("broker")).to_have_attribute("data-up", "true")
        async with SimRack(config) as sim:
            daemon = Daemon(config)
            runner = asyncio.create_task(daemon.run(), name="test.daemon")
            try:
                row = page.locator(f'tr[data-rack="{rack_id}"]')
                await expect(row).to_have_attribute("data-state", "operational", timeout=120_000)
                states = await page.evaluate("window.__states")
                # Seen live, not only at the end: the page followed the arrival.
                assert "operational" in states
                assert len(states) >= 3, states
                assert states.index("operational") > 0, states
                await page.screenshot(path=str(shots / "fleet.png"), full_page=True)

                await row.get_by_role("link").click()
                await expect(page.get_by_test_id("rack-view")).to_be_visible()
                await expect(page.get_by_test_id("port-tor-1-1")).to_have_attribute(
                    "data-vlan-role", "clean"
                )
                await expect(page.get_by_test_id("uplink")).to_have_attribute("data-up", "false")
                await expect(page.get_by_test_id("outlet-pdu-a-24")).to_have_attribute(
                    "data-on", "true"
                )
                apps = page.get_by_test_id("apps").locator("tr[data-app]")
                await expect(apps).to_have_count(len(config.application))
                await expect(page.locator('tr[data-app="identity"]')).to_have_attribute(
                    "data-met", "true"
                )

                # A fault raises an alarm that appears, then clears.
                sim.bmcs["hv-1"].set_temperature("Inlet Temp", 66.0)
                alarm = page.locator('li[data-alarm^="hv-1:"]')
                await expect(alarm).to_have_count(1, timeout=30_000)
                await expect(row).to_have_attribute("data-alarms", "1")  # the fleet row too
                await page.screenshot(path=str(shots / "rack.png"), full_page=True)
                sim.bmcs["hv-1"].set_temperature("Inlet Temp", 22.0)
                await expect(alarm).to_have_count(0, timeout=30_000)

                # Two-person rule: admin 1 proposes, admin 2 approves in French.
                await _load_key(page, "ars-admin-1.pem")
                await page.get_by_test_id("verb").select_option("network.connect")
                await page.get_by_test_id("sign").click()
                proposal = page.locator('li[data-verb="network.connect"]')
                await expect(proposal).to_have_attribute("data-state", "proposed")

                second = await browser.new_context(locale="fr-FR")
                other = await second.new_page()
                await other.goto(board.url)
                await _load_key(other, "ars-admin-2.pem")
                approve = other.get_by_test_id("approve")
                await expect(approve).to_have_text("Approuver avec ma clé")
                await approve.click()
                await expect(proposal).to_have_attribute("data-state", "result", timeout=30_000)
                await expect(page.get_by_test_id("uplink")).to_have_attribute(
                    "data-up", "true", timeout=30_000
                )
                await expect(page.get_by_test_id("port-tor-1-24")).to_have_attribute(
                    "data-admin", "1"
                )

                # The proposer's own key cannot be the second signature.
                await page.get_by_test_id("verb").select_option("network.connect")
                await page.get_by_test_id("sign").click()
                pending = page.locator('li[data-verb="network.connect"][data-state="proposed"]')
                await expect(pending).to_have_count(1)
                third = await browser.new_context(locale="en-US")
                again = await third.new_page()
                await again.goto(board.url)
                await _load_key(again, "ars-admin-1.pem")
                await again.get_by_test_id("approve").click()
                refused = page.locator('li[data-verb="network.connect"][data-state="refused"]')
                await expect(refused).to_have_count(1, timeout=30_000)
                await expect(refused.get_by_test_id("reply")).to_contain_text("approval_invalid")
            finally:
                daemon.request_stop("test finished")
                await runner
    docs = ROOT / "docs"
    if docs.is_dir() and not (docs / "board-fleet.png").exists():
        shutil.copy(shots / "fleet.png", docs / "board-fleet.png")
        shutil.copy(shots / "rack.png", docs / "board-rack.png")
