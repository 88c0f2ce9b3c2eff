"""Free time in a booked day, without the new job's travel: a cheap necessary condition.

For each place a job could go (between node k and k+1, after the fixed prefix) the route's
earliest schedule gives the soonest departure from node k, and a backward pass gives the
latest arrival at node k+1 that keeps every later window and the shift. A job can only go
there if it can start by its window end and finish by that latest arrival even with zero
travel. Travel is never negative, so a day with no such gap certainly has no room, and the
soonest such start bounds the job's start from below: both without touching the job's
(uncached) travel times, which is where the insertion search spends its time.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.engine.model import Depot, Job, Point, Route, Time, TravelTime

EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Gaps:
    depart: tuple[Time, ...]  # soonest departure from node k (0: the start), k >= route.fixed
    latest: tuple[Time, ...]  # latest arrival at node k+1 (the last: the worker's end)


_CACHE: dict[int, tuple[Route, TravelTime, Depot | None, Gaps | None]] = {}
_MAX_CACHED = 8192


def gaps(route: Route, travel: TravelTime, depot: Depot | None) -> Gaps | None:
    """The route's gaps, or None when its own schedule breaks (nothing can be concluded).

    Cached per route object, as routes are immutable and re-used across choices."""
    hit = _CACHE.get(id(route))
    if hit is not None and hit[0] is route and hit[1] is travel and hit[2] is depot:
        return hit[3]
    found = _compute(route, travel, depot)
    if len(_CACHE) >= _MAX_CACHED:
        _CACHE.clear()
    _CACHE[id(route)] = (route, travel, depot, found)  # holding the route keeps its id unique
    return found


def _compute(route: Route, travel: TravelTime, depot: Depot | None) -> Gaps | None:
    worker = route.worker
    nodes: list[tuple[Point, Time, Time, Time]] = []  # place, window start, end, duration
    for entry in route.jobs:
        if entry is None:
            if depot is None:
                return None
            nodes.append((depot.at, depot.window.start, depot.window.end, 0.0))
        else:
            nodes.append((entry.at, entry.window.start, entry.window.end, entry.duration))
    depart = [worker.shift.start]
    prev = worker.start
    t = worker.shift.start
    for at, ws, we, dur in nodes:
        arrival = t + travel(prev, at)
        if arrival > we + EPS:
            return None
        t = max(arrival, ws) + dur
        depart.append(t)
        prev = at
    latest = [worker.shift.end]  # built backwards: arrival at the end, then at node m, ...
    nxt = worker.end
    for at, _, we, dur in reversed(nodes):
        latest.append(min(we, latest[-1] - travel(at, nxt) - dur))
        nxt = at
    latest.reverse()  # latest[i]: latest arrival at node i+1
    first = route.fixed
    return Gaps(tuple(depart[first:]), tuple(latest[first:]))


def soonest_arrival(found: Gaps, job: Job) -> Time | None:
    """A lower bound on the job's arrival (the earliest departure from a gap that could hold
    it), or None if no gap can."""
    ws, we, dur = job.window.start, job.window.end, job.duration
    for depart, latest in zip(found.depart, found.latest, strict=True):
        start = depart if depart > ws else ws
        if start <= we + EPS and start + dur <= latest + EPS:
            return depart  # departures only grow along the route
    return None
