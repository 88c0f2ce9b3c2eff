"""The day's KPIs (simulation.md), computed from what the product recorded: the timeline,
offers, decisions and time entries. Nothing here trusts the simulator's own bookkeeping, so
a test can recompute any of them from the same tables."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.company import Company, Technician
from dispatch.engine.model import Point
from dispatch.engine.travel import haversine_km
from storage.billing_tables import TimeEntryRow
from storage.tables import (
    DecisionRow,
    InboundRow,
    OfferRow,
    SiteRow,
    TimelineRow,
    WorkOrderRow,
)

FINISHED = ("completed", "signed_off", "invoiced")


@dataclass(frozen=True, slots=True)
class Visit:
    """A technician's arrival on site, as the timeline has it."""

    technician: str
    seq: int
    at: datetime
    site: Point | None


@dataclass(frozen=True, slots=True)
class Bar:
    """One stretch of a technician's day for the chart: driving or on the tools."""

    technician: str
    kind: str
    start: datetime
    end: datetime
    label: str


def shift_minutes(tech: Technician, day: date) -> float:
    if any(leave.start <= day <= leave.end for leave in tech.leave):
        return 0.0
    shift = tech.shifts.get(day.strftime("%a").lower()[:3])
    if shift is None:
        return 0.0
    start = datetime.combine(day, shift.start)
    return (datetime.combine(day, shift.end) - start).total_seconds() / 60


