"""The simulator page in headless Chromium: type as a customer, watch the technician's phone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.clock import FixedClock
from tests.browser import screenshot
from webhooks.app import init_app
from webhooks.config import Settings

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
