"""The technician's side by SMS: help for the moment, stale replies, lone-worker checks."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.timers import sweep
from storage.tables import OfferRow, TimelineRow, WorkOrderRow
from tests.channel_app import Product
from webhooks.app import SERVICES

ONE_SITE = "+15125550131"  # C012: plumbing in central Austin (T02 or T08 take it)
DISPATCHERS = ("+15125550190", "+15125550191")


def said(twiml: str) -> str:
    return html.unescape(" ".join(re.findall(r"<Message>(.*?)</Message>", twiml, flags=re.S)))


async def on_site(p: Product) -> str:
    """A plumbing job accepted and checked in by SMS; returns the technician's phone."""
    await p.sms(ONE_SITE, "toilet is leaking at the base, please come today")
    async with AsyncSession(p.engine) as s:
        tech = (await s.scalars(select(OfferRow.technician_id))).one()
    phone = f"+1512555{int(tech[1:]) + 100:04d}"
    await p.sms(phone, "A 1001")
    await p.sms(phone, "on my way")
    _, arrived = await p.sms(phone, "arrived")
    assert "checked in, unverified" in said(arrived)
    return phone


async def run_timers(p: Product) -> int:
    app = p.client.app
    assert app is not None
    return await sweep(app[SERVICES].bot_uows, app[SERVICES].bot_deps())


async def test_done_with_no_job_gets_an_answer_and_changes_nothing(product: Product) -> None:
    _, answer = await product.sms("+15125550102", "DONE")
    assert said(answer) == "You have no job in progress to finish."
    assert await product.count("work_orders") == 0
    assert await product.count("timeline_events") == 0


async def test_help_says_what_can_be_said_now(product: Product) -> None:
    p = product
    _, idle = await p.sms("+15125550102", "/help")
    assert said(idle).startswith("No job in progress. Offers come here: A 1042 or D 1042.")
    phone = await on_site(p)
    _, there = await p.sms(phone, "/help")
    assert said(there).startswith("WO-1001: START when you begin, HELP if you need someone.")
    await p.sms(phone, "start")
    _, working = await p.sms(phone, "/help")
    assert "PAUSE, HELP, DONE" in said(working)


async def test_an_unanswered_safety_check_alerts_the_dispatchers_with_the_last_location(
    product: Product,
) -> None:
    p = product
    phone = await on_site(p)
    await p.sms(phone, "start")
    p.clock.advance(timedelta(minutes=61))  # the company checks every 60 minutes
    assert await run_timers(p) >= 1
    await p.deliver()
    assert "all OK?" in p.tw.sent_to(phone)[-1].body
    p.clock.advance(timedelta(minutes=11))  # ten minutes to answer
    assert await run_timers(p) >= 1
    await p.deliver()
    for dispatcher in DISPATCHERS:
        alerts = [s.body for s in p.tw.sent_to(dispatcher) if s.body.startswith("LONE WORKER")]
        assert len(alerts) == 1, alerts
        assert "Last known: the site, 4411 Avenue G" in alerts[0]
    p.clock.advance(timedelta(minutes=30))  # a restarted worker does not repeat it
    await run_timers(p)
    await p.deliver()
    for dispatcher in DISPATCHERS:
        assert len([s for s in p.tw.sent_to(dispatcher) if s.body.startswith("LONE")]) == 1
    async with AsyncSession(p.engine) as s:
        wo = (await s.scalars(select(WorkOrderRow))).one()
        kinds = list(
            await s.scalars(
                select(TimelineRow.kind)
                .where(TimelineRow.work_order_id == wo.id)
                .order_by(TimelineRow.id)
            )
        )
    assert kinds.count("lone_asked") == 1 and kinds.count("lone_timeout") == 1


async def test_answering_ok_keeps_the_checks_going_without_an_alert(product: Product) -> None:
    p = product
    phone = await on_site(p)
    p.clock.advance(timedelta(minutes=61))
    await run_timers(p)
    _, ok = await p.sms(phone, "OK")
    assert said(ok) == "Thanks, noted. Stay safe."
    p.clock.advance(timedelta(minutes=11))
    await run_timers(p)
    await p.deliver()
    for dispatcher in DISPATCHERS:
        assert not [s for s in p.tw.sent_to(dispatcher) if s.body.startswith("LONE")]
