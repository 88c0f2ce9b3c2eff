"""Customers on SMS: intake, follow-up questions, replays, signatures, STOP/START/HELP."""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import (
    CustomerRow,
    IdentityRow,
    InboundRow,
    OfferRow,
    OutboxRow,
    SiteRow,
    WorkOrderRow,
)
from tests.channel_app import Product

KNOWN = "+15125550126"  # Hillside Senior Living (several sites)
TINY_JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def messages(twiml: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<Message>(.*?)</Message>", twiml, flags=re.S)]


async def work_orders(p: Product) -> list[WorkOrderRow]:
    async with AsyncSession(p.engine) as session:
        return list(await session.scalars(select(WorkOrderRow).order_by(WorkOrderRow.seq)))


async def test_a_customer_sms_becomes_a_work_order_and_a_twiml_confirmation(
    product: Product,
) -> None:
    p = product
    status, twiml = await p.sms(
        KNOWN,
        "Good morning, the kitchen walk-in at Manchaca is reading 45, can someone check it today",
    )
    assert status == 200
    [reply] = messages(twiml)
    assert reply.startswith("WO-1001: got it. Commercial refrigeration at 6800 Manchaca Rd")
    [wo] = await work_orders(p)
    assert (wo.status, wo.skill_id, wo.priority, wo.site_id) == (
        "offered",
        "refrigeration",
        "P2",
        "S018",
    )
    # The engine offered it in the same transaction: the offer card waits in the outbox.
    async with AsyncSession(p.engine) as session:
        offer = (await session.scalars(select(OfferRow))).one()
        card = (await session.scalars(select(OutboxRow).where(OutboxRow.kind == "offer"))).one()
    assert offer.technician_id in {"T04", "T11"}  # refrigeration, EPA 608, south/central
    assert card.payload["text"].startswith("WO-1001 P2 Urgent: Commercial refrigeration")
    assert [c["reply"] for c in card.payload["choices"]] == ["A 1001", "D 1001"]


async def test_a_stranger_is_asked_for_name_then_address_one_question_at_a_time(
    product: Product,
) -> None:
    p = product
    stranger = "+15125550160"
    _, first = await p.sms(
        stranger, "hi my ac unit is making a loud buzzing noise and the fan on top isnt spinning"
    )
    assert messages(first) == ["Thanks for reaching out! What name should we put this under?"]
    _, second = await p.sms(stranger, "Tanya Brooks")
    assert "service address" in messages(second)[0]
    _, third = await p.sms(stranger, "2612 Barton Hills Dr, Austin TX 78704")
    assert messages(third)[0].startswith(
        "WO-1001: got it. Heating & cooling at 2612 Barton Hills Dr"
    )
    [wo] = await work_orders(p)
    assert wo.status == "offered"
    async with p.engine.connect() as conn:
        name = (
            await conn.execute(select(CustomerRow.name).where(CustomerRow.id == wo.customer_id))
        ).scalar_one()
        site = (await conn.execute(select(SiteRow).where(SiteRow.id == wo.site_id))).one()
    assert name == "Tanya Brooks"
    assert site.zip == "78704"
    assert site.lat is not None


async def test_three_unclear_answers_hand_the_request_to_a_dispatcher(product: Product) -> None:
    p = product
    stranger = "+15125550161"
    await p.sms(stranger, "my garage door opener is broken and wont open at all")
    await p.sms(stranger, "Sam")
    replies = [messages((await p.sms(stranger, text))[1])[0] for text in ("??", "dunno", "idk")]
    assert replies[0].startswith("Sorry, I didn't catch that.")
    assert replies[2] == "Thanks. A dispatcher will contact you shortly about WO-1001."
    [wo] = await work_orders(p)
    assert wo.status == "needs_info"
    assert wo.flag_reason is not None and wo.flag_reason.startswith("intake_unclear")


async def test_the_same_message_posted_five_times_makes_one_work_order_and_one_reply(
    product: Product,
) -> None:
    p = product
    form = p.tw.inbound_sms_form(
        KNOWN, "+15005550006", "walk-in cooler at Manchaca is warm, reading 45"
    )
    replies = [messages((await p.post_sms_form(form))[1]) for _ in range(5)]
    assert [len(r) for r in replies] == [1, 0, 0, 0, 0]
    assert len(await work_orders(p)) == 1
    assert await p.count("inbound_messages") == 1


async def test_forged_or_missing_signatures_are_403_and_store_nothing(product: Product) -> None:
    p = product
    form = p.tw.inbound_sms_form(KNOWN, "+15005550006", "walk-in cooler is warm")
    assert (await p.post_sms_form(form, signature="forged"))[0] == 403
    assert (await p.post_sms_form(form, signature=""))[0] == 403
    tampered = {**form, "Body": "cancel everything"}
    sig = p.tw.sign("https://callout.example/webhooks/twilio/sms", form)
    assert (await p.post_sms_form(tampered, signature=sig))[0] == 403
    assert await p.count("inbound_messages") == 0
    assert await p.count("work_orders") == 0


async def test_an_mms_photo_is_downloaded_and_attached_to_the_open_work_order(
    product: Product,
) -> None:
    p = product
    await p.sms(KNOWN, "walk-in cooler at Manchaca is warm, reading 45, please check today")
    status, twiml = await p.sms(KNOWN, "here is the thermometer", media=[("image/jpeg", TINY_JPEG)])
    assert status == 200
    assert messages(twiml) == ["Photo added to WO-1001. Thanks!"]
    photos = list((p.settings.media_dir).rglob("*.jpg"))
    assert len(photos) == 1 and photos[0].read_bytes() == TINY_JPEG
    assert await p.count("photos") == 1


async def test_a_non_image_attachment_is_refused_with_a_reply(product: Product) -> None:
    p = product
    await p.sms(KNOWN, "walk-in cooler at Manchaca is warm, reading 45, please check today")
    _, twiml = await p.sms(KNOWN, "see attached", media=[("application/zip", b"PK\x03\x04zip")])
    assert "only keep photos" in messages(twiml)[0]
    assert await p.count("photos") == 0


async def test_stop_opts_out_start_opts_back_in_and_help_names_the_company(
    product: Product,
) -> None:
    p = product
    _, stop = await p.sms(KNOWN, "STOP")
    assert "unsubscribed" in messages(stop)[0]
    async with p.engine.connect() as conn:
        opted = (
            await conn.execute(select(IdentityRow.opted_out).where(IdentityRow.address == KNOWN))
        ).scalar_one()
    assert opted is True
    _, start = await p.sms(KNOWN, "start")
    assert "subscribed" in messages(start)[0]
    _, help_ = await p.sms(KNOWN, "HELP")
    assert messages(help_)[0].startswith("Ridgeback Home & Commercial Services:")
    assert "555-0190" in messages(help_)[0] or "5550190" in messages(help_)[0]


async def test_status_and_cancel(product: Product) -> None:
    p = product
    await p.sms(KNOWN, "walk-in cooler at Manchaca is warm, reading 45, please check today")
    _, status = await p.sms(KNOWN, "status")
    assert messages(status) == ["WO-1001 Commercial refrigeration: finding a technician"]
    _, other = await p.sms("+15125550120", "CANCEL WO-1001")
    assert "couldn't find WO-1001" in messages(other)[0]
    _, cancel = await p.sms(KNOWN, "cancel wo-1001")
    assert messages(cancel) == ["WO-1001 is cancelled. Text us anytime if you need us again."]
    [wo] = await work_orders(p)
    assert wo.status == "cancelled"


async def test_malformed_twilio_posts_are_400_never_500(product: Product) -> None:
    p = product
    bodies = [
        {},
        {"MessageSid": "SM1"},
        {"MessageSid": "SM1", "From": "nobody"},
        {"MessageSid": "SM1", "From": "+15125550126", "NumMedia": "lots"},
        {"MessageSid": "x" * 100, "From": "+15125550126"},
    ]
    for form in bodies:
        status, _ = await p.post_sms_form(form)
        assert status == 400, form
    async with p.engine.connect() as conn:
        assert (await conn.execute(select(InboundRow))).first() is None


async def test_after_stop_a_push_is_not_attempted_and_the_dispatchers_are_told(
    product: Product,
) -> None:
    p = product
    one_site = "+15125550131"  # C012: plumbing in central Austin
    await p.sms(one_site, "toilet is leaking at the base, please come today")
    _, stop = await p.sms(one_site, "STOP")
    assert "unsubscribed" in messages(stop)[0]
    async with AsyncSession(p.engine) as session:
        offer = (await session.scalars(select(OfferRow))).one()
    tech_phone = f"+1512555{int(offer.technician_id[1:]) + 100:04d}"
    await p.sms(tech_phone, "A 1001")  # accepted: the customer would be told who is coming
    await p.deliver()
    assert p.tw.sent_to(one_site) == []
    told = [s.body for d in ("+15125550190", "+15125550191") for s in p.tw.sent_to(d)]
    assert any("opted out" in body for body in told), told
    _, start = await p.sms(one_site, "START")
    assert "subscribed" in messages(start)[0]
