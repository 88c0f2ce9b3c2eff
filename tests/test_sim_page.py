"""The simulator page in headless Chromium: type as a customer, watch the technician's phone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.clock import FixedClock, StartedClock
from tests.browser import screenshot
from tests.conftest import DEMO_NOW
from webhooks.app import init_app
from webhooks.config import Settings
from webhooks.demo import prepare

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_company")]
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def sim(
    database_url: str, engine: AsyncEngine, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Client]:
    app = init_app(Settings(database_url=database_url, media_dir=tmp_path / "media"), clock=clock)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_a_customer_typed_on_the_sim_page_reaches_the_technician(
    browser: Browser, sim: Client
) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await page.goto(str(sim.make_url("/sim")))
    phones = page.locator(".phone")
    await expect(phones).to_have_count(2 + 12 + 30)
    customer = page.locator('.phone[data-phone="+15125550129"]')  # Northcross Office
    await customer.locator("input").fill(
        "rooftop unit 2 at the anderson ln office is blowing warm air, today please"
    )
    await customer.locator("button").click()
    await expect(customer.locator(".msg.out")).to_contain_text("WO-1001: got it.")
    maria = page.locator('.phone[data-phone="+15125550101"]')
    await expect(maria.locator(".msg.out")).to_contain_text("WO-1001 P2 Urgent", timeout=5000)
    await maria.locator(".choice", has_text="A 1001").click()
    await expect(maria.locator(".msg.out").last).to_contain_text("WO-1001 is yours.")
    await screenshot(page, "sim-page")


async def test_the_sim_page_escapes_names(
    browser: Browser, sim: Client, engine: AsyncEngine
) -> None:
    from sqlalchemy import update

    from storage.tables import CustomerRow

    async with engine.begin() as conn:
        await conn.execute(
            update(CustomerRow)
            .where(CustomerRow.id == "C001")
            .values(name="<script>alert(1)</script>")
        )
    page = await browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await page.goto(str(sim.make_url("/sim")))
    await expect(page.locator('.phone[data-phone="+15125550120"] h2')).to_contain_text(
        "<script>alert(1)</script>"
    )
    assert dialogs == []


@pytest.fixture
async def demo_sim(database_url: str, engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[Client]:
    """`callout demo` in-process: its preparation, the worker, the clock at 07:00 running."""
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media", now=DEMO_NOW)
    await prepare(settings)
    app = init_app(settings, clock=StartedClock(DEMO_NOW), worker=True)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_the_play_button_plays_the_demo_day_on_the_phones(
    browser: Browser, demo_sim: Client
) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await page.goto(str(demo_sim.make_url("/sim")))
    await expect(page.locator("#replay-status")).to_contain_text("clock 07:0")
    await page.select_option("#speed", "600")
    await page.click("#play")
    await expect(page.locator("#replay-status")).to_contain_text("playing at 600×")
    await expect(page.locator("#play")).to_be_disabled()
    gas = page.locator('.phone[data-phone="+15125550134"]')  # the day's first request, 07:02
    await expect(gas.locator(".msg.in").first).to_contain_text("i smell gas", timeout=20_000)
    await expect(gas.locator(".msg.out").first).to_contain_text("WO-", timeout=10_000)
    await screenshot(page, "sim-page-replay")
