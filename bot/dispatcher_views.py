"""What dispatchers read in chat: /board, /queue, /sla, /wo, /why, /techs, /where.

Plain text, short enough for a phone: one line per technician or job, long lists in pages
(`/queue 2`). Everything shown is data; nothing here changes a work order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot import texts
from bot.context import Deps
from bot.messages import Outgoing
from bot.ports import BotUnitOfWork
from dispatch.clock import local_time
from dispatch.company import Company, GeoPoint, Technician
from dispatch.engine.rules import RULE_LABELS
from dispatch.planning import Booking
from dispatch.sla_clock import ARRIVED, AT_RISK, BREACHED, SlaWatch, stage_at
from dispatch.workorder import STARTED, Status, WorkOrder

PAGE_SIZE = 8
BOARD_NEXT = 2  # upcoming jobs shown per technician on /board
UNASSIGNED = frozenset({Status.NEW.value, Status.NEEDS_INFO.value, Status.READY.value})
SHORT_STATUS = {
    Status.EN_ROUTE: "en route",
    Status.ON_SITE: "on site",
    Status.WORKING: "working",
}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Today:
    company: Company
    zone: ZoneInfo
    now: datetime

    @property
    def day(self) -> date:
        return self.now.astimezone(self.zone).date()

    @property
    def midnight(self) -> datetime:
        return datetime.combine(self.day, time(0), self.zone)

    def hhmm(self, at: datetime | None) -> str:
        return "-" if at is None else local_time(at, self.zone, self.now)

    def tech(self, tech_id: str | None) -> Technician | None:
        return next((t for t in self.company.technicians if t.id == tech_id), None)

    def who(self, tech_id: str | None) -> str:
        tech = self.tech(tech_id)
        if tech is None:
            return tech_id or "-"
        return f"{tech.id} {tech.name.split()[0]}"


async def today(uow: BotUnitOfWork, deps: Deps) -> Today:
    company = await uow.company.load()
    return Today(company, ZoneInfo(company.settings.timezone), deps.clock.now())


def paginate(items: Sequence[T], page: int, command: str) -> tuple[Sequence[T], str]:
    """One page of `items` and the footer that says how to get the next."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    footer = (
        ""
        if pages == 1
        else f"Page {page}/{pages}" + (f", more: {command} {page + 1}" if page < pages else "")
    )
    return chunk, footer


def _join(lines: list[str]) -> Outgoing:
    return Outgoing(text="\n".join(line for line in lines if line), kind="dispatcher")


# --- the day ------------------------------------------------------------------------------


async def _day(uow: BotUnitOfWork, t: Today) -> dict[str, list[tuple[Booking, datetime | None]]]:
    """Each technician's booked jobs today, in plan order (started ones first)."""
    bookings = await uow.assignments.bookings(t.midnight, t.midnight + timedelta(days=1))
    by_tech: dict[str, list[tuple[Booking, datetime | None]]] = {}
    for b in bookings:
        planned = await uow.assignments.planned(b.wo.seq)
        by_tech.setdefault(b.technician_id, []).append((b, planned[0] if planned else None))
    for jobs in by_tech.values():
        jobs.sort(key=lambda j: (j[0].wo.status not in STARTED, j[0].position or 0, j[0].wo.seq))
    return by_tech


def _availability(tech: Technician, day: date, off: frozenset[str]) -> str | None:
    """Why a technician is not working today, or None when they are."""
    if tech.id in off:
        return "off"
    if tech.on_leave(day):
        return "on leave"
    if tech.shift_on(day) is None:
        return "no shift today"
    return None


async def board_view(uow: BotUnitOfWork, deps: Deps) -> Outgoing:
    t = await today(uow, deps)
    by_tech = await _day(uow, t)
    off = await uow.assignments.unavailable()
    queue = [w for w in await uow.sla.open_orders() if _queued(w)]
    total = sum(len(v) for v in by_tech.values())
    lines = [f"Board {t.now.astimezone(t.zone):%a %d %b %H:%M}: {total} jobs, queue {len(queue)}"]
    for tech in t.company.technicians:
        jobs = by_tech.get(tech.id, [])
        away = _availability(tech, t.day, off)
        head = f"{tech.id} {tech.name.split()[0]}"
        if not jobs:
            lines.append(f"{head}: {away or 'free'}")
            continue
        parts: list[str] = []
        for booking, start in jobs[: BOARD_NEXT + 1]:
            wo = booking.wo
            state = SHORT_STATUS.get(wo.status)
            if state is None:
                state = t.hhmm(start) + ("?" if wo.status is Status.OFFERED else "")
            parts.append(f"{wo.seq} {state}")
        more = f" +{len(jobs) - BOARD_NEXT - 1}" if len(jobs) > BOARD_NEXT + 1 else ""
        lines.append(f"{head} ({len(jobs)}): " + ", ".join(parts) + more)
    lines.append("?=offered. /queue /sla /wo N")
    return _join(lines)


