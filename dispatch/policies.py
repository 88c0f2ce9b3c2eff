"""Assignment policies behind one port, so scenario days can compare them on the same day.

`engine` is the product's choice (every hard rule, weighted objectives). The two baselines
are what a company without the product does: `first_free` (whoever with the skill is free
next, the first there among those free at once) and `nearest` (the nearest technician with
the skill, no other rule). Both add the job to the end of the technician's queue, and it
has to fit in the day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Protocol

from dispatch.engine.choose import choose
from dispatch.engine.model import (
    Candidate,
    Depot,
    Exclusion,
    Explanation,
    Job,
    Route,
    Time,
    TravelTime,
    Window,
)
from dispatch.engine.routing import Insertion, evaluate
from dispatch.engine.rules import AVAILABILITY, DECLINED, OVERLAP, SKILL


class Policy(Protocol):
    def __call__(
        self,
        job: Job,
        routes: Sequence[Route],
        travel: TravelTime,
        depot: Depot | None,
        weights: Mapping[str, float],
        *,
        now: Time | None = None,
        declined: frozenset[str] = frozenset(),
        only: frozenset[str] | None = None,
    ) -> Explanation: ...


def _baseline(score_by: str) -> Policy:
    def policy(
        job: Job,
        routes: Sequence[Route],
        travel: TravelTime,
        depot: Depot | None,
        weights: Mapping[str, float],
        *,
        now: Time | None = None,
        declined: frozenset[str] = frozenset(),
        only: frozenset[str] | None = None,
    ) -> Explanation:
        candidates: list[Candidate] = []
        excluded: list[Exclusion] = []
        for route in routes:
            w = route.worker
            if only is not None and w.id not in only:
                continue
            if w.id in declined:
                excluded.append(Exclusion(w.id, DECLINED, "declined this job"))
                continue
            if not w.available:
                excluded.append(Exclusion(w.id, AVAILABILITY, "off or sick today"))
                continue
            if any(w.skills.get(s, 0) < 1 for s in job.skills):
                excluded.append(Exclusion(w.id, SKILL, "lacks the skill"))
                continue
            # No tools, parts, territory or certification rules: a dispatcher with a
            # spreadsheet only checks the trade. The day still has to have room.
            found = relaxed_place(job, route, travel, depot, now=now)
            if found is None:
                excluded.append(Exclusion(w.id, OVERLAP, "no room in the day"))
                continue
            if score_by == "free":
                # When their queue is done: the arrival less the drive from the last job.
                last = next((j.at for j in reversed(route.jobs) if j is not None), w.start)
                score = found.arrival - travel(last, job.at)
            else:
                score = travel(w.start, job.at)
            candidates.append(
                Candidate(
                    w.id,
                    score,
                    {score_by: score},
                    found.position,
                    found.arrival,
                    found.added_travel,
                )
            )
        # Ties (several free at once) go to whoever gets there first.
        candidates.sort(key=lambda c: (round(c.score, 6), c.arrival, c.worker_id))
        if not candidates:
            return Explanation(job.id, None, (), tuple(excluded), "no_feasible_technician")
        return Explanation(job.id, candidates[0], tuple(candidates[1:4]), tuple(excluded))

    return policy


def relaxed_place(
    job: Job, route: Route, travel: TravelTime, depot: Depot | None, *, now: Time | None = None
) -> Insertion | None:
    """Where a baseline puts the job: at the end of the technician's queue, as a dispatcher
    without a planner does, if the day still has room for it. Only the day's room counts,
    not the engine's rules about tools, parts, territory or certifications, and nothing is
    re-ordered: no cheapest position, no SLA-aware one."""
    start = job.window.start if now is None else max(now, job.window.start)
    relaxed = Job(
        id=job.id,
        at=job.at,
        window=Window(start, max(start, job.window.end)),
        duration=job.duration,
    )
    booked = [j for j in route.jobs if j is not None]
    worker = replace(
        route.worker,
        tools=route.worker.tools.union(*(j.tools for j in booked)),
        stock={p: 1_000_000 for j in booked for p in j.parts},  # nobody counts the van
    )
    if not worker.available:
        return None
    before = evaluate(Route(worker, route.jobs, route.fixed), travel, depot)
    after = evaluate(Route(worker, (*route.jobs, relaxed), route.fixed), travel, depot)
    if before is None or after is None:
        return None
    return Insertion(
        Route(route.worker, (*route.jobs, job), route.fixed),
        len(route.jobs),
        after.stops[-1].arrival,
        after.travel - before.travel,
        after.duration - before.duration,
    )


POLICIES: dict[str, Policy] = {
    "engine": choose,
    "first_free": _baseline("free"),
    "nearest": _baseline("distance"),
}
_current: ContextVar[str] = ContextVar("assignment_policy", default="engine")


def current() -> Policy:
    return POLICIES[_current.get()]


def current_name() -> str:
    return _current.get()


@contextmanager
def use_policy(name: str) -> Iterator[None]:
    """Run the block (and the tasks it starts) with another assignment policy."""
    if name not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}")
    token = _current.set(name)
    try:
        yield
    finally:
        _current.reset(token)
