"""Abuse (§11): rate limits, forgeries, replays, role escalation, guessed tokens, oversized
media and bodies, markup injection."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.billing_repo import BillingRepository
from storage.db import session_factory
from storage.tables import CustomerRow, OfferRow, WorkOrderRow
from storage.uow import SqlUnitOfWork
from tests.channel_app import PUBLIC, SECRET, Product
from tests.doubles.fixtures import TWILIO_FROM_NUMBER

CUSTOMER = "+15125550126"  # C007 Hillside Senior Living
OTHER_CUSTOMER = "+15125550120"  # C001 Lone Star Restaurant Group
TECHNICIAN = "+15125550101"  # T01
COOLER = "the kitchen walk-in at Manchaca is reading 45, can someone check it today"
FREEZER = "walk-in freezer alarm going off at the Congress Ave location"


def messages(twiml: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<Message>(.*?)</Message>", twiml, flags=re.S)]


async def reply(p: Product, sender: str, text: str) -> list[str]:
    status, twiml = await p.sms(sender, text)
    assert status == 200
    return messages(twiml)


async def work_orders(p: Product) -> list[tuple[int, str, str | None, str]]:
    async with AsyncSession(p.engine) as s:
        rows = await s.scalars(select(WorkOrderRow).order_by(WorkOrderRow.seq))
        return [(r.seq, r.status, r.technician_id, r.customer_id) for r in rows]


async def offers(p: Product) -> list[tuple[str, str]]:
    async with AsyncSession(p.engine) as s:
        return [(o.technician_id, o.status) for o in await s.scalars(select(OfferRow))]


# --- Rate limit ----------------------------------------------------------------------------


async def test_the_21st_message_in_a_minute_gets_one_polite_reply_and_the_22nd_nothing(
    product: Product,
) -> None:
    p = product
    for _ in range(20):
        assert len(await reply(p, CUSTOMER, "HELP")) == 1
    assert await reply(p, CUSTOMER, "HELP") == [
        "You're sending messages faster than we can read them. Please wait a minute."
    ]
    assert await reply(p, CUSTOMER, "HELP") == []
    assert len(await reply(p, OTHER_CUSTOMER, "HELP")) == 1  # someone else is not limited
    p.clock.advance(timedelta(seconds=61))
    [answer] = await reply(p, CUSTOMER, "HELP")
    assert "faster" not in answer


# --- Forgeries and replays -----------------------------------------------------------------


async def test_forged_signatures_and_secrets_are_403_store_nothing_and_are_counted(
    product: Product,
) -> None:
    p = product
    form = p.tw.inbound_sms_form(CUSTOMER, TWILIO_FROM_NUMBER, COOLER)
    other_url = p.tw.sign("https://attacker.example/webhooks/twilio/sms", form)
    for signature in ("forged", other_url, p.tw.sign(PUBLIC + "/webhooks/twilio/sms", {})):
        assert (await p.post_sms_form(form, signature=signature))[0] == 403
    status_form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    forged_status = await p.client.post(
        "/webhooks/twilio/status", data=status_form, headers={"X-Twilio-Signature": "x"}
    )
    assert forged_status.status == 403
    update_ = p.tg.make_update_text(424242, FREEZER)
    assert await p.telegram(update_, secret="guessed") == 403
    assert await p.telegram(update_, secret="") == 403
    for table in ("inbound_messages", "work_orders", "outbox", "customers"):
        assert await p.count(table) == (30 if table == "customers" else 0), table
    metrics = await (await p.client.get("/metrics")).text()
    forbidden = re.findall(r"_total{channel=\"(\w+)\",result=\"forbidden\"} ([\d.]+)", metrics)
    assert {k: float(n) for k, n in forbidden} == {"sms": 3.0, "sms_status": 1.0, "telegram": 2.0}


async def test_a_telegram_update_replayed_later_is_still_one_work_order(product: Product) -> None:
    p, user = product, 434343
    assert await p.telegram(p.tg.make_update_contact(user, CUSTOMER)) == 200  # links to C007
    update_ = p.tg.make_update_text(user, COOLER)
    assert await p.telegram(update_) == 200
    p.clock.advance(timedelta(minutes=5))
    assert await p.telegram(update_) == 200
    p.clock.advance(timedelta(days=1))
    assert await p.telegram(update_) == 200
    await p.deliver()
    assert [(seq, c) for seq, _, _, c in await work_orders(p)] == [(1001, "C007")]
    assert await p.count("inbound_messages") == 2
    confirmations = [m for m in p.tg.messages_to(user) if "WO-1001: got it" in m["text"]]
    assert len(confirmations) == 1


# --- Roles ---------------------------------------------------------------------------------


async def test_a_technician_cannot_run_dispatcher_commands(product: Product) -> None:
    p = product
    await reply(p, CUSTOMER, COOLER)
    before = (await work_orders(p), await offers(p))
    for command in ("/assign WO-1001 T02", "/assign 1001 T01", "/unassign WO-1001", "/board"):
        [answer] = await reply(p, TECHNICIAN, command)
        assert answer == (
            "Sorry, that command is for dispatchers only. Send /help to see what you can do."
        )
    assert await reply(p, TECHNICIAN, "A 1001") == ["WO-1001 is not offered to you (any more)."]
    assert (await work_orders(p), await offers(p)) == before


async def test_a_customer_cannot_cancel_or_see_another_customers_work_order(
    product: Product,
) -> None:
    p = product
    await reply(p, CUSTOMER, COOLER)  # WO-1001 for C007
    await reply(p, OTHER_CUSTOMER, FREEZER)  # WO-1002 for C001
    before = await work_orders(p)
    assert [c for _, _, _, c in before] == ["C007", "C001"]
    [answer] = await reply(p, OTHER_CUSTOMER, "CANCEL WO-1001")
    assert answer == ("We couldn't find WO-1001 among your work orders. Reply STATUS to see them.")
    assert await work_orders(p) == before
    [status] = await reply(p, CUSTOMER, "STATUS")
    assert "WO-1001" in status and "WO-1002" not in status
    [status] = await reply(p, OTHER_CUSTOMER, "STATUS")
    assert "WO-1002" in status and "WO-1001" not in status


async def test_guessed_signoff_and_invoice_links_and_api_tokens_are_refused(
    product: Product,
) -> None:
    p = product
    for _ in range(5):
        page = await p.client.get(f"/sign/{secrets.token_urlsafe(32)}")
        assert page.status in (404, 410)
        posted = await p.client.post(f"/sign/{secrets.token_urlsafe(32)}", data={"x": "y"})
        assert posted.status in (400, 404, 410)
        invoice = await p.client.get(f"/invoice/{secrets.token_urlsafe(32)}")
        assert invoice.status == 404 and invoice.content_type == "text/html"
    for header in (f"Bearer {secrets.token_urlsafe(32)}", "Bearer ", "Basic YTpi", ""):
        response = await p.client.get("/api/v1/work-orders", headers={"Authorization": header})
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"


# --- Sizes ---------------------------------------------------------------------------------


async def test_an_mms_over_10_mib_is_refused_with_a_reply_and_nothing_stored(
    product: Product,
) -> None:
    p = product
    await reply(p, CUSTOMER, COOLER)
    huge = b"\xff\xd8\xff\xe0" + b"\x00" * (11 * 1024 * 1024)
    form = p.tw.inbound_sms_form(
        CUSTOMER, TWILIO_FROM_NUMBER, "photo of the unit", media=[("image/jpeg", huge)]
    )
    status, twiml = await p.post_sms_form(form)
    assert status == 200
    assert messages(twiml) == [
        "Sorry, we can only keep photos (JPEG, PNG, WebP, HEIC) or PDFs up to 10 MB."
    ]
    assert await p.count("photos") == 0
    media_dir = p.settings.media_dir
    assert not media_dir.exists() or not any(f.is_file() for f in media_dir.rglob("*"))


async def test_a_body_over_1_mib_is_413_on_every_post_endpoint(product: Product) -> None:
    p = product
    big = b"x" * (1024 * 1024 + 1)
    posts = sorted(
        {
            r.resource.canonical
            for r in p.client.app.router.routes()
            if r.method == "POST" and r.resource is not None
        }
    )
    assert "/webhooks/twilio/sms" in posts and "/api/v1/requests" in posts
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        token = await uow.tokens.create("tests", p.clock.now())
        await uow.commit()
    # Credentials that pass the checks made before the body is read.
    passes = {
        "Authorization": f"Bearer {token}",
        "X-Telegram-Bot-Api-Secret-Token": SECRET,
        "X-Twilio-Signature": "checked-after-reading",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    for path in posts:
        url = re.sub(r"\{[^}]+\}", "WO-1001", path)
        response = await p.client.post(url, data=big)
        assert response.status == 413, path
        chunked = await p.client.post(url, data=_chunks(big), headers=passes)
        # Link pages (sign-off, board login) refuse an unknown link before reading: fine too.
        allowed = (413, 400, 404, 410) if "{" in path else (413,)
        assert chunked.status in allowed, f"{path} (chunked)"
    assert await p.count("inbound_messages") == 0


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    """No Content-Length: the limit must hold while reading, too."""
    for i in range(0, len(data), 65536):
        yield data[i : i + 65536]


# --- Markup --------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
MARKUP = "Sink <b>clogged</b> & *leaking* _fast_ [see](http://x.example) `now`"


async def test_markup_is_stored_verbatim_sent_plain_and_escaped_on_the_signoff_page(
    product: Product,
) -> None:
    p, tg, user = product, product.tg, 515151
    for n in range(1, 13):  # every technician on Telegram: the offer card goes there
        await p.telegram(tg.make_update_contact(9000 + n, f"+1512555{100 + n:04d}"))
    await p.telegram(tg.make_update_text(user, MARKUP))
    await p.telegram(tg.make_update_text(user, SCRIPT))
    await p.telegram(tg.make_update_text(user, "2612 Barton Hills Dr, Austin TX 78704"))
    await p.deliver()
    async with AsyncSession(p.engine) as s:
        wo = (await s.scalars(select(WorkOrderRow))).one()
        customer = await s.get(CustomerRow, wo.customer_id)
    assert wo.description == MARKUP
    assert customer is not None and customer.name == SCRIPT
    cards = [c for c in tg.calls("sendMessage") if "clogged" in c.params["text"]]
    assert cards, "no Telegram message carried the description"
    for card in cards:
        if card.parse_mode is None:
            assert "Sink <b>clogged</b> & *leaking* _fast_" in card.params["text"]
        else:  # with a parse mode, the markup must arrive escaped
            assert "<b>clogged</b>" not in card.params["text"], card.params
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        token = await uow.tokens.create("tests", p.clock.now())
        await uow.commit()
    record = await (
        await p.client.get(
            f"/api/v1/work-orders/{wo.seq}", headers={"Authorization": f"Bearer {token}"}
        )
    ).json()
    assert record["customer"]["name"] == SCRIPT
    assert record["description"] == MARKUP
    async with AsyncSession(p.engine) as s:
        await s.execute(
            update(WorkOrderRow)
            .where(WorkOrderRow.seq == wo.seq)
            .values(status="completed", technician_id="T01")
        )
        await s.commit()
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        link, _ = await BillingRepository(uow.session).create_signoff_link(
            wo.seq, p.clock.now(), timedelta(days=1)
        )
        await uow.commit()
    page = await p.client.get(f"/sign/{link}")
    assert page.status == 200
    body = await page.text()
    assert SCRIPT not in body and "<b>clogged</b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;clogged&lt;/b&gt; &amp;" in body
