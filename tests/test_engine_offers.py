"""Offers the engine made and their answers: a yes that comes after the offer expired."""

from __future__ import annotations

from datetime import timedelta

from bot.timers import sweep
from dispatch.assignment import expire_offer, offer_to, unassign
from tests.channel_app import Product
from tests.test_assignment_flow import (
    KNOWN,
    ONE_SITE,
    REQUEST,
    offers,
    outbox,
    phone_of,
    reply,
    wo_row,
)
from webhooks.app import SERVICES


async def _expire_all(p: Product) -> None:
    p.clock.advance(timedelta(minutes=11))  # P2 ("today") offers last 10 minutes
    app = p.client.app
    assert app is not None
    services = app[SERVICES]
    await sweep(services.bot_uows, services.bot_deps())


async def test_a_late_yes_takes_the_job_nobody_else_holds(product: Product) -> None:
    p = product
    await p.sms(KNOWN, REQUEST)  # a walk-in cooler at S018: one technician can go
    [first] = await offers(p)
    await _expire_all(p)
    [expired] = await offers(p)
    assert expired.status == "expired"
    waiting = await wo_row(p)
    # Nobody else in the territory: the flag suggests who could go from outside it.
    assert (waiting.status, waiting.flag_reason) == (
        "ready",
        "all_offers_declined; suggestions outside their territory: T04",
    )
    _, late = await p.sms(phone_of(first.technician_id), "A 1001")
    assert reply(late) == "WO-1001 is yours.\nReply ON MY WAY."
    wo = await wo_row(p)
    assert (wo.status, wo.technician_id, wo.flag_reason) == ("assigned", first.technician_id, None)
    assert wo.planned_start is not None
    assert [o.status for o in await offers(p)] == ["expired", "accepted"]


async def test_a_late_yes_beats_the_next_offer_nobody_answered_yet(product: Product) -> None:
    """The first offer expired and went on to the next candidate; the first technician's yes
    then arrives before the second one answers: the yes in hand takes the job, and the
    second offer is withdrawn (and its technician told)."""
    p = product
    await p.sms(ONE_SITE, "toilet is leaking at the base, please come today")
    [first] = await offers(p)
    await _expire_all(p)
    expired, second = await offers(p)
    assert (expired.status, second.status) == ("expired", "live")
    assert second.technician_id != first.technician_id
    _, late = await p.sms(phone_of(first.technician_id), "A 1001")
    assert reply(late) == "WO-1001 is yours.\nReply ON MY WAY."
    wo = await wo_row(p)
    assert (wo.status, wo.technician_id) == ("assigned", first.technician_id)
    assert [o.status for o in await offers(p)] == ["expired", "withdrawn", "accepted"]
    told = [
        m.payload.get("text")
        for m in await outbox(p, "message")
        if m.recipient == phone_of(second.technician_id)
    ]
    assert told == ["The offer for WO-1001 was withdrawn: another technician took it."]
    _, too_late = await p.sms(phone_of(second.technician_id), "A 1001")
    assert reply(too_late) == "WO-1001 is not offered to you (any more)."


async def test_a_yes_after_declining_does_not_take_the_job(product: Product) -> None:
    p = product
    await p.sms(KNOWN, REQUEST)
    [first] = await offers(p)
    await p.sms(phone_of(first.technician_id), "D 1001 stuck on a job")
    _, late = await p.sms(phone_of(first.technician_id), "A 1001")
    assert reply(late) == "WO-1001 is not offered to you (any more)."
    assert (await wo_row(p)).status == "ready"
    assert [o.status for o in await offers(p)] == ["declined"]


async def test_an_offer_replaced_after_it_was_found_due_is_left_alone(product: Product) -> None:
    """One sweep expires several offers; handling one (an emergency bump) can withdraw and
    re-offer another job of the batch: that job's old offer must not undo the new one."""
    p = product
    await p.sms(KNOWN, REQUEST)
    [first] = await offers(p)
    app = p.client.app
    assert app is not None
    services = app[SERVICES]
    async with services.uow() as uow:
        wo = await uow.work_orders.get(1001, lock=True)
        assert wo is not None
        await unassign(uow, p.clock, wo, actor="engine", why="bumped for WO-1999")
        await offer_to(uow, p.clock, wo, first.technician_id, "engine", "offered again")
        await uow.commit()
    async with services.uow() as uow:
        assert await expire_offer(uow, p.clock, first.id, 1001) == []
        await uow.commit()
    assert (await wo_row(p)).status == "offered"
    assert [o.status for o in await offers(p)] == ["withdrawn", "live"]
