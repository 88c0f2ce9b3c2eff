"""The day as the engine sees it: work orders and technicians turned into jobs and routes.

Plan time is minutes since local midnight of the planning day, in the company's timezone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.company import Company, Customer, Equipment, Site, Technician
from dispatch.engine.adapt import (
    JobRequirements,
    job_requirements,
    point,
    worker_from_technician,
)
from dispatch.engine.model import Depot, Job, Point, Route, TravelTime, Window, Worker
from dispatch.engine.routing import evaluate
from dispatch.engine.travel import GreatCircleTravel
from dispatch.workorder import STARTED, WorkOrder

DAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Booking:
    """A work order holding a place in a technician's day (offered, assigned or under way)."""

    wo: WorkOrder
    technician_id: str
    position: int | None
    planned_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlannedStop:
    seq: int
    position: int
    start: datetime
    end: datetime


@dataclass
class DayView:
    """Everything needed to place jobs on one day."""

    company: Company
    day: date
    now: datetime
    zone: ZoneInfo = field(init=False)
    midnight: datetime = field(init=False)
    sites: dict[str, Site] = field(init=False)
    equipment: dict[str, Equipment] = field(init=False)
    customers: dict[str, Customer] = field(init=False)
    travel: TravelTime = field(init=False)
    depot: Depot | None = field(init=False)
    _jobs: dict[tuple[object, ...], Job | None] = field(init=False, repr=False)
    _needs: dict[tuple[str, str | None, str, str], JobRequirements] = field(init=False, repr=False)
    _workers: dict[tuple[date, str], Worker] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        c = self.company
        found = _lookups(c)
        self.zone = found.zone
        self.midnight = datetime.combine(self.day, time(0), self.zone)
        self.customers = found.customers
        self.sites = found.sites
        self.equipment = found.equipment
        self._jobs = found.jobs
        self._needs = found.needs
        self._workers = found.workers
        self.travel = found.travel
        loc = c.settings.depot.location if c.settings.depot else None
        self.depot = None if loc is None else Depot(point(loc), Window(0, DAY_MINUTES))

    def minutes(self, at: datetime) -> float:
        return (at - self.midnight).total_seconds() / 60.0

    def instant(self, minutes: float) -> datetime:
        return self.midnight + timedelta(minutes=minutes)

    @property
    def now_minutes(self) -> float:
        return self.minutes(self.now)

    def job(self, wo: WorkOrder, *, ignore_wants: bool = False) -> Job | None:
        """The work order as a job; None when it cannot be planned (no place, no skill)."""
        key = (
            self.day,
            wo.seq,
            wo.site_id,
            wo.customer_id,
            wo.skill,
            wo.equipment_id,
            None if ignore_wants else wo.wants,
            wo.extra_minutes,
            wo.priority,
            wo.sla_due_at,
        )
        try:
            return self._jobs[key]
        except KeyError:
            pass
        if len(self._jobs) >= _MAX_JOBS:
            self._jobs.clear()
        job = self._jobs[key] = self._job(wo, ignore_wants=ignore_wants)
        return job

    def _job(self, wo: WorkOrder, *, ignore_wants: bool) -> Job | None:
        site = self.sites.get(wo.site_id or "")
        customer = self.customers.get(wo.customer_id)
        if site is None or site.location is None or customer is None or wo.skill is None:
            return None
        skill = self.company.skill(wo.skill)
        start, end = 0.0, float(DAY_MINUTES)
        if wo.wants is not None and not ignore_wants:
            start = max(start, self.minutes(wo.wants.start))
            end = min(end, self.minutes(wo.wants.end))
        equipment = self.equipment.get(wo.equipment_id or "")
        base = Job(
            id=str(wo.seq),
            at=point(site.location),
            window=Window(start, end),
            duration=float((skill.duration_minutes if skill else 60) + wo.extra_minutes),
            priority=int(wo.priority.removeprefix("P")),
            sla_due=None if wo.sla_due_at is None else self.minutes(wo.sla_due_at),
            pm_overdue_days=_overdue_days(equipment, self.day),
        )
        # The same on every day: the skill's, the equipment's, the customer's and the site's
        # demands (a job looked at on its day and then on the later days needs them once).
        key = (wo.skill, wo.equipment_id, customer.id, site.id)
        needs = self._needs.get(key)
        if needs is None:
            if len(self._needs) >= _MAX_JOBS:
                self._needs.clear()
            needs = job_requirements(self.company, wo.skill, equipment, customer, site=site)
            self._needs[key] = needs
        return needs.apply(base)

    def routes(
        self,
        bookings: Iterable[Booking],
        *,
        unavailable: frozenset[str] = frozenset(),
        done_today: Mapping[str, int] | None = None,
        only: Collection[str] | None = None,
    ) -> dict[str, Route]:
        """Each technician's day (or only these ones'): booked jobs in plan order, started
        ones fixed in front."""
        by_tech: dict[str, list[Booking]] = {}
        for b in bookings:
            by_tech.setdefault(b.technician_id, []).append(b)
        fallback = self.depot.at if self.depot else None
        routes: dict[str, Route] = {}
        for tech in self.company.technicians:
            if only is not None and tech.id not in only:
                continue
            if tech.home is None and fallback is None:
                continue
            worker = self._worker(tech, fallback)
            done = (done_today or {}).get(tech.id, 0)
            if tech.id in unavailable or done:
                worker = replace(
                    worker,
                    available=worker.available and tech.id not in unavailable,
                    max_jobs=max(0, worker.max_jobs - done),
                )
            booked = sorted(
                by_tech.get(tech.id, []),
                key=lambda b: (b.wo.status not in STARTED, b.position or 0, b.wo.seq),
            )
            jobs: list[Job] = []
            fixed = 0
            for b in booked:
                job = self.job(b.wo, ignore_wants=b.wo.status in STARTED)
                if job is None:
                    continue
                if b.wo.status in STARTED:
                    fixed += 1
                    # Under way: it happens now, whatever was planned.
                    job = _started(job, self.now_minutes)
                jobs.append(job)
            routes[tech.id] = Route(worker, tuple(jobs), fixed)
        return routes

    def _worker(self, tech: Technician, fallback: Point | None) -> Worker:
        """worker_from_technician(..., now=now on this day), from the day's worker made once
        per company: only the shift's start moves with the clock."""
        base = self._workers.get((self.day, tech.id))
        if base is None:
            base = worker_from_technician(tech, self.day, fallback_home=fallback)
            self._workers[(self.day, tech.id)] = base
        now = self._now_on_day()
        if now is not None and now > base.shift.start:
            return replace(base, shift=Window(min(now, base.shift.end), base.shift.end))
        return base

    def _now_on_day(self) -> float | None:
        now = self.now_minutes
        return now if 0 <= now <= DAY_MINUTES else None

    def schedule(self, route: Route) -> list[PlannedStop]:
        """Planned times of a route's jobs (the depot stop is skipped)."""
        timing = evaluate(route, self.travel, self.depot)
        if timing is None:
            return []
        stops = [s for s in timing.stops if s.job is not None]
        return [
            PlannedStop(int(s.job.id), i, self.instant(s.start), self.instant(s.end))
            for i, s in enumerate(stops)
            if s.job is not None
        ]


