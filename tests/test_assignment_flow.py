"""Offers through chat: accept, decline, expiry, stale replies, and races across processes."""

from __future__ import annotations

import asyncio
import html
import re
import sys
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.timers import sweep
from storage.db import session_factory
from storage.tables import OfferRow, OutboxRow, TimelineRow, WorkOrderRow
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product
from webhooks.app import SERVICES

KNOWN = "+15125550126"  # Hillside Senior Living: S018 on Manchaca Rd, several sites
ONE_SITE = "+15125550131"  # C012, one site in central Austin: T02 and T08 both plumb there
REQUEST = "walk-in cooler at Manchaca is warm, reading 45, please check today"


def reply(twiml: str) -> str:
    found = re.findall(r"<Message>(.*?)</Message>", twiml, flags=re.S)
    assert len(found) == 1, twiml
    return html.unescape(found[0])


async def offers(p: Product) -> list[OfferRow]:
    async with AsyncSession(p.engine) as s:
        return list(await s.scalars(select(OfferRow).order_by(OfferRow.id)))


async def wo_row(p: Product, seq: int = 1001) -> WorkOrderRow:
    async with AsyncSession(p.engine) as s:
        return (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()


async def outbox(p: Product, kind: str) -> list[OutboxRow]:
    async with AsyncSession(p.engine) as s:
        return list(await s.scalars(select(OutboxRow).where(OutboxRow.kind == kind)))


def phone_of(tech: str) -> str:
    return f"+1512555{int(tech[1:]) + 100:04d}"


async def test_the_technician_accepts_by_sms_and_the_customer_hears_who_is_coming(
    product: Product,
) -> None:
    p = product
    await p.sms(KNOWN, REQUEST)
    [offer] = await offers(p)
    _, twiml = await p.sms(phone_of(offer.technician_id), f"a {1001}")
    assert reply(twiml) == "WO-1001 is yours.\nReply ON MY WAY."
    wo = await wo_row(p)
    assert (wo.status, wo.technician_id) == ("assigned", offer.technician_id)
    assert wo.planned_start is not None and wo.plan_position == 0
    [update] = await outbox(p, "update")
    assert update.recipient == KNOWN
    assert "will take care of it, planned around" in update.payload["text"]
    async with AsyncSession(p.engine) as s:
        texts = list(await s.scalars(select(TimelineRow.text).order_by(TimelineRow.id)))
    assert texts[-1] == "offered → assigned: offer accepted"
    assert texts[-2].startswith(f"ready → offered: offered to {offer.technician_id}: ")


async def test_a_decline_goes_to_the_next_technician(product: Product) -> None:
    p = product
    await p.sms(ONE_SITE, "kitchen faucet keeps dripping, no rush")
    [first] = await offers(p)
    _, twiml = await p.sms(phone_of(first.technician_id), "D 1001 too far from my route")
    assert reply(twiml).startswith("Declined WO-1001.")
    first_after, second = await offers(p)
    assert (first_after.status, first_after.reason) == ("declined", "too far from my route")
    assert second.status == "live" and second.technician_id != first.technician_id
    assert (await wo_row(p)).status == "offered"


async def test_an_unanswered_offer_expires_to_the_next_candidate(product: Product) -> None:
    p = product
    await p.sms(ONE_SITE, "toilet is leaking at the base, please come today")
    [first] = await offers(p)
    p.clock.advance(timedelta(minutes=11))  # P2 ("leaking", "today") offers last 10 minutes
    app = p.client.app
    assert app is not None
    services = app[SERVICES]
    assert await sweep(services.bot_uows, services.bot_deps()) == 2  # withdrawn, re-offered
    first_after, second = await offers(p)
    assert first_after.status == "expired"
    assert second.technician_id != first.technician_id
    [withdrawn] = await outbox(p, "message")
    assert withdrawn.payload["text"] == "The offer for WO-1001 was withdrawn: no answer in time."
    assert (await wo_row(p)).status == "offered"
    _, taken = await p.sms(phone_of(second.technician_id), "A 1001")
    assert reply(taken) == "WO-1001 is yours.\nReply ON MY WAY."
    _, late = await p.sms(phone_of(first.technician_id), "A 1001")
    assert reply(late) == "WO-1001 is not offered to you (any more)."
    assert (await wo_row(p)).technician_id == second.technician_id


async def test_wrong_and_stale_replies_get_an_answer_and_change_nothing(product: Product) -> None:
    p = product
    await p.sms(KNOWN, REQUEST)
    [offer] = await offers(p)
    tech_phone = phone_of(offer.technician_id)
    _, unknown = await p.sms(tech_phone, "A 9999")
    assert reply(unknown) == "WO-9999 is not offered to you (any more)."
    other = "T02" if offer.technician_id != "T02" else "T05"
    _, not_theirs = await p.sms(phone_of(other), "A 1001")
    assert reply(not_theirs) == "WO-1001 is not offered to you (any more)."
    _, gibberish = await p.sms(tech_phone, "blah")
    assert "/help" in reply(gibberish)
    assert [o.status for o in await offers(p)] == ["live"]
    assert (await wo_row(p)).status == "offered"


async def _race(p: Product, url: str, *args: str) -> list[str]:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.race_worker",
            url,
            p.clock.now().isoformat(),
            *args,
            cwd=Path(__file__).resolve().parent.parent,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outs = []
    for proc in procs:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        outs.append(out.decode().strip())
    return outs


async def test_fifty_concurrent_accepts_from_two_processes_make_one_assignment(
    product: Product, database_url: str
) -> None:
    p = product
    await p.sms(KNOWN, REQUEST)
    [offer] = await offers(p)
    results = await _race(p, database_url, "accept", "1001", offer.technician_id, "25")
    assert sum(int(r) for r in results) == 1
    wo = await wo_row(p)
    assert (wo.status, wo.technician_id) == ("assigned", offer.technician_id)
    assert [o.status for o in await offers(p)] == ["accepted"]


async def test_fifty_concurrent_offers_never_double_book_a_technician(
    product: Product, database_url: str
) -> None:
    """Fifty ready jobs that all want the same hour at the same site, assigned by two
    processes at once: whoever gets them, nobody's planned visits overlap."""
    from datetime import datetime

    from dispatch.requests import OpenWorkOrder, open_work_order
    from dispatch.workorder import Wants
    from storage.zip_geocode import zip_centroid

    p = product
    sessions = session_factory(p.engine)
    start = datetime.fromisoformat("2026-11-30T09:00:00-06:00")
    async with SqlUnitOfWork(sessions) as uow:
        for i in range(50):
            await open_work_order(
                uow,
                p.clock,
                zip_centroid,
                OpenWorkOrder(
                    text=f"cooler {i}",
                    channel="portal",
                    actor="test",
                    customer_id="C007",
                    site_id="S018",
                    skill="refrigeration",
                    priority="P3",
                    wants=Wants(start, start + timedelta(hours=2)),
                ),
            )
        await uow.commit()
    seqs = [str(1001 + i) for i in range(50)]
    await _race(p, database_url, "assign", *seqs[0::2])
    await _race(p, database_url, "assign", *seqs[1::2])
    async with AsyncSession(p.engine) as s:
        rows = list(await s.scalars(select(WorkOrderRow).where(WorkOrderRow.status == "offered")))
        live = {
            o.work_order_id: o.technician_id
            for o in await s.scalars(select(OfferRow).where(OfferRow.status == "live"))
        }
    assert rows, "some jobs must have been offered"
    by_tech: dict[str, list[tuple[datetime, datetime]]] = {}
    for row in rows:
        assert row.planned_start is not None and row.planned_end is not None
        by_tech.setdefault(live[row.id], []).append((row.planned_start, row.planned_end))
    for spans in by_tech.values():
        spans.sort()
        for (_, end), (next_start, _) in pairwise(spans):
            assert end <= next_start, spans


async def test_a_decline_without_a_reason_asks_for_one(product: Product) -> None:
    p = product
    await p.sms(ONE_SITE, "kitchen faucet keeps dripping, no rush")
    [first] = await offers(p)
    phone = phone_of(first.technician_id)
    _, declined = await p.sms(phone, "d 1001")
    assert reply(declined).startswith("Declined WO-1001. Thanks for letting us know. Why?")
    _, noted = await p.sms(phone, "van is at the shop")
    assert reply(noted) == "Thanks, noted for WO-1001."
    assert (await offers(p))[0].reason == "van is at the shop"
