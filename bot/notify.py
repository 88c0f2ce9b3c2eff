"""Domain events → messages in the outbox, in the same transaction as the change.

Each person is reached on their own channel: a linked Telegram chat first (SMS as the
fallback), else SMS; a channel without credentials falls back to the simulator.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import texts
from bot.context import Deps
from bot.messages import Choice, Outgoing
from bot.ports import BotUnitOfWork
from dispatch.clock import local_time
from dispatch.company import Company
from dispatch.engine.rules import RULE_LABELS
from dispatch.events import (
    Event,
    JobAssigned,
    JobFlagged,
    JobUnassigned,
    OfferMade,
    OfferWithdrawn,
    WindowMoved,
)
from dispatch.messaging import Fallback, Identity, NewMessage
from dispatch.workorder import WorkOrder


async def publish(uow: BotUnitOfWork, deps: Deps, events: Iterable[Event]) -> None:
    company: Company | None = None
    for event in events:
        company = company or await uow.company.load()
        wo = await uow.work_orders.get(event.seq)
        if wo is None:
            continue
        if isinstance(event, OfferMade):
            await to_staff(
                uow,
                deps,
                "technician",
                event.technician_id,
                await offer_card(uow, company, wo, event, deps.clock.now()),
                wo,
            )
            if event.dispatcher_told:
                tech = _tech_name(company, event.technician_id)
                await to_dispatchers(
                    uow,
                    deps,
                    company,
                    Outgoing(text=texts.p1_offered(wo.number, tech, wo.description), kind="alert"),
                    wo,
                )
        elif isinstance(event, OfferWithdrawn):
            await to_staff(
                uow,
                deps,
                "technician",
                event.technician_id,
                Outgoing(text=texts.offer_withdrawn(wo.number, event.why)),
                wo,
            )
        elif isinstance(event, JobAssigned):
            when = company_time(company, event.planned_start, deps.clock.now())
            await to_customer(
                uow,
                deps,
                wo,
                Outgoing(
                    text=texts.assigned_to_customer(
                        wo.number, _tech_name(company, event.technician_id), when
                    ),
                    kind="update",
                ),
            )
        elif isinstance(event, JobFlagged):
            names = ", ".join(f"{t} {_tech_name(company, t)}" for t in event.suggestions)
            if names and event.waived:
                names += f" ({RULE_LABELS.get(event.waived, event.waived)}: /approve overrides)"
            await to_dispatchers(
                uow,
                deps,
                company,
                Outgoing(
                    text=texts.flagged(wo.number, event.reason, names or "none"), kind="alert"
                ),
                wo,
            )
        elif isinstance(event, JobUnassigned):
            await to_staff(
                uow,
                deps,
                "technician",
                event.technician_id,
                Outgoing(text=texts.taken_off(wo.number, event.why)),
                wo,
            )
        elif isinstance(event, WindowMoved):
            await to_customer(
                uow,
                deps,
                wo,
                Outgoing(
                    text=texts.window_moved(
                        wo.number,
                        company_time(company, event.start, deps.clock.now()) or "",
                        company_time(company, event.end, deps.clock.now()) or "",
                    ),
                    kind="update",
                ),
            )


def _tech_name(company: Company, tech_id: str) -> str:
    return next((t.name for t in company.technicians if t.id == tech_id), tech_id)


def company_time(company: Company, at: datetime | None, now: datetime) -> str | None:
    """An instant as the company's people read it (`local_time`); None for no instant."""
    return None if at is None else local_time(at, ZoneInfo(company.settings.timezone), now)


def phone_channel(deps: Deps) -> str:
    return "sms" if "sms" in deps.config.channels else "sim"


async def to_staff(
    uow: BotUnitOfWork,
    deps: Deps,
    role: str,
    party_id: str,
    out: Outgoing,
    wo: WorkOrder | None = None,
) -> None:
    company = await uow.company.load()
    people = company.technicians if role == "technician" else company.dispatchers
    person = next((p for p in people if p.id == party_id), None)
    if person is None:
        return
    work_order_id = await uow.work_orders.row_id(wo.seq) if wo else None
    linked = await uow.identities.of_party(role, party_id)
    message = _staff_message(deps, linked, person.phone, out, work_order_id)
    await uow.outbox.add_many([message], now=deps.clock.now())