@dataclass(frozen=True, slots=True)
class _Lookups:
    """What every DayView of one company needs, built once: the company object a process
    holds is replaced (never changed) when the company's version stamp moves, so its
    identity is the cache key. The jobs are the work orders already turned into jobs (the
    same work order on the same day and company makes the same job), and the drive times
    between pairs of places, the same on every day."""

    company: Company
    zone: ZoneInfo
    customers: dict[str, Customer]
    sites: dict[str, Site]
    equipment: dict[str, Equipment]
    jobs: dict[tuple[object, ...], Job | None]
    needs: dict[tuple[str, str | None, str, str], JobRequirements]  # by skill and the places
    workers: dict[tuple[date, str], Worker]  # each technician's day before the clock's now
    travel: GreatCircleTravel


_MAX_JOBS = 20_000
_MAX_TRAVEL_PAIRS = 100_000  # about 15 MB of drive times kept per process
_LAST: list[_Lookups] = []  # the one company last planned for


def _lookups(company: Company) -> _Lookups:
    if _LAST and _LAST[0].company is company:
        return _LAST[0]
    customers = {x.id: x for x in company.customers}
    sites = {s.id: s for x in company.customers for s in x.sites}
    found = _Lookups(
        company=company,
        zone=ZoneInfo(company.settings.timezone),
        customers=customers,
        sites=sites,
        equipment=company.equipment_by_id(),
        jobs={},
        needs={},
        workers={},
        travel=GreatCircleTravel(
            company.assignment.detour_factor,
            company.assignment.speed_kmh,
            max_cached=_MAX_TRAVEL_PAIRS,
        ),
    )
    _LAST[:] = [found]
    return found


def _started(job: Job, now: float) -> Job:
    return replace(job, window=Window(min(job.window.start, now), max(job.window.end, now)))


def _overdue_days(equipment: Equipment | None, day: date) -> float:
    if equipment is None:
        return 0.0
    due = equipment.next_pm()
    return float(max(0, (day - due).days)) if due is not None else 0.0


def plan_day_of(wo: WorkOrder, now: datetime, zone: ZoneInfo) -> date:
    """The day a job is planned on: its wanted day when later than today, else today."""
    today = now.astimezone(zone).date()
    if wo.wants is not None:
        wanted = wo.wants.start.astimezone(zone).date()
        return max(today, wanted)
    return today


def location_of(view: DayView, wo: WorkOrder) -> Point | None:
    site = view.sites.get(wo.site_id or "")
    return None if site is None or site.location is None else point(site.location)
