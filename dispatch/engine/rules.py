"""Hard rules: who may take a job at all, each rule a small named check.

A rule returns None when the worker passes it, or an `Exclusion` naming the rule. The names
are a fixed vocabulary (`RULES`) that explanations, `/why` and the board show. A worker gets
the first rule they fail: the worker rules in `RULES` order, then the route rules, which
only the search settles, named by what is provably wrong: a missing tool or part with no
depot; the shift or the window missed even on an empty day; no gap in the booked work; and
`tools_parts` again when the job would fit but the depot stop for what is missing does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from dispatch.engine.gaps import gaps, soonest_arrival
from dispatch.engine.model import Depot, Exclusion, Job, Route, Time, TravelTime, Window, Worker
from dispatch.engine.routing import EPS, Insertion, best_insertion, covers

DECLINED = "declined"
AVAILABILITY = "availability"
REQUIRED_TECHNICIAN = "required_technician"
EXCLUDED_BY_CUSTOMER = "excluded_by_customer"
SKILL = "skill"
CERTIFICATION = "certification"
TERRITORY = "territory"
MAX_JOBS = "max_jobs"
TOOLS_PARTS = "tools_parts"
SHIFT = "shift"
TIME_WINDOW = "time_window"
OVERLAP = "overlap"

RULES: tuple[str, ...] = (
    DECLINED,
    AVAILABILITY,
    REQUIRED_TECHNICIAN,
    EXCLUDED_BY_CUSTOMER,
    SKILL,
    CERTIFICATION,
    TERRITORY,
    MAX_JOBS,
    TOOLS_PARTS,
    SHIFT,
    TIME_WINDOW,
    OVERLAP,
)

# Rules whose verdict is the same on every day: a worker they exclude today is excluded on
# any later day too. The others (off today, a full day, van stock, certifications valid on
# the job's date) may let the worker take it another day.
LASTING_RULES = frozenset({DECLINED, REQUIRED_TECHNICIAN, EXCLUDED_BY_CUSTOMER, SKILL, TERRITORY})

RULE_LABELS: dict[str, str] = {
    DECLINED: "declined this job",
    AVAILABILITY: "not working today",
    REQUIRED_TECHNICIAN: "another technician is required",
    EXCLUDED_BY_CUSTOMER: "excluded by the customer",
    SKILL: "lacks the skill level",
    CERTIFICATION: "lacks a valid certification",
    TERRITORY: "outside their territory",
    MAX_JOBS: "day is full (maximum jobs)",
    TOOLS_PARTS: "lacks a tool or part, no depot stop fits",
    SHIFT: "does not fit in the shift",
    TIME_WINDOW: "cannot arrive within the time window",
    OVERLAP: "no gap in booked work",
}

Rule = Callable[[Worker, Job, Route], Exclusion | None]


def _hhmm(t: float) -> str:
    minutes = round(t)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def availability(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    if worker.available:
        return None
    return Exclusion(worker.id, AVAILABILITY, "on leave, off or sick today")


def required_technician(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    if job.required_worker is None or job.required_worker == worker.id:
        return None
    return Exclusion(worker.id, REQUIRED_TECHNICIAN, f"job requires {job.required_worker}")


def excluded_by_customer(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    if worker.id not in job.excluded_workers:
        return None
    return Exclusion(worker.id, EXCLUDED_BY_CUSTOMER, "the customer asked not to send them")


def skill(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    for name, level in job.skills.items():
        has = worker.skills.get(name, 0)
        if has < level:
            return Exclusion(worker.id, SKILL, f"{name} level {has}, needs {level}")
    return None


def certification(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    missing = sorted(job.certifications - worker.certifications)
    if not missing:
        return None
    return Exclusion(worker.id, CERTIFICATION, "no valid " + ", ".join(missing))


def territory(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    if job.territory is None or job.territory in worker.territories:
        return None
    return Exclusion(worker.id, TERRITORY, f"does not cover {job.territory}")


def max_jobs(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    booked = sum(1 for j in route.jobs if j is not None)
    if booked < worker.max_jobs:
        return None
    return day_full(worker.id, booked, worker.max_jobs)


def day_full(worker_id: str, booked: int, limit: int) -> Exclusion:
    """The `max_jobs` exclusion: that many jobs booked already, at most `limit` a day."""
    return Exclusion(worker_id, MAX_JOBS, f"{booked} jobs booked, maximum {limit}")


# Who may do the job at all, in `RULES` order; `declined` is the caller's (it knows the offers).
QUALIFICATION_RULES: tuple[Rule, ...] = (
    availability,
    required_technician,
    excluded_by_customer,
    skill,
    certification,
    territory,
)
# Everything checkable before the route's times: qualification, then room for another job.
STATIC_RULES: tuple[Rule, ...] = (*QUALIFICATION_RULES, max_jobs)


def static_exclusion(worker: Worker, job: Job, route: Route) -> Exclusion | None:
    """The first worker-level rule the worker fails, before any route work."""
    for rule in STATIC_RULES:
        found = rule(worker, job, route)
        if found is not None:
            return found
    return None


def lacks_tools_or_parts(worker: Worker, job: Job, route: Route) -> list[str]:
    """What the worker's own van lacks for this job on top of the route's booked jobs."""
    if not job.tools and not job.parts:
        return []
    missing = sorted(job.tools - worker.tools) if not covers(worker, job) else []
    used: dict[str, int] = {}
    for booked in route.jobs:
        if booked is not None:
            for part, qty in booked.parts.items():
                used[part] = used.get(part, 0) + qty
    for part, qty in sorted(job.parts.items()):
        if qty > 0 and used.get(part, 0) + qty > worker.stock.get(part, 0):
            missing.append(part)
    return missing


def _reaches(worker: Worker, job: Job, window: Window, travel: TravelTime) -> bool:
    """Whether the job, as the worker's only visit, can start in `window` and end in time.

    Travel is a metric, so no route can reach the job sooner than driving straight there:
    failing this is a lower-bound proof, found without the insertion search."""
    shift = worker.shift
    arrival = shift.start + travel(worker.start, job.at)
    if arrival > window.end + EPS:
        return False
    begin = arrival if arrival > window.start else window.start
    if begin > window.end + EPS:  # a window that `now` has already closed
        return False
    return begin + job.duration + travel(job.at, worker.end) <= shift.end + EPS


def alone_exclusion(
    worker: Worker, job: Job, travel: TravelTime, now: Time | None
) -> Exclusion | None:
    """`shift` or `time_window` when the job could not be done even on an empty day."""
    shift = worker.shift
    earliest = shift.start if now is None else max(shift.start, now)
    if not _reaches(worker, job, Window(earliest, shift.end), travel):
        return Exclusion(
            worker.id,
            SHIFT,
            f"{job.duration:.0f} min on site plus travel does not fit in "
            f"{_hhmm(earliest)}-{_hhmm(shift.end)}",
        )
    if not _reaches(worker, job, job.window, travel):
        return Exclusion(
            worker.id,
            TIME_WINDOW,
            f"cannot arrive within {_hhmm(job.window.start)}-{_hhmm(job.window.end)}",
        )
    return None


def booked_minutes(route: Route) -> float:
    return sum(j.duration for j in route.jobs if j is not None)


def _overlap(worker: Worker, route: Route) -> Exclusion:
    booked = sum(1 for j in route.jobs if j is not None)
    return Exclusion(worker.id, OVERLAP, f"no gap between {booked} booked jobs")


def route_precheck(
    route: Route,
    job: Job,
    travel: TravelTime,
    depot: Depot | None,
    *,
    now: Time | None = None,
) -> Exclusion | Time:
    """The route rules that can be proven broken without the insertion search (no depot for
    a missing tool or part; the shift or the window missed even on an empty day; no gap in
    the booked work), or else a lower bound on the job's arrival in this route.

    `now` only sharpens the diagnosis (a shift that is over); the caller has already moved
    the job's window start to `now`."""
    worker = route.worker
    if depot is None:
        missing = lacks_tools_or_parts(worker, job, route)
        if missing:
            return Exclusion(worker.id, TOOLS_PARTS, "lacks " + ", ".join(missing) + "; no depot")
    alone = alone_exclusion(worker, job, travel, now)
    if alone is not None:
        return alone
    if booked_minutes(route) + job.duration > worker.shift.end - worker.shift.start:
        return _overlap(worker, route)  # visits never overlap: certain without a search
    soonest = worker.shift.start + travel(worker.start, job.at)
    free = gaps(route, travel, depot)
    if free is not None:
        bound = soonest_arrival(free, job)
        if bound is None:
            return _overlap(worker, route)
        soonest = max(soonest, bound)
    return soonest


def route_insertion(
    route: Route, job: Job, travel: TravelTime, depot: Depot | None, *, least_late: bool = False
) -> Insertion | Exclusion:
    """The cheapest insertion (after `route_precheck` passed), or why there is none."""
    found = best_insertion(route, job, travel, depot, least_late=least_late)
    if found is not None:
        return found
    missing = lacks_tools_or_parts(route.worker, job, route)
    if missing:
        bare = replace(job, tools=frozenset(), parts={})
        if best_insertion(route, bare, travel, depot) is not None:
            return Exclusion(
                route.worker.id,
                TOOLS_PARTS,
                "lacks " + ", ".join(missing) + "; no depot stop fits",
            )
    return _overlap(route.worker, route)


def route_rules(
    route: Route,
    job: Job,
    travel: TravelTime,
    depot: Depot | None,
    *,
    now: Time | None = None,
    least_late: bool = False,
) -> Insertion | Exclusion:
    """The cheapest insertion of the job, or the route rule that makes it impossible."""
    found = route_precheck(route, job, travel, depot, now=now)
    if isinstance(found, Exclusion):
        return found
    return route_insertion(route, job, travel, depot, least_late=least_late)
