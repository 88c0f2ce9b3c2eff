"""Helpers for the dispatcher tests: who is who in the demo company, and reading the product."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import DecisionRow, OfferRow, OutboxRow, TimelineRow, WorkOrderRow
from tests.channel_app import Product

DANA = "+15125550190"  # D01
CARLOS = "+15125550191"  # D02
KEISHA = "+15125550103"  # T03, a technician
CUSTOMER = "+15125550126"  # C007 Bluebonnet Senior Living: gold contract, not VIP
COOLER = "walk-in cooler at Manchaca is warm, reading 45, please check today"
REFUSAL = "Sorry, that command is for dispatchers only. Send /help to see what you can do."


def answer(twiml: str) -> str:
    """Every message of a TwiML reply, joined (a long answer comes as "(1/2) ...", "(2/2) ...")."""
    found = re.findall(r"<Message>(.*?)</Message>", twiml, flags=re.S)
    assert found, twiml
    return "\n".join(re.sub(r"^\(\d+/\d+\) ", "", html.unescape(m)) for m in found)


async def say(p: Product, phone: str, text: str) -> str:
    status, twiml = await p.sms(phone, text)
    assert status == 200, twiml
    return answer(twiml)


async def cooler_job(p: Product) -> int:
    """The customer texts a request; the engine offers it. Returns its number."""
    await say(p, CUSTOMER, COOLER)
    async with AsyncSession(p.engine) as s:
        return int((await s.scalars(select(func.max(WorkOrderRow.seq)))).one())


async def wo_row(p: Product, seq: int) -> WorkOrderRow:
    async with AsyncSession(p.engine) as s:
        return (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()


async def timeline(p: Product, seq: int) -> list[TimelineRow]:
    async with AsyncSession(p.engine) as s:
        return list(
            await s.scalars(
                select(TimelineRow)
                .join(WorkOrderRow, TimelineRow.work_order_id == WorkOrderRow.id)
                .where(WorkOrderRow.seq == seq)
                .order_by(TimelineRow.id)
            )
        )


async def outbox_to(p: Product, recipient: str, kind: str | None = None) -> list[OutboxRow]:
    async with AsyncSession(p.engine) as s:
        query = select(OutboxRow).where(OutboxRow.recipient == recipient).order_by(OutboxRow.id)
        if kind is not None:
            query = query.where(OutboxRow.kind == kind)
        return list(await s.scalars(query))


@dataclass(frozen=True)
class Snapshot:
    """Everything a command could change, to show that a refused one changed nothing."""

    orders: tuple[tuple[object, ...], ...]
    timeline: int
    offers: tuple[tuple[object, ...], ...]
    decisions: int


async def snapshot(p: Product) -> Snapshot:
    async with AsyncSession(p.engine) as s:
        orders = (
            await s.execute(
                select(
                    WorkOrderRow.seq,
                    WorkOrderRow.status,
                    WorkOrderRow.priority,
                    WorkOrderRow.technician_id,
                    WorkOrderRow.flag_reason,
                    WorkOrderRow.planned_start,
                ).order_by(WorkOrderRow.seq)
            )
        ).all()
        offers = (await s.execute(select(OfferRow.id, OfferRow.status).order_by(OfferRow.id))).all()
        events = (await s.scalars(select(func.count()).select_from(TimelineRow))).one()
        decisions = (await s.scalars(select(func.count()).select_from(DecisionRow))).one()
    return Snapshot(
        tuple(tuple(r) for r in orders), int(events), tuple(tuple(r) for r in offers), decisions
    )
