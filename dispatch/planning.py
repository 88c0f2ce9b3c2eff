"""The day as the engine sees it: work orders and technicians turned into jobs and routes.

Plan time is minutes since local midnight of the planning day, in the company's timezone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from math import floor
from typing import TypeVar
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
    _now_minutes: float = field(init=False, repr=False)
    _jobs: dict[tuple[object, ...], Job | None] = field(init=False, repr=False)
    _needs: dict[tuple[str, str | None, str, str], JobRequirements] = field(init=False, repr=False)
    _workers: dict[tuple[date, str], Worker] = field(init=False, repr=False)
    _moved: dict[tuple[date, str], tuple[Worker, Worker]] = field(init=False, repr=False)
    _booked_days: _KeptDays[tuple[date, int], _Booked] = field(init=False, repr=False)
    _later: _KeptDays[tuple[date, date, int], _Split] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        c = self.company
        found = _lookups(c)
        self.zone = found.zone
        self.midnight = datetime.combine(self.day, time(0), self.zone)
        # Asked for each technician of each day a request looks at: aware datetimes in two
        # zones subtracted about a hundred times a request, for one answer.
        self._now_minutes = self.minutes(self.now)
        self.customers = found.customers
        self.sites = found.sites
        self.equipment = found.equipment
        self._jobs = found.jobs
        self._needs = found.needs
        self._workers = found.workers
        self._moved = found.moved
        self._booked_days = found.booked_days
        self._later = found.later
        self.travel = found.travel
        self.depot = found.depot

    def minutes(self, at: datetime) -> float:
        return (at - self.midnight).total_seconds() / 60.0

    def instant(self, minutes: float) -> datetime:
        return self.midnight + timedelta(minutes=minutes)

    def midnight_of(self, day: date) -> datetime:
        """That day's local midnight in the company's zone, as a UTC instant."""
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    @property
    def now_minutes(self) -> float:
        return self._now_minutes

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
        booked = self._booked(bookings)
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
            jobs, fixed = booked.jobs.get(tech.id, ((), 0))
            if fixed:
                # Under way: it happens now, whatever was planned.
                now = self.now_minutes
                jobs = (*(_started(job, now) for job in jobs[:fixed]), *jobs[fixed:])
                routes[tech.id] = Route(worker, jobs, fixed)
            else:
                routes[tech.id] = booked.route(worker, jobs)
        return routes

    def _booked(self, bookings: Iterable[Booking]) -> _Booked:
        """Each technician's booked jobs in plan order, and how many of them (in front) are
        under way, as planned (routes() moves those to now). Kept for a tuple of bookings
        seen before on this day: storage answers a day nobody has changed with the same
        tuple, and a booking's work order is not changed in place (it is read afresh to be
        changed), so the same tuple on the same day makes the same jobs."""
        key = (self.day, id(bookings))
        kept = _kept(self._booked_days, key, bookings)
        if kept is not None:
            return kept
        by_tech: dict[str, list[Booking]] = {}
        for b in bookings:
            by_tech.setdefault(b.technician_id, []).append(b)
        booked: dict[str, tuple[tuple[Job, ...], int]] = {}
        for tech_id, mine in by_tech.items():
            mine.sort(key=lambda b: (b.wo.status not in STARTED, b.position or 0, b.wo.seq))
            jobs: list[Job] = []
            fixed = 0
            for b in mine:
                started = b.wo.status in STARTED
                job = self.job(b.wo, ignore_wants=started)
                if job is None:
                    continue
                fixed += started
                jobs.append(job)
            booked[tech_id] = (tuple(jobs), fixed)
        made = _Booked(booked)
        _keep(self._booked_days, key, bookings, made)
        return made

    def later_days(
        self, bookings: Iterable[Booking], last: date
    ) -> list[tuple[date, tuple[Booking, ...]]]:
        """Each day after this one, up to `last`, with its bookings out of `bookings` (read
        for all those days at once). A booking with no planned start holds its place on
        every day, as in the day read. Kept for a tuple of bookings seen before, as
        _booked's: the same tuples each time, so each day's jobs are kept too."""
        key = (self.day, last, id(bookings))
        kept = _kept(self._later, key, bookings)
        if kept is not None:
            return kept
        days = [self.day + timedelta(days=n) for n in range(1, (last - self.day).days + 1)]
        # Each day's local midnight, as UTC instants: a booking's day by bisection, not by
        # converting each booking's start to the company's zone (hundreds a request).
        bounds = [self.midnight_of(d) for d in (*days, last + timedelta(days=1))]
        undated: list[Booking] = []
        by_day: list[list[Booking]] = [[] for _ in days]
        for b in bookings:
            if b.planned_start is None:
                undated.append(b)
            else:
                i = bisect_right(bounds, b.planned_start) - 1
                if 0 <= i < len(days):
                    by_day[i].append(b)
        split = [(day, (*undated, *on_day)) for day, on_day in zip(days, by_day, strict=True)]
        _keep(self._later, key, bookings, split)
        return split

    def _worker(self, tech: Technician, fallback: Point | None) -> Worker:
        """worker_from_technician(..., now=now on this day), from the day's worker made once
        per company: only the shift's start moves with the clock."""
        base = self._workers.get((self.day, tech.id))
        if base is None:
            base = worker_from_technician(tech, self.day, fallback_home=fallback)
            self._workers[(self.day, tech.id)] = base
        now = self._now_on_day()
        if now is None or now <= base.shift.start:
            return base
        # Mid-shift the day's plan starts at this minute (not this second): within a minute
        # the same Worker object, so the routes made with it are kept (_Booked.route) and
        # the engine's work on them is done once a minute, not once a request. A new job's
        # own arrival is still no sooner than now to the second (dispatch.engine.choose).
        start = min(float(floor(now)), base.shift.end)
        if start <= base.shift.start:
            return base
        kept = self._moved.get((self.day, tech.id))
        if kept is not None and kept[0] is base and kept[1].shift.start == start:
            return kept[1]
        moved = replace(base, shift=Window(start, base.shift.end))
        self._moved[(self.day, tech.id)] = (base, moved)
        return moved

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


