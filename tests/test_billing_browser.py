"""The signature page in headless Chromium: sign with a mouse and with a finger, then submit."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Page

from dispatch.clock import FixedClock
from storage.billing_repo import BillingRepository
from tests.browser import ARTIFACTS
from tests.test_billing_support import Client, UowFactory, add_completed_job, billing_client

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_company")]


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
async def web(database_url: str, clock: FixedClock, media: Path) -> AsyncIterator[Client]:
    async with billing_client(database_url, clock, media) as client:
        yield client


async def signable_job(uow: UowFactory, clock: FixedClock) -> tuple[int, str]:
    start = clock.now() - timedelta(hours=2)
    seq = await add_completed_job(
        uow,
        clock.now(),
        work=((start, start + timedelta(minutes=75)),),
        parts=(("CAP-455", "Dual run capacitor 45/5 µF", Decimal(1), Decimal(38)),),
    )
    async with uow() as u:
        token, _ = await BillingRepository(u.session).create_signoff_link(
            seq, clock.now(), timedelta(days=3)
        )
        await u.commit()
    return seq, token


def watch_console(page: Page) -> list[str]:
    """Errors the page logs (a CSP violation that blocks our own script shows up here)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


async def pad_box(page: Page) -> tuple[float, float, float, float]:
    box = await page.locator("canvas#pad").bounding_box()
    assert box is not None
    return box["x"], box["y"], box["width"], box["height"]


def ink_pixels(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    return sum(image.getchannel("A").histogram()[33:])


async def test_customer_signs_with_the_mouse_and_the_signature_is_stored(
    browser: Browser, web: Client, uow: UowFactory, clock: FixedClock, media: Path
) -> None:
    seq, token = await signable_job(uow, clock)
    page = await browser.new_page(viewport={"width": 800, "height": 900})
    problems = watch_console(page)
    await page.goto(str(web.make_url(f"/sign/{token}")))
    x, y, w, h = await pad_box(page)
    await page.mouse.move(x + 0.1 * w, y + 0.7 * h)
    await page.mouse.down()
    for i in range(1, 21):
        await page.mouse.move(x + (0.1 + 0.04 * i) * w, y + (0.7 - 0.4 * (i % 2)) * h, steps=2)
    await page.mouse.up()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "sign-page.png"), full_page=True)
    await page.click("#submit")
    await page.wait_for_selector("#thanks:not([hidden])")
    assert "INV-2026-0001" in await page.inner_text("#thanks")
    assert problems == []
    async with uow() as u:
        signoff = await BillingRepository(u.session).signoff(seq)
    assert signoff is not None
    assert signoff.ip == "127.0.0.1"
    assert signoff.user_agent is not None
    assert "Chrome" in signoff.user_agent
    assert signoff.image_path is not None
    assert ink_pixels((media / signoff.image_path).read_bytes()) > 100


async def test_customer_signs_with_a_finger_on_a_phone(
    browser: Browser, web: Client, uow: UowFactory, clock: FixedClock, media: Path
) -> None:
    seq, token = await signable_job(uow, clock)
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    page = await context.new_page()
    problems = watch_console(page)
    await page.goto(str(web.make_url(f"/sign/{token}")))
    await page.locator("canvas#pad").scroll_into_view_if_needed()
    x, y, w, h = await pad_box(page)
    cdp = await context.new_cdp_session(page)
    points = [(x + w * (0.1 + 0.08 * i), y + h * (0.3 + 0.4 * (i % 2))) for i in range(11)]
    await cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [_t(points[0])]}
    )
    for p in points[1:]:
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [_t(p)]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await page.screenshot(path=str(ARTIFACTS / "sign-page-phone.png"), full_page=True)
    await page.click("#submit")
    await page.wait_for_selector("#thanks:not([hidden])")
    assert problems == []
    async with uow() as u:
        signoff = await BillingRepository(u.session).signoff(seq)
    assert signoff is not None
    assert signoff.image_path is not None
    png = (media / signoff.image_path).read_bytes()
    assert Image.open(io.BytesIO(png)).width == round(w * 3)  # drawn at device resolution
    assert ink_pixels(png) > 100
    await context.close()


def _t(point: tuple[float, float]) -> dict[str, float]:
    return {"x": point[0], "y": point[1]}


async def test_submitting_an_empty_pad_asks_for_a_signature(
    browser: Browser, web: Client, uow: UowFactory, clock: FixedClock
) -> None:
    _, token = await signable_job(uow, clock)
    page = await browser.new_page()
    await page.goto(str(web.make_url(f"/sign/{token}")))
    await page.click("#submit")
    assert "sign in the box" in await page.inner_text("#message")


async def test_wrong_and_expired_links_show_a_refusal_page(
    browser: Browser, web: Client, uow: UowFactory, clock: FixedClock
) -> None:
    _, token = await signable_job(uow, clock)
    page = await browser.new_page()
    wrong = await page.goto(str(web.make_url("/sign/nope")))
    assert wrong is not None
    assert wrong.status == 404
    assert await page.locator("canvas").count() == 0
    clock.advance(timedelta(days=4))
    expired = await page.goto(str(web.make_url(f"/sign/{token}")))
    assert expired is not None
    assert expired.status == 410
    assert "Link expired" in await page.inner_text("h1")