def percent(part: int | float, whole: int | float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def compute_kpis(
    sessions: async_sessionmaker[AsyncSession],
    company: Company,
    day: date,
    end: datetime,
    speed_kmh: float,
) -> dict[str, Any]:
    async with sessions() as s:
        orders = list(await s.scalars(select(WorkOrderRow).order_by(WorkOrderRow.seq)))
        timeline = list(await s.scalars(select(TimelineRow).order_by(TimelineRow.id)))
        offers = list(await s.scalars(select(OfferRow).order_by(OfferRow.id)))
        bumps = list(await s.scalars(select(DecisionRow).where(DecisionRow.kind == "bump")))
        entries = list(await s.scalars(select(TimeEntryRow).order_by(TimeEntryRow.id)))
        sites = {r.id: r for r in await s.scalars(select(SiteRow))}
        requests = len(
            list(await s.scalars(select(InboundRow.id).where(InboundRow.external_id.like("req-%"))))
        )
    events: dict[int, list[TimelineRow]] = {wo.id: [] for wo in orders}
    for e in timeline:
        events.setdefault(e.work_order_id, []).append(e)

    def moves(wo_id: int, to: str) -> list[TimelineRow]:
        return [
            e
            for e in events[wo_id]
            if e.kind == "status" and isinstance(e.data, dict) and e.data.get("to") == to
        ]

    flagged = {wo.id for wo in orders if any(e.kind == "flag" for e in events[wo.id])}
    reasons = Counter(
        _reason(next(e.text for e in events[i] if e.kind == "flag")) for i in sorted(flagged)
    )
    auto = 0
    reassignments = 0
    for wo in orders:
        assigned = moves(wo.id, "assigned")
        reassignments += max(0, len(assigned) - 1)
        if assigned and not any(e.kind == "flag" and e.id < assigned[0].id for e in events[wo.id]):
            auto += 1
    visits: list[Visit] = []
    response: list[float] = []
    sla_due = sla_met = unqualified = 0
    needs = _certifications_needed(company)
    held = {t.id: t.certifications_on(day) for t in company.technicians}
    for wo in orders:
        arrivals = moves(wo.id, "on_site")
        first = _aware(arrivals[0].at) if arrivals else None
        # The contract is met by someone who may do the work: an arrival without a
        # certification the job requires (valid that day) starts nothing.
        needed = needs(wo)
        may = [a for a in arrivals if needed <= held.get(_technician(a), frozenset())]
        unqualified += len(arrivals) - len(may)
        arrived = _aware(may[0].at) if may else None
        if first is not None:
            response.append((first - _aware(wo.created_at)).total_seconds() / 60)
            site = sites.get(wo.site_id or "")
            point = (
                Point(site.lat, site.lon)
                if site and site.lat is not None and site.lon is not None
                else None
            )
            for a in arrivals:
                visits.append(Visit(_technician(a), wo.seq, _aware(a.at), point))
        due = _aware(wo.sla_due_at) if wo.sla_due_at is not None else None
        if due is not None and (due <= end or first is not None):
            sla_due += 1
            sla_met += arrived is not None and arrived <= due
    km, minutes = _driving(company, visits, speed_kmh)
    worked = _worked(entries, end)
    shifts = {t.id: shift_minutes(t, day) for t in company.technicians}
    on_shift = sorted(t for t, m in shifts.items() if m > 0)
    hours = [worked.get(t, 0.0) / 60 for t in on_shift]
    unserved = [
        {"work_order": f"WO-{wo.seq}", "status": wo.status, "why": _why(wo, day, company)}
        for wo in orders
        if wo.status not in FINISHED and wo.status != "cancelled"
    ]
    return {
        "requests": requests,
        "work_orders": len(orders),
        "auto_assigned_pct": percent(auto, len(orders)),
        "flagged_pct": percent(len(flagged), len(orders)),
        "flag_reasons": dict(sorted(reasons.items())),
        "sla_met_pct": percent(sla_met, sla_due),
        "unqualified_arrivals": unqualified,
        "mean_response_minutes": round(statistics.fmean(response), 1) if response else 0.0,
        "p90_response_minutes": p90(response),
        "drive_km_total": round(km, 1),
        "drive_minutes_total": round(minutes, 1),
        "utilization_pct": percent(
            sum(worked.get(t, 0.0) for t in on_shift), sum(shifts[t] for t in on_shift)
        ),
        "utilization_by_technician": {t: percent(worked.get(t, 0.0), shifts[t]) for t in on_shift},
        "fairness_stdev_hours": round(statistics.pstdev(hours), 2) if hours else 0.0,
        "bumped_jobs": sum(len(d.data.get("displaced", [])) for d in bumps),
        "reassignments": reassignments,
        "declined_offers": sum(o.status == "declined" for o in offers),
        "expired_offers": sum(o.status == "expired" for o in offers),
        "unserved": len(unserved),
        "unserved_why": unserved,
    }


def _technician(arrival: TimelineRow) -> str:
    actor = arrival.actor
    return actor.split(":", 1)[1] if actor.startswith("technician:") else ""


def _certifications_needed(company: Company) -> Callable[[WorkOrderRow], frozenset[str]]:
    """The certifications a work order's trade and equipment require (company file)."""
    equipment = company.equipment_by_id()

    def needs(wo: WorkOrderRow) -> frozenset[str]:
        kit = equipment.get(wo.equipment_id) if wo.equipment_id else None
        demands = company.requirements(wo.skill_id, kit)
        return frozenset(c for r in demands for c in r.certifications)

    return needs


def _reason(text: str) -> str:
    return text.split(";")[0].split(":")[0].strip()


def _driving(company: Company, visits: list[Visit], speed_kmh: float) -> tuple[float, float]:
    """True driving between consecutive places of each technician, from home."""
    homes = {t.id: Point(t.home.lat, t.home.lon) if t.home else None for t in company.technicians}
    detour = company.assignment.detour_factor
    km = 0.0
    for tech in sorted({v.technician for v in visits}):
        place = homes.get(tech)
        for v in sorted((v for v in visits if v.technician == tech), key=lambda v: v.at):
            if place is not None and v.site is not None:
                km += haversine_km(place, v.site) * detour
            place = v.site or place
    return km, km / speed_kmh * 60


def _worked(entries: list[TimeEntryRow], end: datetime) -> dict[str, float]:
    """Minutes on the tools per technician; a clock still running stops at the day's end."""
    out: dict[str, float] = {}
    for e in entries:
        if e.kind != "work" or e.technician_id is None:
            continue
        stop = _aware(e.ended_at) if e.ended_at is not None else max(end, _aware(e.started_at))
        minutes = (stop - _aware(e.started_at)).total_seconds() / 60
        out[e.technician_id] = out.get(e.technician_id, 0.0) + minutes
    return out


def _why(wo: WorkOrderRow, day: date, company: Company) -> str:
    zone = ZoneInfo(company.settings.timezone)
    later = wo.wants_start is not None and _aware(wo.wants_start).astimezone(zone).date() > day
    planned_later = (
        wo.planned_start is not None and _aware(wo.planned_start).astimezone(zone).date() > day
    )
    if later or planned_later:
        return "planned for a later day"
    if wo.flag_reason:
        return f"flagged: {wo.flag_reason}"
    return {
        "new": "not taken in",
        "needs_info": "waiting for the customer's details",
        "ready": "no technician took it",
        "offered": "offer still unanswered",
        "assigned": "not reached by the end of the day",
        "en_route": "technician still driving at the end of the day",
        "on_site": "work under way at the end of the day",
        "working": "work under way at the end of the day",
        "on_hold": "on hold",
    }.get(wo.status, wo.status)


async def day_bars(sessions: async_sessionmaker[AsyncSession], end: datetime) -> list[Bar]:
    """Each technician's driving and working stretches, for the Gantt chart."""
    async with sessions() as s:
        rows = (
            await s.execute(
                select(TimeEntryRow, WorkOrderRow.seq)
                .join(WorkOrderRow, WorkOrderRow.id == TimeEntryRow.work_order_id)
                .order_by(TimeEntryRow.id)
            )
        ).all()
    bars = []
    for e, seq in rows:
        if e.technician_id is None:
            continue
        start = _aware(e.started_at)
        stop = _aware(e.ended_at) if e.ended_at is not None else max(end, start)
        bars.append(Bar(e.technician_id, e.kind, start, stop, f"WO-{seq}"))
    return bars
