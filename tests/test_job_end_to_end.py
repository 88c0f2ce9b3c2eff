"""A job from the customer's first message to a PDF invoice, over real HTTP against the
Bot API and Twilio doubles, for both channel mixes."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.billing_tables import InvoiceRow, PartUsedRow, SignoffRow, TimeEntryRow
from storage.db import session_factory
from storage.tables import PhotoRow, TimelineRow, VanStockRow, WorkOrderRow
from storage.uow import SqlUnitOfWork
from tests.channel_app import PUBLIC, Product

NORTHCROSS = "+15125550129"  # C010 Northcross Office Partners: rooftop unit 2 at S024
MARIA = 1001  # Maria Lopez (T01) on Telegram
JPEG = b"\xff\xd8\xff\xe0" + b"rooftop" * 50


def sms_text(twiml: str) -> str:
    found = re.findall(r"<Message>(.*?)</Message>", twiml, flags=re.S)
    return html.unescape(" ".join(found))


def last_sms_to(p: Product, number: str) -> str:
    return p.tw.sent_to(number)[-1].body


async def token(p: Product) -> str:
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        made = await uow.tokens.create("e2e", p.clock.now())
        await uow.commit()
        return made


async def button(p: Product, user: int, prefix: str) -> None:
    """Press the newest inline button whose data starts with `prefix` in the user's chat."""
    for message in reversed(p.tg.messages_to(user)):
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            for b in row:
                if b["callback_data"].startswith(prefix):
                    assert (
                        await p.telegram(
                            p.tg.make_update_callback(
                                user, b["callback_data"], message["message_id"]
                            )
                        )
                        == 200
                    )
                    await p.deliver()
                    return
    raise AssertionError(f"no {prefix} button in chat {user}")


@dataclass
class Record:
    wo: WorkOrderRow
    timeline: list[TimelineRow]
    photos: list[PhotoRow]
    parts: list[PartUsedRow]
    time: list[TimeEntryRow]
    signoff: SignoffRow | None
    invoice: InvoiceRow | None


