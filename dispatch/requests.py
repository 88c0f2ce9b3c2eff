"""Opening a work order from a request (portal, API, a dispatcher's call log, a conversation)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from dispatch.clock import Clock
from dispatch.company import Customer, Site
from dispatch.ports import Geocoder, UnitOfWork
from dispatch.sla import sla_due
from dispatch.workorder import PRIORITIES, UNNUMBERED, Status, Wants, WorkOrder

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
        seq=UNNUMBERED,  # numbered as it is added
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
    if len(words) < 2 or not (words[0].isascii() and words[0].isdigit()):
        return None
    return words[0], words[1]


@dataclass(frozen=True, slots=True)
class Details:
    """What a later message adds to a request: each field only when now known."""

    skill: str | None = None
    priority: str | None = None
    address: str | None = None
    site_id: str | None = None
    equipment_id: str | None = None
    wants: Wants | None = None


async def fill_in(
    uow: UnitOfWork,
    clock: Clock,
    geocode: Geocoder,
    wo: WorkOrder,
    details: Details,
    *,
    actor: str,
    channel: str,
) -> list[str]:
    """Apply what was learnt to a work order waiting for information; returns what is still
    missing. When nothing is, the order becomes ready. The caller saves and commits."""
    now = clock.now()
    customer = await uow.company.customer(wo.customer_id)
    if customer is None:
        raise RequestRefused("unknown_customer", f"no customer {wo.customer_id}")
    learnt: list[str] = []
    if details.skill and details.skill != wo.skill:
        wo.skill = details.skill
        learnt.append(f"category {details.skill}")
    if details.site_id or details.address:
        cmd = OpenWorkOrder(
            text="", channel=channel, actor=actor, site_id=details.site_id, address=details.address
        )
        site = await _site(uow, geocode, customer, cmd)
        if site is not None and site.id != wo.site_id:
            wo.site_id = site.id
            learnt.append(f"site {site.id} ({site.address})")
    if details.equipment_id and details.equipment_id != wo.equipment_id:
        wo.equipment_id = details.equipment_id
        learnt.append(f"equipment {details.equipment_id}")
    if details.wants is not None and details.wants != wo.wants:
        wo.wants = details.wants
        learnt.append("preferred time")
    if details.priority and _rank(details.priority) < _rank(wo.priority):
        company = await uow.company.load()
        wo.priority = details.priority
        wo.sla_due_at = sla_due(company, customer, wo.priority, wo.created_at)
        learnt.append(f"priority {details.priority}")
    if learnt:
        wo.record(now, "details", "learnt " + ", ".join(learnt), actor=actor, channel=channel)
    missing = [name for name, value in (("skill", wo.skill), ("site", wo.site_id)) if not value]
    if not missing and wo.status in (Status.NEW, Status.NEEDS_INFO):
        wo.transition(Status.READY, now, actor=actor, channel=channel)
    return missing


def _rank(priority: str) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


# Statuses in which a customer may still cancel: nobody is on the way yet.
CUSTOMER_CANCELLABLE = frozenset(
    {Status.NEW, Status.NEEDS_INFO, Status.READY, Status.OFFERED, Status.ASSIGNED, Status.ON_HOLD}
)


def cancel_by_customer(wo: WorkOrder, now: datetime, *, actor: str, channel: str) -> bool:
    """Cancel a job that has not started; False (and nothing changes) when it has."""
    if wo.status not in CUSTOMER_CANCELLABLE:
        return False
    wo.transition(Status.CANCELLED, now, actor=actor, channel=channel, why="cancelled by customer")
    return True
