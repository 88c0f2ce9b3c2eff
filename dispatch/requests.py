"""Opening a work order from a request (portal, API, a dispatcher's call log, a conversation)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dispatch.clock import Clock
from dispatch.company import Customer, Site
from dispatch.ports import Geocoder, UnitOfWork
from dispatch.sla import sla_due
from dispatch.workorder import PRIORITIES, Status, Wants, WorkOrder

ZIP_RE = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


class RequestRefused(Exception):
    """A request that names something that does not exist (unknown customer id, site id...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class OpenWorkOrder:
    text: str
    channel: str
    actor: str
    customer_id: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None
    name: str | None = None  # for a customer we do not know yet
    site_id: str | None = None
    address: str | None = None
    skill: str | None = None
    priority: str | None = None
    wants: Wants | None = None
    equipment_id: str | None = None


async def open_work_order(
    uow: UnitOfWork, clock: Clock, geocode: Geocoder, cmd: OpenWorkOrder
) -> WorkOrder:
    """Create the work order (and the customer or site when new). The caller commits."""
    now = clock.now()
    company = await uow.company.load()
    customer = await _customer(uow, cmd)
    site = await _site(uow, geocode, customer, cmd)
    if cmd.skill is not None and company.skill(cmd.skill) is None:
        raise RequestRefused("unknown_skill", f"unknown skill {cmd.skill!r}")
    if cmd.priority is not None and cmd.priority not in PRIORITIES:
        raise RequestRefused("bad_priority", "priority must be one of P1, P2, P3, P4")
    equipment_id = cmd.equipment_id
    if equipment_id is not None and (
        site is None or all(e.id != equipment_id for e in site.equipment)
    ):
        raise RequestRefused("unknown_equipment", f"equipment {equipment_id} is not at that site")
    priority = cmd.priority or "P3"
    wo = WorkOrder(
        seq=await uow.work_orders.next_seq(),
        customer_id=customer.id,
        description=cmd.text,
        created_at=now,
        priority=priority,
        skill=cmd.skill,
        site_id=site.id if site else None,
        equipment_id=equipment_id,
        sla_due_at=sla_due(company, customer, priority, now),
        wants=cmd.wants,
        source_channel=cmd.channel,
    )
    wo.record(now, "created", cmd.text, actor=cmd.actor, channel=cmd.channel)
    missing = [name for name, value in (("skill", wo.skill), ("site", wo.site_id)) if not value]
    if missing:
        wo.transition(
            Status.NEEDS_INFO,
            now,
            actor=cmd.actor,
            channel=cmd.channel,
            why="missing " + ", ".join(missing),
        )
    else:
        wo.transition(Status.READY, now, actor=cmd.actor, channel=cmd.channel)
    await uow.work_orders.add(wo)
    return wo


async def _customer(uow: UnitOfWork, cmd: OpenWorkOrder) -> Customer:
    if cmd.customer_id is not None:
        found = await uow.company.customer(cmd.customer_id)
        if found is None:
            raise RequestRefused("unknown_customer", f"no customer {cmd.customer_id}")
        return found
    found = await uow.company.customer_by(phone=cmd.phone, email=cmd.email)
    if found is not None:
        return found
    if cmd.phone is None and cmd.email is None:
        raise RequestRefused("no_customer", "give one of customer_id, phone or email")
    new = Customer(
        id=f"C-{await uow.next_number('customer'):05d}",
        name=cmd.name or cmd.phone or cmd.email or "unknown",
        phone=cmd.phone,
        email=cmd.email,
    )
    await uow.company.add_customer(new)
    return new


async def _site(
    uow: UnitOfWork, geocode: Geocoder, customer: Customer, cmd: OpenWorkOrder
) -> Site | None:
    if cmd.site_id is not None:
        site = next((s for s in customer.sites if s.id == cmd.site_id), None)
        if site is None:
            raise RequestRefused("unknown_site", f"site {cmd.site_id} is not {customer.id}'s")
        return site
    if cmd.address:
        known = match_known_site(customer, cmd.address)
        if known is not None:
            return known
        zip_match = ZIP_RE.search(cmd.address)
        zip_code = zip_match.group(1) if zip_match else None
        location = geocode(zip_code) if zip_code else None
        site = Site(
            id=f"S-{await uow.next_number('site'):05d}",
            address=cmd.address.strip(),
            zip=zip_code,
            location=location,
            geocoded_from_zip=location is not None,
        )
        await uow.company.add_site(customer.id, site)
        return site
    if len(customer.sites) == 1:
        return customer.sites[0]
    return None


def match_known_site(customer: Customer, address: str) -> Site | None:
    """The customer's site at this address: same house number and first street word."""
    wanted = _street_key(address)
    if wanted is None:
        return None
    return next((s for s in customer.sites if _street_key(s.address) == wanted), None)


def _street_key(address: str) -> tuple[str, str] | None:
    words = re.findall(r"[a-z0-9]+", address.lower())
    if len(words) < 2 or not words[0].isdigit():
        return None
    return words[0], words[1]
