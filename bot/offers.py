"""Offers over chat: the SMS re-send when Telegram stays silent for half the timeout."""

from __future__ import annotations

from bot.context import Deps
from bot.notify import offer_card, phone_channel
from bot.ports import BotUnitOfWork
from dispatch.events import OfferMade


async def offer_failover(uow: BotUnitOfWork, deps: Deps, *, limit: int = 50) -> int:
    """Bots get no read receipts, so silence is the signal (§2): a live offer still
    unanswered at half its timeout is re-sent by SMS to a technician who has Telegram."""
    company = await uow.company.load()
    now = deps.clock.now()
    sent = 0
    for offer in await uow.assignments.failover_due(now, limit):
        chats = [
            i
            for i in await uow.identities.of_party("technician", offer.technician_id)
            if i.channel == "telegram"
        ]
        tech = next((t for t in company.technicians if t.id == offer.technician_id), None)
        wo = await uow.work_orders.get(offer.seq)
        if not chats or tech is None or wo is None:
            continue  # they already got it by SMS
        card = await offer_card(
            uow,
            company,
            wo,
            OfferMade(offer.seq, offer.technician_id, offer.expires_at, "re-sent by SMS"),
            now,
        )
        await uow.outbox.add(
            phone_channel(deps),
            tech.phone,
            card.to_json(),
            now=now,
            kind="offer",
            work_order_id=await uow.work_orders.row_id(offer.seq),
        )
        sent += 1
    return sent