def _queued(w: SlaWatch) -> bool:
    return w.flag_reason is not None or w.status in UNASSIGNED


def _sla_short(t: Today, w: SlaWatch) -> str:
    if w.sla_due_at is None:
        return "no SLA"
    stage = stage_at(w.created_at, w.sla_due_at, t.now)
    if stage >= BREACHED:
        return f"LATE since {t.hhmm(w.sla_due_at)}"
    return f"due {t.hhmm(w.sla_due_at)}" + (f" ({stage}%)" if stage else "")


async def queue_view(uow: BotUnitOfWork, deps: Deps, page: int = 1) -> Outgoing:
    """Flagged and unassigned work orders, the earliest SLA first."""
    t = await today(uow, deps)
    queue = [w for w in await uow.sla.open_orders() if _queued(w)]
    if not queue:
        return _join(["Queue is empty: nothing flagged or unassigned."])
    chunk, footer = paginate(queue, page, "/queue")
    lines = [f"Queue ({len(queue)}):"]
    for w in chunk:
        why = f": {_short(w.flag_reason, 40)}" if w.flag_reason else ""
        lines.append(f"WO-{w.seq} {w.priority} {w.status} {_sla_short(t, w)}{why}")
    lines.append(footer)
    return _join(lines)


async def sla_view(uow: BotUnitOfWork, deps: Deps, page: int = 1) -> Outgoing:
    """At risk (50% or more of the response time gone, no arrival) and breached, oldest first."""
    t = await today(uow, deps)
    watched = [
        w
        for w in await uow.sla.open_orders()
        if w.sla_due_at is not None
        and w.status not in {s.value for s in ARRIVED}
        and stage_at(w.created_at, w.sla_due_at, t.now) >= AT_RISK
    ]
    if not watched:
        return _join(["SLA: nothing at risk or breached."])
    late = sum(1 for w in watched if stage_at(w.created_at, w.sla_due_at, t.now) >= BREACHED)
    chunk, footer = paginate(watched, page, "/sla")
    lines = [f"SLA: {late} breached, {len(watched) - late} at risk"]
    for w in chunk:
        who = t.who(w.technician_id) if w.technician_id else "unassigned"
        lines.append(f"WO-{w.seq} {w.priority} {_sla_short(t, w)} {w.status} {who}")
    lines.append(footer)
    return _join(lines)


# --- one work order -----------------------------------------------------------------------


def _short(text: str | None, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 3].rstrip() + "..."


async def wo_view(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder) -> Outgoing:
    t = await today(uow, deps)
    customer = await uow.company.customer(wo.customer_id)
    site = next((s for s in customer.sites if s.id == wo.site_id), None) if customer else None
    skill = t.company.skill(wo.skill) if wo.skill else None
    planned = await uow.assignments.planned(wo.seq)
    offered = [
        o.technician_id for o in await uow.assignments.offers_of(wo.seq) if o.status == "live"
    ]
    holder = (
        t.who(wo.technician_id)
        if wo.technician_id
        else f"offered to {t.who(offered[0])}"
        if offered
        else "none"
    )
    sla = "no SLA"
    if wo.sla_due_at is not None:
        stage = stage_at(wo.created_at, wo.sla_due_at, t.now)
        sla = f"SLA due {t.hhmm(wo.sla_due_at)}" + (
            " BREACHED" if stage >= BREACHED else f" ({stage}% used)" if stage else ""
        )
    lines = [
        f"{wo.number} {wo.priority} {wo.status.value}, {skill.name if skill else 'no category'}",
        _short(wo.description, 120),
        f"Customer: {customer.name}, {customer.phone or 'no phone'}" if customer else "",
        f"Site: {_short(site.address, 70)}" if site else "Site: unknown",
        f"Tech: {holder}"
        + (f", planned {t.hhmm(planned[0])}-{t.hhmm(planned[1])}" if planned else ""),
        f"Opened {t.hhmm(wo.created_at)}, {sla}",
        f"Flag: {_short(wo.flag.reason, 80)}" if wo.flag else "",
        "Last: " + "; ".join(f"{t.hhmm(e.at)} {_short(e.text, 40)}" for e in wo.timeline[-2:]),
    ]
    return _join(lines)