async def record(p: Product, seq: int = 1001) -> Record:
    async with AsyncSession(p.engine) as s:
        wo = (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()

        async def rows(table: Any, order: Any) -> list[Any]:
            query = select(table).where(table.work_order_id == wo.id).order_by(order)
            return list(await s.scalars(query))

        return Record(
            wo=wo,
            timeline=await rows(TimelineRow, TimelineRow.id),
            photos=await rows(PhotoRow, PhotoRow.id),
            parts=await rows(PartUsedRow, PartUsedRow.id),
            time=await rows(TimeEntryRow, TimeEntryRow.id),
            signoff=(
                await s.scalars(select(SignoffRow).where(SignoffRow.work_order_id == wo.id))
            ).first(),
            invoice=(
                await s.scalars(select(InvoiceRow).where(InvoiceRow.work_order_id == wo.id))
            ).first(),
        )


async def test_customer_on_sms_technician_on_telegram(product: Product) -> None:
    p, tg = product, product.tg
    await p.telegram(tg.make_update_contact(MARIA, "15125550101", first_name="Maria"))
    _, twiml = await p.sms(
        NORTHCROSS, "rooftop unit 2 at the anderson ln office is blowing warm air, today please"
    )
    assert sms_text(twiml).startswith("WO-1001: got it. Heating & cooling at 2525 W Anderson Ln")
    await p.deliver()
    await button(p, MARIA, "accept:1001")
    assert tg.last_message_to(MARIA)["text"] == "WO-1001 is yours."
    assert "Maria Lopez will take care of it" in last_sms_to(p, NORTHCROSS)
    await button(p, MARIA, "step:omw:1001")
    assert last_sms_to(p, NORTHCROSS).startswith(
        "WO-1001: Maria Lopez is on the way, arriving about"
    )
    p.clock.advance(timedelta(minutes=20))
    await button(p, MARIA, "step:arrived:1001")
    assert "share your location" in tg.last_message_to(MARIA)["text"]
    await p.telegram(tg.make_update_location(MARIA, 30.3580, -97.7330))  # ~100 m from S024
    await p.deliver()
    assert "checked in on site" in tg.last_message_to(MARIA)["text"]
    await button(p, MARIA, "step:start:1001")
    await p.telegram(tg.make_update_photo(MARIA, JPEG, caption="failed capacitor"))
    await p.telegram(tg.make_update_text(MARIA, "part capacitor 45/5 x2"))
    await p.deliver()
    assert tg.last_message_to(MARIA)["text"] == (
        "Added 2 x Dual run capacitor 45/5 uF (CAP-455) to WO-1001. Van stock left: 2."
    )
    p.clock.advance(timedelta(minutes=75))
    await button(p, MARIA, "step:done:1001")
    await p.telegram(
        tg.make_update_text(MARIA, "Replaced the dual run capacitor, unit cooling again")
    )
    await p.deliver()
    ask = last_sms_to(p, NORTHCROSS)
    code = re.search(r"Reply YES (\d{4})", ask)
    assert code is not None, ask
    assert "Parts: 2x Dual run capacitor 45/5 uF" in ask and "Time: 1h15" in ask
    _, yes = await p.sms(NORTHCROSS, "yes")
    assert "reply YES and the 4-digit code" in sms_text(yes)
    _, signed = await p.sms(NORTHCROSS, f"YES {code[1]}")
    total = await _check_record(p, technician="T01", parts_subtotal=Decimal("76.00"))
    expected = f"Thank you! WO-1001 is signed off. Invoice INV-2026-0001: {total} USD."
    thanks, link = sms_text(signed).split("\nMore: ")
    assert thanks == expected
    invoice = await p.client.get(link.removeprefix(PUBLIC))  # the customer's own link
    assert invoice.status == 200 and invoice.content_type == "application/pdf"


async def test_customer_on_telegram_technician_on_sms(product: Product) -> None:
    p, tg = product, product.tg
    jo = 424242
    await p.telegram(tg.make_update_text(jo, "kitchen sink drain fully clogged and backing up"))
    await p.telegram(tg.make_update_text(jo, "Jo Park"))
    await p.telegram(tg.make_update_location(jo, 30.2700, -97.7400))  # downtown
    await p.deliver()
    assert tg.last_message_to(jo)["text"].startswith("WO-1001: got it. Plumbing at Shared location")
    offer = [s for s in p.tw.sent if "A 1001" in s.body]
    assert offer, "the offer went to a technician by SMS"
    tech_phone = offer[-1].to
    tech = {"+15125550102": "T02", "+15125550108": "T08"}[tech_phone]
    _, twiml = await p.sms(tech_phone, "A 1001")
    assert sms_text(twiml) == "WO-1001 is yours.\nReply ON MY WAY."
    await p.deliver()
    assert "will take care of it" in tg.last_message_to(jo)["text"]
    await p.sms(tech_phone, "on my wya")  # a typo is forgiven
    await p.deliver()
    assert "is on the way" in tg.last_message_to(jo)["text"]
    p.clock.advance(timedelta(minutes=15))
    _, arrived = await p.sms(tech_phone, "ARRIVED")
    assert "checked in, unverified" in sms_text(arrived)
    await p.sms(tech_phone, "start")
    await p.sms(tech_phone, "here's the trap", media=[("image/jpeg", JPEG)])
    _, part = await p.sms(tech_phone, "part FLP-KIT")
    assert "Toilet flapper and fill valve kit (FLP-KIT)" in sms_text(part)
    p.clock.advance(timedelta(minutes=50))
    await p.sms(tech_phone, "DONE")
    await p.sms(tech_phone, "Cleared the drain line and replaced the flapper kit")
    await p.deliver()
    summary = tg.last_message_to(jo)
    assert summary["text"].startswith("WO-1001 is done: Cleared the drain line")
    await button(p, jo, "signoff:1001")
    assert tg.last_message_to(jo)["text"].startswith(
        "Thank you! WO-1001 is signed off. Invoice INV-2026-0001"
    )
    await _check_record(p, technician=tech, parts_subtotal=Decimal("27.00"))


CENT = Decimal("0.01")


async def _check_record(p: Product, *, technician: str, parts_subtotal: Decimal) -> Decimal:
    """Checks the final record; returns the invoice total, recomputed here to the cent:
    callout fee 79.00 (reactive work), labor at 95.00/h for the time on the tools (all in
    business hours), parts at catalog price, tax 8.25% on parts only."""
    r = await record(p)
    assert (r.wo.status, r.wo.technician_id) == ("invoiced", technician)
    statuses = [e.data["to"] for e in r.timeline if e.kind == "status" and e.data]
    if statuses[0] == "needs_info":  # a new customer was asked for name and address first
        statuses = statuses[1:]
    assert statuses == [
        "ready",
        "offered",
        "assigned",
        "en_route",
        "on_site",
        "working",
        "completed",
        "signed_off",
        "invoiced",
    ]
    times = [e.at for e in r.timeline]
    assert times == sorted(times)
    [photo] = r.photos
    assert (p.settings.media_dir / photo.path).read_bytes() == JPEG
    assert len(r.parts) == 1
    assert {e.kind for e in r.time} == {"travel", "work"}
    assert all(e.ended_at is not None for e in r.time)
    assert r.signoff is not None
    invoice = r.invoice
    assert invoice is not None
    work_seconds = Decimal(0)
    for e in r.time:  # time is counted in whole seconds
        if e.kind == "work" and e.ended_at is not None:
            work_seconds += int((e.ended_at - e.started_at).total_seconds())
    labor = (work_seconds / 3600 * Decimal("95.00")).quantize(CENT, ROUND_HALF_UP)
    tax = (parts_subtotal * Decimal("0.0825")).quantize(CENT, ROUND_HALF_UP)
    expected = Decimal("79.00") + labor + parts_subtotal + tax
    assert (invoice.subtotal, invoice.tax, invoice.total) == (expected - tax, tax, expected)
    assert sum(Decimal(str(line["amount"])) for line in invoice.lines) == expected - tax
    api = await token(p)
    pdf = await p.client.get(
        f"/api/v1/invoices/{invoice.number}.pdf", headers={"Authorization": f"Bearer {api}"}
    )
    assert pdf.status == 200
    assert (await pdf.read()).startswith(b"%PDF")
    # The API's record carries all of it too, and the photo is served to token holders.
    auth = {"Authorization": f"Bearer {api}"}
    full = await (await p.client.get("/api/v1/work-orders/WO-1001", headers=auth)).json()
    assert full["status"] == "invoiced"
    assert full["technician"]["id"] == technician
    assert len(full["parts"]) == 1 and len(full["time_entries"]) == len(r.time)
    assert full["signoff"]["method"] in ("code", "button")
    assert full["invoice"]["number"] == invoice.number
    [photo_json] = full["photos"]
    path = photo_json["url"].removeprefix(p.settings.public_base_url)
    served = await p.client.get(path, headers=auth)
    assert (served.status, await served.read()) == (200, JPEG)
    assert (await p.client.get(path)).status == 401
    async with AsyncSession(p.engine) as s:
        stock = {(v.technician_id, v.sku): v.qty for v in await s.scalars(select(VanStockRow))}
    if technician == "T01":
        assert stock[("T01", "CAP-455")] == 2  # 4 in the van, 2 used
    return expected
