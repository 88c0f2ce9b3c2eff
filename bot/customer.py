"""The customer's side of the conversation: intake one question at a time, STATUS, CANCEL,
and follow-ups (more detail, photos) that attach to the open work order."""

from __future__ import annotations

import re

from bot import texts
from bot.context import Deps, Received, attach_media, identity_channel
from bot.intake.parse import parse_message, parse_reply
from bot.intake.understanding import Understanding
from bot.messages import Outgoing
from bot.notify import publish
from bot.ports import BotUnitOfWork
from bot.signoff import customer_signoff
from dispatch.assignment import assign
from dispatch.company import Company, Customer, GeoPoint, Site
from dispatch.engine.model import Point
from dispatch.engine.travel import haversine_km
from dispatch.messaging import Conversation, Identity
from dispatch.requests import (
    Details,
    OpenWorkOrder,
    cancel_by_customer,
    fill_in,
    open_work_order,
)
from dispatch.workorder import Status, Wants, WorkOrder

CANCEL_RE = re.compile(r"^\s*/?cancel\s+(?:wo[-\s#]*)?(\d{1,9})\s*$", re.IGNORECASE)
MAX_UNCLEAR = 3
STATUS_WORDS = {
    Status.NEW: "received",
    Status.NEEDS_INFO: "waiting for details from you",
    Status.READY: "finding a technician",
    Status.OFFERED: "finding a technician",
    Status.ASSIGNED: "technician assigned",
    Status.EN_ROUTE: "technician on the way",
    Status.ON_SITE: "technician on site",
    Status.WORKING: "being worked on",
    Status.ON_HOLD: "on hold, a dispatcher is on it",
    Status.COMPLETED: "done, waiting for your sign-off",
}


async def customer_message(
    uow: BotUnitOfWork, deps: Deps, received: Received, identity: Identity | None
) -> list[Outgoing]:
    msg = received.msg
    company = await uow.company.load()
    customer = await _customer(uow, msg.channel, msg.sender, identity)
    text = msg.text.strip()
    word = text.upper().lstrip("/")
    # Read once: sign-off replies look for a completed one, follow-ups for the latest.
    open_now = [] if customer is None else await uow.work_orders.open_for_customer(customer.id)
    if customer is not None:
        signing = await customer_signoff(uow, deps, received, customer, open_now)
        if signing is not None:
            return signing
    if word == "STATUS":
        return [await _status(uow, company, customer)]
    if (match := CANCEL_RE.match(text)) is not None:
        return [await _cancel(uow, deps, customer, int(match[1]), msg.channel)]
    if word == "START" and msg.channel == "telegram":
        return [Outgoing(text=texts.welcome(company.settings.name))]
    conv = await uow.conversations.get(msg.channel, msg.sender)
    if conv.state == "asking" and conv.work_order_seq is not None:
        if customer is not None:
            wo = await _still_asking(uow, conv.work_order_seq)
            if wo is not None:
                return await _answer(uow, deps, company, customer, conv, wo, received)
        conv.state, conv.data = "idle", {}
        await uow.conversations.save(conv, deps.clock.now())
    # Follow-ups go to what the customer asked for, not to maintenance we scheduled.
    open_orders = [wo for wo in open_now if wo.source_channel != "pm"]
    understood = (
        parse_message(company, text, at=deps.clock.now(), customer=customer) if text else None
    )
    if open_orders and (
        understood is None or not understood.is_new_problem_hint(open_orders[-1].skill)
    ):
        return await _follow_up(uow, deps, open_orders[-1], received)
    if understood is None or (understood.skill is None and len(text.split()) < 4):
        return [Outgoing(text=texts.not_understood("customer"))]
    return await _new_request(uow, deps, company, customer, conv, received, understood)


async def _still_asking(uow: BotUnitOfWork, seq: int) -> WorkOrder | None:
    """The work order the conversation asked about, locked, while it still waits for the
    answer. Locked only then: one taken meanwhile (a dispatcher assigned it) is in a
    technician's day, and this message may go on to book that technician, whom every
    booking locks before the jobs of their day (dispatch.assignment)."""
    wo = await uow.work_orders.get(seq)
    if wo is None or wo.status is not Status.NEEDS_INFO:
        return None
    wo = await uow.work_orders.get(seq, lock=True)  # read again, locked
    return wo if wo is not None and wo.status is Status.NEEDS_INFO else None


async def _customer(
    uow: BotUnitOfWork, channel: str, sender: str, identity: Identity | None
) -> Customer | None:
    if identity is not None and identity.role == "customer" and identity.party_id:
        return await uow.company.customer(identity.party_id)
    if identity_channel(channel) == "sms":
        return await uow.company.customer_by(phone=sender)
    return None


