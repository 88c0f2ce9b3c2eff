"""The board in headless Chromium against the running product and the channel doubles."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Dialog, Page, ViewportSize, expect

from tests.board_support import (
    MARIA_PHONE,
    MARIA_TG,
    ROOFTOP,
    ROOFTOP_FROM,
    make_token,
    rename_customer,
    vip_job,
)
from tests.browser import ARTIFACTS
from tests.channel_app import Product

LAPTOP: ViewportSize = {"width": 1400, "height": 900}
TABLET: ViewportSize = {"width": 1024, "height": 768}
TUAN_PHONE = "+15125550104"
pytestmark = pytest.mark.browser


def watch(page: Page) -> list[str]:
    """Errors and dialogs the page produces (a CSP violation or an injected script shows up)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


async def open_board(browser: Browser, p: Product, *, touch: bool = False) -> Page:
    token = await make_token(p.engine, p.clock.now(), "dispatcher", "D01")
    context = await browser.new_context(
        viewport=TABLET if touch else LAPTOP, has_touch=touch, is_mobile=False
    )
    page = await context.new_page()
    await page.goto(str(p.client.make_url("/board")))
    await page.fill("#token", token)
    await page.click("#submit")
    await expect(page.locator("#live")).to_have_text("live")
    return page


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


async def test_a_dispatcher_logs_in_and_sees_twelve_technicians(
    browser: Browser, board_product: Product
) -> None:
    await vip_job(board_product)
    page = await open_board(browser, board_product)
    problems = watch(page)
    await expect(page.locator("#rows .row")).to_have_count(12)
    await expect(page.locator('.row[data-tech="T01"] .name')).to_contain_text("Maria Lopez")
    await expect(page.locator("#queue .qjob")).to_have_count(1)
    await shot(page, "board-laptop.png")
    assert problems == []


async def test_without_a_session_the_board_is_the_login_page(
    browser: Browser, board_product: Product
) -> None:
    page = await browser.new_page()
    await page.goto(str(board_product.client.make_url("/board")))
    await expect(page.locator("#token")).to_be_visible()
    await expect(page.locator(".row")).to_have_count(0)


async def test_a_technicians_token_is_refused(browser: Browser, board_product: Product) -> None:
    p = board_product
    token = await make_token(p.engine, p.clock.now(), "technician", "T01")
    page = await browser.new_page()
    await page.goto(str(p.client.make_url("/board")))
    await page.fill("#token", token)
    await page.click("#submit")
    await expect(page.locator("#title")).to_have_text("Not for you")
    await page.goto(str(p.client.make_url("/board")))
    await expect(page.locator("#token")).to_be_visible()


async def test_a_technicians_accept_on_telegram_shows_on_the_open_board(
    browser: Browser, board_product: Product
) -> None:
    p, tg = board_product, board_product.tg
    await p.telegram(tg.make_update_contact(MARIA_TG, MARIA_PHONE, first_name="Maria"))
    await p.sms(ROOFTOP_FROM, ROOFTOP)
    await p.deliver()
    [card] = [m for m in tg.messages_to(MARIA_TG) if "reply_markup" in m]
    page = await open_board(browser, p)
    job = page.locator('.row[data-tech="T01"] .job[data-job="WO-1001"] .status')
    await expect(job).to_have_text("offered")
    accept = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await p.telegram(tg.make_update_callback(MARIA_TG, accept, card["message_id"]))
    await expect(job).to_have_text("assigned", timeout=2000)
    await shot(page, "board-live-update.png")


async def test_dragging_a_flagged_job_onto_a_technician_assigns_it_and_tells_them(
    browser: Browser, board_product: Product
) -> None:
    p = board_product
    seq = await vip_job(p)
    page = await open_board(browser, p)
    problems = watch(page)
    item = page.locator(f'#queue .qjob[data-job="WO-{seq}"]')
    target = page.locator('.row[data-tech="T04"] .lane')
    start, end = await item.bounding_box(), await target.bounding_box()
    assert start is not None and end is not None
    await page.mouse.move(start["x"] + 20, start["y"] + 10)
    await page.mouse.down()
    await page.mouse.move(end["x"] + 40, end["y"] + end["height"] / 2, steps=12)
    await page.mouse.up()
    await expect(page.locator(f'.row[data-tech="T04"] .job[data-job="WO-{seq}"]')).to_have_count(1)
    await expect(item).to_have_count(0)
    await shot(page, "board-after-drag.png")
    await p.deliver()
    assert any(f"WO-{seq}" in sms.body for sms in p.tw.sent_to(TUAN_PHONE))
    assert problems == []


async def test_a_broken_rule_asks_for_a_reason_and_the_reason_overrides_it(
    browser: Browser, board_product: Product
) -> None:
    p = board_product
    seq = await vip_job(p)
    page = await open_board(browser, p)
    prompts: list[str] = []

    async def answer(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        await dialog.accept("Maria did the warranty work on this unit")

    page.on("dialog", answer)
    await page.locator(f'#queue .qjob[data-job="WO-{seq}"]').drag_to(
        page.locator('.row[data-tech="T01"] .lane')
    )
    await expect(page.locator(f'.row[data-tech="T01"] .job[data-job="WO-{seq}"]')).to_have_count(1)
    [prompt] = prompts
    assert "lacks the skill level" in prompt


async def test_tapping_a_job_opens_its_explanation_and_a_tap_on_a_technician_assigns_it(
    browser: Browser, board_product: Product
) -> None:
    p = board_product
    seq = await vip_job(p)
    page = await open_board(browser, p, touch=True)
    await page.locator(f'#queue .qjob[data-job="WO-{seq}"]').tap()
    why = page.locator("#why")
    await expect(why.locator(".chosen")).to_contain_text("Tuan Nguyen")
    await expect(why.locator(".runners-up li")).not_to_have_count(0)
    await expect(why.locator(".excluded")).to_contain_text("Maria Lopez (T01): lacks the skill")
    await shot(page, "board-tablet-explanation.png")
    await page.locator('.row[data-tech="T11"] .name').tap()
    await expect(page.locator(f'.row[data-tech="T11"] .job[data-job="WO-{seq}"]')).to_have_count(1)


async def test_a_customer_named_like_a_script_is_shown_as_text(
    browser: Browser, board_product: Product
) -> None:
    p = board_product
    name = "<script>alert(1)</script>"
    await rename_customer(p.engine, "C001", name)
    seq = await vip_job(p)
    page = await open_board(browser, p)
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    problems = watch(page)
    item = page.locator(f'#queue .qjob[data-job="WO-{seq}"]')
    await expect(item.locator(".cust")).to_have_text(name)
    await item.click()
    await expect(page.locator("#panel-body dd").first).to_have_text(name)
    assert await page.locator("#queue script, #panel script").count() == 0
    assert dialogs == [] and problems == []
