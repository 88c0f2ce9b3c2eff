"""Replaying a day as it happens: jobs revealed over time, routes executed as planned.

At each release time the stops a worker has already set off to are committed; the worker
is then free at the last committed stop (or still at home) from the moment it leaves there,
with what is left of its van stock (everything after a depot stop). A revealed job goes where
`best_insertion` puts it cheapest in the part not yet executed, and the unexecuted part of
every route is re-optimised between releases. A job is never travelled to before its release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from dispatch.engine.model import Depot, Job, Point, Route, TravelTime, Window, Worker
from dispatch.engine.plan import Plan, eligible, plan_day, reoptimize
from dispatch.engine.routing import best_insertion, evaluate
from dispatch.engine.search import Allowed

UNLIMITED = 1 << 30


@dataclass(frozen=True, slots=True)
class OnlineResult:
    routes: tuple[Route, ...]  # whole days, committed and planned, in the workers' order
    unserved: tuple[Job, ...]
    inserted: int  # revealed jobs placed by best_insertion
    reoptimized: int  # revealed jobs placed only by a re-plan
    departed: Mapping[str, float]  # job id -> when its worker set off to it


class _Day:
    """One worker's day so far: the committed stops and where and when it is free next."""

    def __init__(self, worker: Worker, restocked: Worker) -> None:
        self.home = worker
        self.restocked = restocked  # what the worker carries after the depot
        self.done: list[Job | None] = []
        self.now = worker  # start/shift.start: where and from when it is free; stock left
        self.left_home = False
        self.departed: dict[str, float] = {}  # job id -> when the worker set off to it

    def commit(self, plan: Route, t: float, travel: TravelTime, depot: Depot | None) -> Route:
        """Commit the stops set off to by time t; return the route of what is left."""
        jobs = list(plan.jobs)
        if not jobs:
            self._idle(t, travel)
            return Route(self.now, ())
        timing = evaluate(Route(self.now, tuple(jobs)), travel, depot)
        assert timing is not None
        leave = self.now.shift.start
        if not self.left_home:  # leave home as late as the plan allows
            leave = timing.back - timing.duration
            timing = evaluate(Route(_at(self.now, None, leave), tuple(jobs)), travel, depot)
            assert timing is not None
        if leave > t:
            self.now = _at(self.now, None, max(self.now.shift.start, t))
            return Route(self.now, tuple(jobs))
        k = 0
        while k < len(jobs) and (k == 0 or timing.stops[k - 1].end <= t):
            k += 1
        self.left_home = True
        worker = self.now
        for i, job in enumerate(jobs[:k]):
            self.done.append(job)
            if job is not None:
                self.departed[job.id] = timing.stops[i - 1].end if i else leave
            if job is None:
                worker = replace(worker, tools=self.restocked.tools, stock=self.restocked.stock)
            else:
                stock = dict(worker.stock)
                for p, q in job.parts.items():
                    stock[p] = stock.get(p, 0) - q
                worker = replace(worker, stock=stock)
        last = timing.stops[k - 1]
        here = depot.at if last.job is None and depot is not None else _where(last.job)
        self.now = _at(worker, here, last.end)
        if k == len(jobs):
            self._idle(t, travel)
        return Route(self.now, tuple(jobs[k:]))

    def _idle(self, t: float, travel: TravelTime) -> None:
        """Nothing left to do: at home if it never left, else on the way home since it
        finished; either way it can be sent out from where it is at time t."""
        now = self.now
        if now.shift.start >= t:
            return
        if not self.left_home:
            self.now = _at(now, None, t)
            return
        leg = travel(now.start, now.end)
        f = min(1.0, (t - now.shift.start) / leg) if leg > 0 else 1.0
        here = Point(
            now.start.x + (now.end.x - now.start.x) * f,
            now.start.y + (now.end.y - now.start.y) * f,
        )
        self.now = _at(now, here, t)

    def whole(self, rest: Route) -> Route:
        return Route(self.home, (*self.done, *rest.jobs), len(self.done))


def _where(job: Job | None) -> Point:
    assert job is not None
    return job.at


def _at(worker: Worker, here: Point | None, t: float) -> Worker:
    start = here if here is not None else worker.start
    return replace(worker, start=start, shift=Window(t, worker.shift.end))


def simulate(
    workers: Sequence[Worker],
    jobs: Sequence[Job],
    travel: TravelTime,
    depot: Depot | None,
    *,
    seconds: float,
    seed: int,
    allowed: Allowed = eligible,
) -> OnlineResult:
    """Plan the jobs released at time ≤ 0, then reveal the others in release order."""
    known = [j for j in jobs if j.release <= 0]
    events = sorted({j.release for j in jobs if j.release > 0})
    budget = seconds / 2
    plan: Plan = plan_day(workers, known, travel, depot, seconds=budget, seed=seed)
    tools = frozenset().union(*(j.tools for j in jobs))
    stock = {p: UNLIMITED for j in jobs for p in j.parts}
    days = [_Day(w, replace(w, tools=w.tools | tools, stock=stock)) for w in workers]
    routes = list(plan.routes)
    unserved = [u.job for u in plan.unassigned]
    inserted = reoptimized = 0
    for e, t in enumerate(events):
        rest = [d.commit(r, t, travel, depot) for d, r in zip(days, routes, strict=True)]
        for job in (j for j in jobs if j.release == t):
            best = None
            for k, (d, r) in enumerate(zip(days, rest, strict=True)):
                if not allowed(d.home, job):
                    continue
                ins = best_insertion(r, job, travel, depot)
                if ins is not None and (
                    best is None or ins.added_duration < best[1].added_duration
                ):
                    best = (k, ins)
            if best is not None:
                rest[best[0]] = best[1].route
                inserted += 1
            else:
                unserved.append(job)
        share = (seconds - budget) / len(events)
        again = reoptimize(
            rest, travel, depot, seconds=share, seed=seed + e, jobs=unserved, allowed=allowed
        )
        placed = {j.id for r in again.routes for j in r.jobs if j is not None}
        reoptimized += sum(1 for j in unserved if j.id in placed)
        unserved = [u.job for u in again.unassigned]
        routes = list(again.routes)
    for d, r in zip(days, routes, strict=True):
        d.commit(r, float("inf"), travel, depot)  # the rest of the day runs as planned
    final = tuple(d.whole(Route(d.home, ())) for d in days)
    departed = {i: t for d in days for i, t in d.departed.items()}
    return OnlineResult(final, tuple(unserved), inserted, reoptimized, departed)