async def _new_request(
    uow: BotUnitOfWork,
    deps: Deps,
    company: Company,
    customer: Customer | None,
    conv: Conversation,
    received: Received,
    u: Understanding,
) -> list[Outgoing]:
    msg = received.msg
    now = deps.clock.now()
    actor = _actor(customer, msg.sender)
    address = _address_text(u)
    is_new = customer is None
    if customer is None and msg.channel == "telegram":
        customer = Customer(
            id=f"C-{await uow.next_number('customer'):05d}",
            name=msg.display_name or f"Telegram user {msg.sender}",
        )
        await uow.company.add_customer(customer)
        await uow.identities.link(
            "telegram", msg.sender, "customer", customer.id, now, username=msg.username
        )
    wo = await open_work_order(
        uow,
        deps.clock,
        deps.geocode,
        OpenWorkOrder(
            text=msg.text.strip(),
            channel=msg.channel,
            actor=actor,
            customer_id=customer.id if customer else None,
            phone=None if customer else msg.sender,
            site_id=u.site_id,
            address=None if u.site_id else address,
            skill=u.skill,
            priority=u.priority,
            wants=Wants(*u.wants) if u.wants else None,
            equipment_id=u.equipment_id,
        ),
    )
    if u.priority_reason:
        wo.record(now, "intake", f"priority {u.priority}: {u.priority_reason}", actor="intake")
    await _attach(uow, deps, wo, received)
    queue = (["name"] if is_new else []) + [
        kind for kind, value in (("skill", wo.skill), ("address", wo.site_id)) if not value
    ]
    if not queue:
        await uow.work_orders.save(wo)
        return await _ready(uow, deps, company, wo)
    conv.state, conv.work_order_seq = "asking", wo.seq
    conv.data = {"queue": queue, "unclear": 0}
    await uow.conversations.save(conv, now)
    await uow.work_orders.save(wo)
    return [_ask(queue[0])]


async def _answer(
    uow: BotUnitOfWork,
    deps: Deps,
    company: Company,
    customer: Customer,
    conv: Conversation,
    wo: WorkOrder,
    received: Received,
) -> list[Outgoing]:
    msg = received.msg
    now = deps.clock.now()
    queue: list[str] = list(conv.data.get("queue", []))
    kind = queue[0] if queue else "address"
    await _attach(uow, deps, wo, received)
    details: Details | None = None
    if kind == "name":
        name = msg.text.strip()
        if 1 < len(name) <= 80 and any(c.isalpha() for c in name):
            await uow.company.rename_customer(customer.id, name)
            wo.record(
                now,
                "details",
                f"customer name: {name}",
                actor=_actor(customer, msg.sender),
                channel=msg.channel,
            )
            details = Details()
    elif kind == "address" and msg.location is not None:
        site = await _site_at(uow, customer, GeoPoint(*msg.location))
        details = Details(site_id=site.id)
    elif msg.text.strip():
        u = parse_reply(company, kind, msg.text, at=now, customer=customer, previous=None)
        if kind == "skill" and u.skill:
            details = Details(skill=u.skill, priority=u.priority if u.priority != "P3" else None)
        elif kind == "address" and (u.site_id or u.street or u.zip):
            details = Details(
                site_id=u.site_id,
                address=None if u.site_id else _address_text(u),
                equipment_id=u.equipment_id,
            )
    if details is None:
        unclear = int(conv.data.get("unclear", 0)) + 1
        if unclear >= MAX_UNCLEAR:
            return await _hand_over(uow, deps, conv, wo, customer)
        conv.data = {"queue": queue, "unclear": unclear}
        await uow.conversations.save(conv, now)
        await uow.work_orders.save(wo)
        return [Outgoing(text=texts.re_ask(kind))]
    await fill_in(
        uow,
        deps.clock,
        deps.geocode,
        wo,
        details,
        actor=_actor(customer, msg.sender),
        channel=msg.channel,
    )
    queue = [k for k in queue[1:] if not _known(k, wo)]
    if queue:
        conv.data = {"queue": queue, "unclear": 0}
        await uow.conversations.save(conv, now)
        await uow.work_orders.save(wo)
        return [_ask(queue[0])]
    conv.state, conv.data, conv.work_order_seq = "idle", {}, None
    await uow.conversations.save(conv, now)
    await uow.work_orders.save(wo)
    return await _ready(uow, deps, company, wo)


def _known(kind: str, wo: WorkOrder) -> bool:
    return (kind == "skill" and wo.skill is not None) or (
        kind == "address" and wo.site_id is not None
    )