class _Booked:
    """A day's booked jobs per technician (in plan order, and how many in front are under
    way), and the routes made from them: kept with the tuple of bookings they came from."""

    __slots__ = ("_routes", "jobs")

    def __init__(self, jobs: dict[str, tuple[tuple[Job, ...], int]]) -> None:
        self.jobs = jobs
        self._routes: dict[str, tuple[Worker, Route]] = {}

    def route(self, worker: Worker, jobs: tuple[Job, ...]) -> Route:
        """The worker's route with `jobs` (theirs, none under way): the same Route object
        for the same Worker object, as on a later day, or today before the shift, where the
        clock does not move the worker. What the engine works out per route object (its
        schedule, its gaps) is then worked out once for the day, not once a request."""
        kept = self._routes.get(worker.id)
        if kept is not None and kept[0] is worker:
            return kept[1]
        route = Route(worker, jobs, 0)
        self._routes[worker.id] = (worker, route)
        return route


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
    moved: dict[tuple[date, str], tuple[Worker, Worker]]  # and at the clock's minute: _worker
    travel: GreatCircleTravel
    depot: Depot | None  # the same object every day: the engine's per-route work is kept by it
    booked_days: _KeptDays[tuple[date, int], _Booked]  # DayView._booked's, by day and tuple
    later: _KeptDays[tuple[date, date, int], _Split]  # DayView.later_days'


_Split = list[tuple[date, tuple[Booking, ...]]]  # the later days, each with its bookings
_K = TypeVar("_K")
_V = TypeVar("_V")


class _KeptDays(dict[_K, tuple[tuple[Booking, ...], _V]]):
    """Tuples of bookings, each with what was made from it (held together: the tuple's id
    is part of the key), and how many bookings they hold in all. Bounded both ways: by
    entries, as the later-day reads for a few technicians each make their own few days
    (72 entries in the load's steady state on PostgreSQL, where a bound of 32 let them go
    every few requests, to be planned anew), and by bookings, as a day of everyone's in a
    large company holds thousands, which a kept entry keeps alive."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        super().__init__()
        self.held = 0


def _kept(cache: _KeptDays[_K, _V], key: _K, bookings: Iterable[Booking]) -> _V | None:
    """What was made from this very tuple of bookings (a list or another tuple: None)."""
    kept = cache.get(key) if isinstance(bookings, tuple) else None
    return kept[1] if kept is not None and kept[0] is bookings else None


def _keep(cache: _KeptDays[_K, _V], key: _K, bookings: Iterable[Booking], made: _V) -> None:
    """Keep what was made from a tuple of bookings (a list may change after: never kept).
    The tuple is held with it, so its id, part of the key, is not reused meanwhile."""
    if isinstance(bookings, tuple):
        if len(cache) >= _MAX_BOOKED_DAYS or cache.held + len(bookings) > _MAX_KEPT_BOOKINGS:
            cache.clear()
            cache.held = 0
        cache[key] = (bookings, made)
        cache.held += len(bookings)


_MAX_JOBS = 20_000
_MAX_BOOKED_DAYS = 256  # tuples of bookings kept per company (each day's, and the splits)
_MAX_KEPT_BOOKINGS = 30_000  # bookings those tuples hold in all: under 20 MB (~600 bytes each)
_MAX_TRAVEL_PAIRS = 100_000  # about 15 MB of drive times kept per process
_LAST: list[_Lookups] = []  # the one company last planned for


def _lookups(company: Company) -> _Lookups:
    if _LAST and _LAST[0].company is company:
        return _LAST[0]
    customers = {x.id: x for x in company.customers}
    loc = company.settings.depot.location if company.settings.depot else None
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
        moved={},
        booked_days=_KeptDays(),
        later=_KeptDays(),
        travel=GreatCircleTravel(
            company.assignment.detour_factor,
            company.assignment.speed_kmh,
            max_cached=_MAX_TRAVEL_PAIRS,
        ),
        depot=None if loc is None else Depot(point(loc), Window(0, DAY_MINUTES)),
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
