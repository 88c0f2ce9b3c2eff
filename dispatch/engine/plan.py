"""Day plans: build one from scratch, or re-plan what has not started yet.

Both run regret insertion then the ALNS improvement (`alns.search`) on the routing rules of
`routing` (windows, shift, tools and stock with one depot stop, max jobs, availability).
Who may take which job (skills, certifications, territory, exclusions) is a parameter:
`allowed`, by default `eligible` below; the rules layer passes its own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.engine.alns import Solution, repair, search, tidy
from dispatch.engine.local import improve
from dispatch.engine.model import Depot, Job, Route, TravelTime, Worker
from dispatch.engine.search import INF, Allowed, Problem, RouteState, route_state


@dataclass(frozen=True, slots=True)
class Unassigned:
    job: Job
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[Route, ...]  # one per worker, in the workers' order
    unassigned: tuple[Unassigned, ...]
    working_time: float  # sum of the routes' minimal durations
    iterations: int = 0


NO_WORKER = "no available worker qualified for it"
NO_SLOT = "no qualified worker can fit it in their day (windows, shift, tools or stock)"


def eligible(worker: Worker, job: Job) -> bool:
    """The hard rules that are not about time: skills at level, certifications, territory,
    required and excluded workers."""
    return (
        all(worker.skills.get(s, 0) >= lvl for s, lvl in job.skills.items())
        and job.certifications <= worker.certifications
        and (job.territory is None or job.territory in worker.territories)
        and (job.required_worker is None or job.required_worker == worker.id)
        and worker.id not in job.excluded_workers
    )


def _plan(p: Problem, sol: Solution) -> Plan:
    routes = tuple(
        Route(
            p.workers[k],
            tuple(None if u == p.depot else p.jobs[u] for u in st.seq),
            min(st.fixed, len(st.seq)),
        )
        for k, st in enumerate(sol.states)
    )
    out = tuple(
        Unassigned(p.jobs[j], NO_SLOT if p.candidates[j] else NO_WORKER)
        for j in sorted(sol.unassigned)
    )
    return Plan(routes, out, sol.working_time(), p.iterations)


def _solve(p: Problem, sol: Solution, seconds: float, seed: int, iterations: int | None) -> Plan:
    repair(p, sol, 2, 0.0, random.Random(seed))
    found = search(p, sol, seconds=seconds, seed=seed, iterations=iterations, polish=improve)
    return _plan(p, improve(p, found))


def plan_day(
    workers: Sequence[Worker],
    jobs: Sequence[Job],
    travel: TravelTime,
    depot: Depot | None,
    *,
    seconds: float,
    seed: int,
    iterations: int | None = None,
    allowed: Allowed = eligible,
) -> Plan:
    """Plan every job into the workers' days, least total working time first. Deterministic
    for a seed when `iterations` ends the search before `seconds` does."""
    p = Problem(workers, jobs, travel, depot, allowed)
    states = []
    for k in range(len(p.workers)):
        st = route_state(p, k, [], 0)
        states.append(st if st is not None else _forced(p, k, []))  # can't even get home
    return _solve(p, Solution(states, list(range(len(p.jobs)))), seconds, seed, iterations)


def reoptimize(
    routes: Sequence[Route],
    travel: TravelTime,
    depot: Depot | None,
    *,
    seconds: float,
    seed: int,
    jobs: Sequence[Job] = (),
    iterations: int | None = None,
    allowed: Allowed = eligible,
) -> Plan:
    """Re-plan every job not in a route's fixed prefix, plus `jobs` not yet planned.

    Workers' `start`/`shift.start` say where and when they are free now (after an overrun);
    an unavailable worker keeps only their fixed jobs, the rest move to others. Jobs that no
    longer fit where they were are taken out from the end and re-inserted.
    """
    by_id: dict[str, int] = {}
    all_jobs: list[Job] = []
    for job in [j for r in routes for j in r.jobs if j is not None] + list(jobs):
        if job.id not in by_id:
            by_id[job.id] = len(all_jobs)
            all_jobs.append(job)
    p = Problem([r.worker for r in routes], all_jobs, travel, depot, allowed)
    states = []
    planned: set[int] = set()
    for k, r in enumerate(routes):
        seq = [p.depot if j is None else by_id[j.id] for j in r.jobs]
        keep = len(seq) if r.worker.available else r.fixed
        st = route_state(p, k, seq[:keep], r.fixed)
        while st is None and keep > r.fixed:
            keep -= 1
            st = route_state(p, k, seq[:keep], r.fixed)
        if st is None:  # the fixed part itself overruns: keep it, it is under way
            st = _forced(p, k, seq[: r.fixed])
        elif p.depot in st.seq[r.fixed :]:
            st = tidy(p, k, st.seq, r.fixed)
        planned.update(u for u in st.seq if u != p.depot)
        states.append(st)
    pool = [j for j in range(len(all_jobs)) if j not in planned]
    return _solve(p, Solution(states, pool), seconds, seed, iterations)


def _forced(p: Problem, k: int, seq: list[int]) -> RouteState:
    """A fixed prefix that already breaks a rule (running late): kept as it is, scheduled
    without window limits, and closed to new jobs."""
    saved = p.we
    p.we = [INF] * len(saved)
    try:
        st = route_state(p, k, seq, len(seq))
    finally:
        p.we = saved
    if st is None:  # tools or stock: still under way, so still kept
        st = route_state(p, k, [], 0)
        assert st is not None
        st.seq = seq
    st.fixed = len(seq) + 1  # no insertion position left
    return st