async def _hand_over(
    uow: BotUnitOfWork, deps: Deps, conv: Conversation, wo: WorkOrder, customer: Customer
) -> list[Outgoing]:
    now = deps.clock.now()
    wo.raise_flag("intake_unclear: three unclear answers", now, actor="intake")
    conv.state, conv.data, conv.work_order_seq = "idle", {}, None
    await uow.conversations.save(conv, now)
    await uow.work_orders.save(wo)
    return [Outgoing(text=texts.handed_to_dispatcher(wo.number))]


async def _site_at(uow: BotUnitOfWork, customer: Customer, point: GeoPoint) -> Site:
    """The customer's site within 300 m of a shared location, else a new site there."""
    for site in customer.sites:
        if (
            site.location
            and haversine_km(
                Point(site.location.lat, site.location.lon), Point(point.lat, point.lon)
            )
            <= 0.3
        ):
            return site
    site = Site(
        id=f"S-{await uow.next_number('site'):05d}",
        address=f"Shared location {point.lat:.5f}, {point.lon:.5f}",
        location=point,
    )
    await uow.company.add_site(customer.id, site)
    return site


async def _follow_up(
    uow: BotUnitOfWork, deps: Deps, wo_view: WorkOrder, received: Received
) -> list[Outgoing]:
    msg = received.msg
    wo = await uow.work_orders.get(wo_view.seq, lock=True)
    assert wo is not None
    now = deps.clock.now()
    if msg.text.strip():
        wo.record(
            now,
            "message",
            msg.text.strip(),
            actor=f"customer:{wo.customer_id}",
            channel=msg.channel,
        )
    stored = await _attach(uow, deps, wo, received)
    await uow.work_orders.save(wo)
    if received.media_refused and not stored:
        return [Outgoing(text=texts.media_refused())]
    if stored:
        return [Outgoing(text=texts.photo_saved(wo.number))]
    return [Outgoing(text=texts.added_to(wo.number))]


async def _attach(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder, received: Received) -> int:
    return await attach_media(uow, wo, received, f"customer:{wo.customer_id}", deps.clock.now())


async def _ready(uow: BotUnitOfWork, deps: Deps, company: Company, wo: WorkOrder) -> list[Outgoing]:
    """Confirm to the customer, then let the engine offer or flag it (same transaction)."""
    confirmation = await _confirm(uow, company, wo)
    await publish(uow, deps, await assign(uow, deps.clock, wo.seq))
    return [confirmation]


async def _confirm(uow: BotUnitOfWork, company: Company, wo: WorkOrder) -> Outgoing:
    skill = company.skill(wo.skill) if wo.skill else None
    customer = await uow.company.customer(wo.customer_id)
    site = next((s for s in customer.sites if s.id == wo.site_id), None) if customer else None
    place = site.address.split(",")[0] if site else "your address"
    level = next((p for p in company.priorities if p.id == wo.priority), None)
    text = texts.confirmation(
        wo.number,
        skill.name if skill else "Service",
        place,
        level.name if level else wo.priority,
        emergency=wo.priority == "P1",
    )
    return Outgoing(text=text, kind="confirmation")


async def _status(uow: BotUnitOfWork, company: Company, customer: Customer | None) -> Outgoing:
    orders = [] if customer is None else await uow.work_orders.open_for_customer(customer.id)
    if not orders:
        return Outgoing(text=texts.no_open_orders())
    names = {s.id: s.name for s in company.skills}
    lines = [
        texts.status_line(
            wo.number,
            names.get(wo.skill or "", "Service"),
            STATUS_WORDS.get(wo.status, wo.status.value),
        )
        for wo in orders[-5:]
    ]
    return Outgoing(text="\n".join(lines), kind="status")


async def _cancel(
    uow: BotUnitOfWork, deps: Deps, customer: Customer | None, seq: int, channel: str
) -> Outgoing:
    wo = await uow.work_orders.get(seq, lock=True)
    number = f"WO-{seq}"
    if wo is None or customer is None or wo.customer_id != customer.id:
        return Outgoing(text=texts.not_yours(number))
    if not cancel_by_customer(
        wo, deps.clock.now(), actor=f"customer:{customer.id}", channel=channel
    ):
        return Outgoing(
            text=texts.cannot_cancel(number, STATUS_WORDS.get(wo.status, wo.status.value))
        )
    await uow.work_orders.save(wo)
    return Outgoing(text=texts.cancelled(number))


def _ask(kind: str) -> Outgoing:
    return Outgoing(
        text=texts.question(kind),
        kind="question",
        ask_location=kind == "address",
    )


def _address_text(u: Understanding) -> str | None:
    if not u.street and not u.zip:
        return None
    parts = [u.street, u.city, " ".join(x for x in (u.state, u.zip) if x)]
    return ", ".join(p for p in parts if p)


def _actor(customer: Customer | None, sender: str) -> str:
    return f"customer:{customer.id}" if customer else f"customer:{sender}"
