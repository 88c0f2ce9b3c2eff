"""A job nobody can take today, that can wait, is planned on the first later day someone
can do it (up to its SLA): the offer, the acceptance and the customer's message say which
day. Emergencies are never put off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import local_time
from storage.tables import DecisionRow, OfferRow
from tests.channel_app import Product
from tests.dispatcher_chat import DANA, say
from tests.test_assignment_flow import ONE_SITE, offers, outbox, phone_of, reply, wo_row

AUSTIN = ZoneInfo("America/Chicago")
VIP = "+15125550120"  # C001, a VIP: the engine flags its jobs for a dispatcher
TUESDAY = date(2026, 12, 1)


async def after_hours(p: Product) -> None:
    """Monday 17:50 in Austin: every shift of the demo company is over."""
    p.clock.advance(timedelta(hours=10, minutes=50))


async def test_a_job_that_can_wait_is_offered_for_tomorrow_and_everyone_is_told_the_day(
    product: Product,
) -> None:
    p = product
    await after_hours(p)
    await p.sms(ONE_SITE, "kitchen faucet keeps dripping, no rush")
    [offer] = await offers(p)
    wo = await wo_row(p)
    assert wo.status == "offered"
    assert wo.planned_start is not None
    assert wo.planned_start.astimezone(AUSTIN).date() == TUESDAY
    async with AsyncSession(p.engine) as s:
        [decision] = list(await s.scalars(select(DecisionRow)))
    # /why names everyone: those only today's rules kept out (no skill) as well as those
    # ranked or ruled out on Tuesday, each once.
    named = [e["technician"] for e in decision.data["excluded"]]
    named += [decision.data["chosen"]["technician"]]
    named += [c["technician"] for c in decision.data["runners_up"]] + decision.data["unranked"]
    assert len(named) == len(set(named))
    assert {e["rule"] for e in decision.data["excluded"]} >= {"skill"}
    assert decision.data["chosen"]["arrival"].startswith("2026-12-01T")
    [card] = await outbox(p, "offer")
    assert "When: Tue 1 Dec " in card.payload["text"]
    assert "can be there Tue 1 Dec " in card.payload["text"]
    _, twiml = await p.sms(phone_of(offer.technician_id), "A 1001")
    assert reply(twiml) == "WO-1001 is yours.\nReply ON MY WAY."
    wo = await wo_row(p)
    assert (wo.status, wo.technician_id) == ("assigned", offer.technician_id)
    assert wo.planned_start is not None
    assert wo.planned_start.astimezone(AUSTIN).date() == TUESDAY
    [update] = await outbox(p, "update")
    assert "planned around Tue 1 Dec " in update.payload["text"]
    # The customer's time is the start the acceptance stored, to the minute.
    when = local_time(wo.planned_start, AUSTIN, p.clock.now())
    assert f"planned around {when}" in update.payload["text"]


async def test_the_same_job_in_working_hours_is_offered_for_today(product: Product) -> None:
    p = product
    await p.sms(ONE_SITE, "kitchen faucet keeps dripping, no rush")
    wo = await wo_row(p)
    assert wo.status == "offered" and wo.planned_start is not None
    assert wo.planned_start.astimezone(AUSTIN).date() == date(2026, 11, 30)
    [card] = await outbox(p, "offer")
    # The card's time is the start the plan stored, to the minute.
    assert f"When: {local_time(wo.planned_start, AUSTIN, p.clock.now())}\n" in card.payload["text"]
    assert "Tue 1 Dec" not in card.payload["text"]


async def test_an_emergency_after_hours_goes_to_a_dispatcher_not_to_tomorrow(
    product: Product,
) -> None:
    p = product
    await after_hours(p)
    await p.sms(ONE_SITE, "water pipe burst under the sink, flooding the kitchen")
    wo = await wo_row(p)
    assert wo.priority == "P1"
    assert wo.flag_reason is not None and wo.flag_reason.startswith("no_feasible_technician")
    async with AsyncSession(p.engine) as s:
        assert list(await s.scalars(select(OfferRow))) == []


def test_a_time_reads_as_the_hour_today_and_with_the_day_otherwise() -> None:
    now = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)  # Monday 17:50 in Austin, Tuesday in UTC
    assert local_time(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), AUSTIN, now) == "21:00"
    assert local_time(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), AUSTIN, now) == "Tue 1 Dec 08:00"
    assert local_time(datetime(2026, 11, 29, 20, 0, tzinfo=UTC), AUSTIN, now) == "Sun 29 Nov 14:00"


async def test_a_dispatchers_approval_after_hours_plans_the_job_on_the_day_it_fits(
    product: Product,
) -> None:
    """A VIP's job is flagged with the engine's suggestion for Tuesday; /approve gives it to
    that technician on Tuesday rather than refusing because today's shift is over."""
    p = product
    await after_hours(p)
    await p.sms(VIP, "walk-in cooler at 310 E 6th St is making a rattling noise, no rush")
    flagged = await wo_row(p)
    assert flagged.flag_reason is not None and flagged.flag_reason.startswith("vip")
    approved = await say(p, DANA, "/approve WO-1001")
    assert approved.startswith("WO-1001 assigned to ") and " for Tue 1 Dec " in approved
    row = await wo_row(p)
    assert row.status == "assigned" and row.planned_start is not None
    assert row.planned_start.astimezone(AUSTIN).date() == TUESDAY
    [update] = await outbox(p, "update")
    assert "planned around Tue 1 Dec " in update.payload["text"]
