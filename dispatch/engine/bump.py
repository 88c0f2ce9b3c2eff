"""Emergency bump (product spec §5): a P1 job nobody can reach in time takes the place of
lower-priority work of the technician for whom that costs least; the displaced jobs are
re-planned over the other technicians' days.

Never bumped: a job of equal or higher priority, or one in the route's fixed prefix (the
technician is driving to it or working on it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

from dispatch.engine.choose import (
    NO_FEASIBLE_TECHNICIAN,
    choose,
    effective_job,
    place,
    with_job_at,
)
from dispatch.engine.model import Depot, Explanation, Job, Route, Time, TravelTime, Window
from dispatch.engine.routing import Insertion, best_insertion
from dispatch.engine.rules import QUALIFICATION_RULES, alone_exclusion

MAX_DISPLACED = 3  # more than this many jobs moved for one emergency is a dispatcher's call
DISPLACED_MINUTES = 60.0  # cost of displacing a P4 job, in drive minutes; ×2 per level up


@dataclass(frozen=True, slots=True)
class Moved:
    """A job the bump moved: to another worker, or to nobody (`to_worker` None) and why."""

    job_id: str
    from_worker: str
    to_worker: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class BumpPlan:
    job_id: str
    worker_id: str
    route: Route  # the bumped worker's new day, the emergency in it
    arrival: Time
    displaced: tuple[Job, ...]
    moved: tuple[Moved, ...]
    routes: Mapping[str, Route]  # every worker's day after the plan
    explanations: Mapping[str, Explanation]  # displaced job id -> its re-plan
    cost: float


def needs_bump(job: Job, explanation: Explanation) -> bool:
    """A P1 job that nobody can take, or nobody can reach by its SLA."""
    if job.priority != 1:
        return False
    best = explanation.chosen
    return best is None or (job.sla_due is not None and best.arrival > job.sla_due)


def displacement_cost(jobs: Sequence[Job]) -> float:
    return sum(DISPLACED_MINUTES * 2.0 ** max(0, 4 - j.priority) for j in jobs)


def _qualified(route: Route, job: Job) -> bool:
    # Not max_jobs: bumping frees places, and the insertion checks it.
    return all(rule(route.worker, job, route) is None for rule in QUALIFICATION_RULES)


def _removals(route: Route, job: Job) -> Iterator[tuple[float, tuple[int, ...]]]:
    """Sets of bumpable positions, least costly (then fewest) first."""
    bumpable = [
        i
        for i in range(route.fixed, len(route.jobs))
        if (j := route.jobs[i]) is not None and j.priority > job.priority
    ]
    options: list[tuple[float, int, tuple[int, ...]]] = []
    for size in range(1, min(MAX_DISPLACED, len(bumpable)) + 1):
        for picked in combinations(bumpable, size):
            cost = displacement_cost([j for i in picked if (j := route.jobs[i]) is not None])
            options.append((cost, size, picked))
    options.sort()
    for cost, _, picked in options:
        yield cost, picked


@dataclass(frozen=True, slots=True)
class _Option:
    cost: float
    worker_id: str
    insertion: Insertion
    displaced: tuple[Job, ...]


def _deadline(job: Job) -> Job:
    """The job with its SLA as a hard window end: the bump is only worth it if on time."""
    if job.sla_due is None or job.sla_due >= job.window.end:
        return job
    return replace(job, window=Window(job.window.start, job.sla_due))


def _best_option(
    job: Job,
    routes: Sequence[Route],
    travel: TravelTime,
    depot: Depot | None,
    now: Time | None,
    declined: frozenset[str],
) -> _Option | None:
    in_time = _deadline(job)
    best: _Option | None = None
    for route in sorted(routes, key=lambda r: r.worker.id):
        worker = route.worker
        if (
            worker.id in declined
            or not _qualified(route, job)
            or alone_exclusion(worker, in_time, travel, now)
        ):
            continue  # even an empty day would not get them there in time
        for displaced_cost, picked in _removals(route, job):
            if best is not None and displaced_cost >= best.cost:
                break  # every later set costs at least this much
            kept = tuple(j for i, j in enumerate(route.jobs) if i not in picked)
            found = best_insertion(Route(worker, kept, route.fixed), in_time, travel, depot)
            if found is None:
                continue
            cost = displaced_cost + found.added_travel
            if best is None or cost < best.cost:
                displaced = tuple(j for i in picked if (j := route.jobs[i]) is not None)
                best = _Option(cost, worker.id, found, displaced)
    return best


def plan_bump(
    job: Job,
    routes: Sequence[Route],
    travel: TravelTime,
    depot: Depot | None,
    weights: Mapping[str, float],
    *,
    now: Time | None = None,
    declined: frozenset[str] = frozenset(),
) -> BumpPlan | None:
    """The cheapest bump that gets the emergency there by its SLA, or None if none does.
    Workers in `declined` (who declined the emergency or let its offer expire) are not
    asked again: bumping their day for it would only displace work for another silence.

    Call it when `needs_bump` says so: it always displaces at least one job."""
    planned = effective_job(job, now)
    option = _best_option(planned, routes, travel, depot, now, declined)
    if option is None:
        return None
    by_worker = {r.worker.id: r for r in routes}
    others = {wid: r for wid, r in by_worker.items() if wid != option.worker_id}
    moved: list[Moved] = []
    explanations: dict[str, Explanation] = {}
    why = f"bumped for {job.id}"
    for displaced in sorted(
        option.displaced,
        key=lambda j: (j.priority, float("inf") if j.sla_due is None else j.sla_due, j.id),
    ):
        explanation = choose(displaced, list(others.values()), travel, depot, weights, now=now)
        explanations[displaced.id] = explanation
        target = explanation.chosen
        placed = (
            place(displaced, others[target.worker_id], travel, depot, now=now)
            if target is not None
            else None
        )
        if target is not None and isinstance(placed, Insertion):
            others[target.worker_id] = placed.route
            moved.append(Moved(displaced.id, option.worker_id, target.worker_id, why))
        else:
            reason = explanation.reason or NO_FEASIBLE_TECHNICIAN
            moved.append(Moved(displaced.id, option.worker_id, None, f"{why}; {reason}"))
    # The SLA was a hard end only for the search: the plan carries the job as it is.
    bumped = with_job_at(option.insertion.route, option.insertion.position, job)
    after = dict(others)
    after[option.worker_id] = bumped
    return BumpPlan(
        job_id=job.id,
        worker_id=option.worker_id,
        route=bumped,
        arrival=option.insertion.arrival,
        displaced=option.displaced,
        moved=tuple(moved),
        routes={wid: after[wid] for wid in sorted(after)},
        explanations=explanations,
        cost=option.cost,
    )
