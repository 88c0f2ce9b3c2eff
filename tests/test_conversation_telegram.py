"""Customers and technicians on Telegram, through python-telegram-bot against the Bot API double."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import InboundRow, PhotoRow, SiteRow, WorkOrderRow
from tests.channel_app import SECRET, Product

JO = 424242  # a Telegram user we have never seen


async def test_a_telegram_request_with_a_location_share_becomes_a_work_order(
    product: Product,
) -> None:
    p, tg = product, product.tg
    assert (
        await p.telegram(
            tg.make_update_text(
                JO,
                "Kitchen sink drain fully clogged and backing up",
                username="new_customer_jo",
                first_name="Jo",
            )
        )
        == 200
    )
    await p.deliver()
    assert (
        tg.last_message_to(JO)["text"]
        == "Thanks for reaching out! What name should we put this under?"
    )
    await p.telegram(tg.make_update_text(JO, "Jo Park"))
    await p.deliver()
    ask = tg.calls("sendMessage")[-1]
    assert "service address" in ask.params["text"]
    keyboard = ask.params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_location"] is True
    await p.telegram(tg.make_update_location(JO, 30.3090, -97.7140))
    await p.deliver()
    assert tg.last_message_to(JO)["text"].startswith("WO-1001: got it. Plumbing at Shared location")
    async with AsyncSession(p.engine) as s:
        wo = (await s.scalars(select(WorkOrderRow))).one()
        site = (await s.scalars(select(SiteRow).where(SiteRow.id == wo.site_id))).one()
    assert (site.lat, site.lon) == (30.3090, -97.7140)
    assert wo.status in ("offered", "needs_info", "ready") and wo.skill_id == "plumbing"
    assert wo.source_channel == "telegram"


async def test_a_telegram_photo_is_fetched_with_getfile_and_attached(product: Product) -> None:
    p, tg = product, product.tg
    await p.telegram(tg.make_update_text(JO, "Kitchen sink drain fully clogged and backing up"))
    await p.telegram(tg.make_update_text(JO, "Jo Park"))
    await p.telegram(tg.make_update_location(JO, 30.3090, -97.7140))
    jpeg = b"\xff\xd8\xff\xe0" + b"pixels" * 100
    assert await p.telegram(tg.make_update_photo(JO, jpeg, caption="this is the drain")) == 200
    assert [c.method for c in tg.sent if c.method in ("getFile",)] == ["getFile"]
    await p.deliver()
    assert tg.last_message_to(JO)["text"] == "Photo added to WO-1001. Thanks!"
    async with AsyncSession(p.engine) as s:
        photo = (await s.scalars(select(PhotoRow))).one()
    assert (p.settings.media_dir / photo.path).read_bytes() == jpeg


async def test_the_same_update_five_times_is_one_work_order_and_one_reply(product: Product) -> None:
    p, tg = product, product.tg
    update = tg.make_update_text(
        JO, "garage door spring snapped, car stuck inside, 4406 Duval St 78751"
    )
    assert [await p.telegram(update) for _ in range(5)] == [200] * 5
    await p.deliver()
    assert len(tg.messages_to(JO)) == 1
    assert await p.count("work_orders") == 1
    assert await p.count("inbound_messages") == 1


async def test_a_wrong_or_missing_secret_is_403_and_stores_nothing(product: Product) -> None:
    p, tg = product, product.tg
    update = tg.make_update_text(JO, "hello")
    assert await p.telegram(update, secret="wrong-secret-0123456789") == 403
    response = await p.client.post("/webhooks/telegram", json=update)
    assert response.status == 403
    assert await p.count("inbound_messages") == 0
    assert SECRET  # the right one works:
    assert await p.telegram(update) == 200


async def test_malformed_telegram_bodies_are_400_never_500(product: Product) -> None:
    p = product
    bodies = [
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"update_id": "x"}',
        b'{"message": {}}',
        b'{"update_id": 1, "message": "nope"}',
        b'{"update_id": 1, "message": {"chat": 5}}',
        b"\xff\xfe",
        b'{"update_id": 1, "message": {"text": "\\ud800"}}',
    ]
    for body in bodies:
        response = await p.client.post(
            "/webhooks/telegram",
            data=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
        )
        assert response.status == 400, body
    async with AsyncSession(p.engine) as s:
        assert (await s.scalars(select(InboundRow))).first() is None


async def test_a_technician_links_by_sharing_their_contact_and_answers_offers_with_buttons(
    product: Product,
) -> None:
    p, tg = product, product.tg
    maria = 1001
    await p.telegram(tg.make_update_contact(maria, "15125550101", first_name="Maria"))
    await p.deliver()
    assert tg.last_message_to(maria)["text"].startswith("Hi Maria Lopez, this chat is now linked")
    # A rooftop unit in the north needs EPA 608, the ladder and the north territory: only
    # Maria has all three, so the engine offers it to her, on Telegram now.
    await p.sms(
        "+15125550129", "rooftop unit 2 at the anderson ln office is blowing warm air, today please"
    )
    await p.deliver()
    [card] = [m for m in tg.messages_to(maria) if "reply_markup" in m]
    assert card["text"].startswith("WO-1001 P2 Urgent: Heating & cooling")
    buttons = card["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Accept", "Decline"]
    await p.telegram(
        tg.make_update_callback(maria, buttons[0]["callback_data"], card["message_id"])
    )
    await p.deliver()
    assert tg.last_message_to(maria)["text"].endswith("is yours.")
    assert tg.answered_callbacks