def _staff_message(
    deps: Deps, linked: list[Identity], phone: str, out: Outgoing, work_order_id: int | None
) -> NewMessage:
    """To a staff member's Telegram chat (their phone the fallback) if they linked one and
    the channel is on, else to their phone."""
    chats = [i for i in linked if i.channel == "telegram"]
    if chats and "telegram" in deps.config.channels:
        return NewMessage(
            "telegram",
            chats[0].address,
            out.to_json(),
            kind=out.kind,
            work_order_id=work_order_id,
            fallback=Fallback(phone_channel(deps), phone),
        )
    return NewMessage(
        phone_channel(deps), phone, out.to_json(), kind=out.kind, work_order_id=work_order_id
    )


async def to_dispatchers(
    uow: BotUnitOfWork, deps: Deps, company: Company, out: Outgoing, wo: WorkOrder | None = None
) -> None:
    """What to_staff does for each dispatcher, with one query and one insert for them all."""
    if not company.dispatchers:
        return
    work_order_id = await uow.work_orders.row_id(wo.seq) if wo else None
    linked = await uow.identities.of_parties("dispatcher", [d.id for d in company.dispatchers])
    messages = [
        _staff_message(deps, linked.get(d.id, []), d.phone, out, work_order_id)
        for d in company.dispatchers
    ]
    await uow.outbox.add_many(messages, now=deps.clock.now())


async def to_customer(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder, out: Outgoing) -> None:
    customer = await uow.company.customer(wo.customer_id)
    if customer is None:
        return
    now = deps.clock.now()
    work_order_id = await uow.work_orders.row_id(wo.seq)
    chats = [
        i for i in await uow.identities.of_party("customer", customer.id) if i.channel == "telegram"
    ]
    if (
        chats
        and "telegram" in deps.config.channels
        and (wo.source_channel == "telegram" or not customer.phone)
    ):
        await uow.outbox.add(
            "telegram",
            chats[0].address,
            out.to_json(),
            now=now,
            kind=out.kind,
            work_order_id=work_order_id,
        )
    elif customer.phone:
        channel = "sim" if wo.source_channel == "sim" else phone_channel(deps)
        await uow.outbox.add(
            channel,
            customer.phone,
            out.to_json(),
            now=now,
            kind=out.kind,
            work_order_id=work_order_id,
        )


async def offer_card(
    uow: BotUnitOfWork, company: Company, wo: WorkOrder, event: OfferMade, now: datetime
) -> Outgoing:
    customer = await uow.company.customer(wo.customer_id)
    site = next((s for s in customer.sites if s.id == wo.site_id), None) if customer else None
    skill = company.skill(wo.skill) if wo.skill else None
    equipment = next((e for e in site.equipment if e.id == wo.equipment_id), None) if site else None
    level = next((p for p in company.priorities if p.id == wo.priority), None)
    lines = [
        f"{wo.number} {wo.priority} {level.name if level else ''}".rstrip()
        + f": {skill.name if skill else 'Service'}",
        wo.description,
    ]
    if site is not None:
        lines.append(f"Where: {site.address}")
        if site.location is not None:
            lines.append(texts.map_link(site.location.lat, site.location.lon))
    if customer is not None:
        lines.append(
            f"Customer: {customer.name}" + (f", {customer.phone}" if customer.phone else "")
        )
    starts = event.starts_at
    if starts is None:
        planned = await uow.assignments.planned(wo.seq)
        starts = None if planned is None else planned[0]
    if starts is not None:
        lines.append(f"When: {company_time(company, starts, now)}")
    if wo.sla_due_at is not None:
        lines.append(f"SLA due: {company_time(company, wo.sla_due_at, now)}")
    if site is not None and site.access_notes:
        lines.append(f"Access: {site.access_notes}")
    if site is not None and site.safety_notes:
        lines.append(f"Safety: {site.safety_notes}")
    if equipment is not None:
        lines.append(
            f"Equipment: {equipment.type} {equipment.make or ''} {equipment.model or ''}".rstrip()
        )
    lines.append(f"Why you: {event.why}")
    lines.append(f"Answer by {company_time(company, event.expires_at, now)}.")
    n = wo.seq
    return Outgoing(
        text="\n".join(lines),
        choices=(
            Choice("Accept", f"accept:{n}", f"A {n}"),
            Choice("Decline", f"decline:{n}", f"D {n}"),
        ),
        kind="offer",
        extra={"seq": n},
    )