def _factors(c: dict[str, Any]) -> str:
    """The two factors that weighed most (costs: lower is better)."""
    factors: dict[str, float] = c.get("factors") or {}
    top = sorted(factors.items(), key=lambda kv: -abs(kv[1]))[:2]
    return ", ".join(f"{k.replace('_', ' ')} {v:+.1f}" for k, v in top)


async def why_view(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder) -> Outgoing:
    t = await today(uow, deps)
    decision = await uow.assignments.latest_decision(wo.seq)
    if decision is None:
        return _join([f"{wo.number}: no assignment decision yet ({wo.status.value})."])
    at = decision.get("at")
    lines = [
        f"{wo.number} {decision.get('kind')} by {decision.get('actor')}"
        + (f" at {t.hhmm(at)}" if isinstance(at, datetime) else "")
    ]
    if decision.get("kind") == "override":
        broken = decision.get("broken_rule")
        lines.append(f"Assigned to {t.who(wo.technician_id)} by a dispatcher")
        if broken:
            rule = RULE_LABELS.get(str(broken), str(broken))
            lines.append(f"Overrode: {rule}. Reason: {decision.get('override')}")
    chosen = decision.get("chosen")
    if chosen:
        lines.append(
            f"Chosen {t.who(chosen['technician'])}: score {chosen['score']}, "
            f"{chosen['added_travel_minutes']:.0f} min drive, there {t.hhmm(_dt(chosen))}"
        )
    elif decision.get("kind") != "override":
        lines.append(f"Nobody chosen: {decision.get('reason') or decision.get('why_none')}")
        if decision.get("waived") and decision.get("runners_up"):
            rule = RULE_LABELS.get(decision["waived"], decision["waived"])
            lines.append(f"Nobody fits every rule. Suggested, {rule}; /approve sends the first:")
    for c in (decision.get("runners_up") or [])[:3]:
        lines.append(f"Runner-up {t.who(c['technician'])}: {c['score']} ({_factors(c)})")
    excluded: dict[str, list[str]] = {}
    for e in decision.get("excluded") or []:
        excluded.setdefault(str(e["rule"]), []).append(str(e["technician"]))
    for rule, who in excluded.items():
        lines.append(f"Excluded, {RULE_LABELS.get(rule, rule)}: {' '.join(who)}")
    return _join(lines)


def _dt(candidate: dict[str, Any]) -> datetime | None:
    arrival = candidate.get("arrival")
    return datetime.fromisoformat(arrival) if isinstance(arrival, str) else None


# --- technicians --------------------------------------------------------------------------


async def techs_view(uow: BotUnitOfWork, deps: Deps, page: int = 1) -> Outgoing:
    t = await today(uow, deps)
    off = await uow.assignments.unavailable()
    techs = list(t.company.technicians)
    # Twelve technicians fit a screen; more than that paginate like the other lists.
    chunk, footer = (techs, "") if len(techs) <= 12 else paginate(techs, page, "/techs")
    lines = [f"Technicians ({len(techs)}):"]
    for tech in chunk:
        shift = tech.shift_on(t.day)
        away = _availability(tech, t.day, off)
        hours = f"{shift.start:%H}-{shift.end:%H}" if shift and not away else f": {away}"
        lines.append(f"{tech.id} {tech.name} {hours}".replace(" :", ":"))
    lines.append(footer)
    return _join(lines)


async def where_view(uow: BotUnitOfWork, deps: Deps, tech: Technician) -> Outgoing:
    """Last known location: the site of the job they are on (or driving to), else home."""
    t = await today(uow, deps)
    jobs = (await _day(uow, t)).get(tech.id, [])
    current = next((b.wo for b, _ in jobs if b.wo.status in STARTED), None)
    name = f"{tech.id} {tech.name}"
    if current is not None:
        customer = await uow.company.customer(current.customer_id)
        site = (
            next((s for s in customer.sites if s.id == current.site_id), None) if customer else None
        )
        if site is not None:
            verb = "driving to" if current.status is Status.EN_ROUTE else "at"
            return _join(
                [
                    f"{name} is {verb} the site of {current.number} "
                    f"({SHORT_STATUS[current.status]}): {_short(site.address, 80)}",
                    _map(site.location),
                ]
            )
    if tech.home is not None:
        return _join(
            [f"{name} has no job under way: last known location is home.", _map(tech.home)]
        )
    return _join([f"{name} has no job under way and no home location on file."])


def _map(point: GeoPoint | None) -> str:
    return "" if point is None else texts.map_link(point.lat, point.lon)
