"""Route timing and cheapest insertion: the hard time, shift, tool and stock rules of a route.

The timing model is the TRSP one (Pillac et al. 2013), so the benchmark measures this code:
arrival windows are hard and a worker arriving early waits; the worker leaves `start` no
earlier than shift.start and must be back at `end` by shift.end; before the (single) depot
stop the worker's own tools and van stock must cover the jobs, after it everything is
available. A route's working time is the minimal duration over feasible schedules of the
visit order (Savelsbergh's forward slack postpones the departure).

`best_insertion` is incremental: a route's schedule, waiting sums and suffix slacks are kept
per route object, so trying one position costs a few float operations and two travel look-ups.
Skills, certifications, territory and exclusions are the rules layer's business, not this one's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dispatch.engine.model import (
    SLA_LATE_FACTOR,
    SLA_MARGIN,
    Depot,
    Job,
    Point,
    Route,
    Stop,
    Time,
    TravelTime,
    Worker,
    prefix_min,
    sla_penalty,
    suffix_min,
)

EPS = 1e-9  # tolerance on window ends, as in the TRSP reference code
INF = float("inf")
UNDECIDED = (0, INF, INF, INF, 0.0)
# A plan that reaches a job less than this before its SLA is due counts as breaking it:
# the true day runs later than the plan (traffic, overruns).
SLA_BUFFER = 20.0
# Lateness past an SLA that can't be kept is compared in steps of this many minutes: a few
# minutes either way is a tie, left to working time and travel.
LATE_STEP = 5.0


@dataclass(frozen=True, slots=True)
class RouteTiming:
    """A feasible route's earliest schedule (arrivals, waits) and its cost."""

    stops: tuple[Stop, ...]
    travel: Time
    duration: Time  # minimal working time: return minus the latest useful departure
    back: Time  # earliest arrival at the worker's end point


@dataclass(frozen=True, slots=True)
class Insertion:
    """The cheapest feasible way to add a job to a route."""

    route: Route  # the new route, job (and maybe a depot stop before it) inserted
    position: int  # index of the job in route.jobs
    arrival: Time
    added_travel: Time
    added_duration: Time
    others_sla: Time = 0.0  # `sla_penalty` added to the booked job the insertion hurts most


def sla_weight(job: Job) -> int:
    """How much breaking this job's SLA counts when placing jobs: a P1's outweighs any number
    of P2s' in one route, and so on down (a route holds fewer than 10 jobs of a priority)."""
    return int(10 ** (4 - min(4, max(1, job.priority))))


def covers(worker: Worker, job: Job) -> bool:
    """Whether the worker's own tools cover the job (without a depot stop)."""
    return job.tools <= worker.tools


def _stock_left(stock: Mapping[str, int], used: Mapping[str, int], job: Job) -> bool:
    return all(used.get(p, 0) + q <= stock.get(p, 0) for p, q in job.parts.items() if q > 0)


def evaluate(route: Route, travel: TravelTime, depot: Depot | None) -> RouteTiming | None:
    """Schedule the route as early as possible; None if a window, the shift, tools, stock,
    the depot (at most one stop, inside its window) or max_jobs breaks. Availability is not
    checked here: a worker off sick keeps the jobs already under way (`fixed`)."""
    w = route.worker
    n_jobs = sum(1 for j in route.jobs if j is not None)
    if n_jobs > w.max_jobs:
        return None
    s0 = w.shift.start
    t = s0
    prev = w.start
    restocked = False
    used: dict[str, int] = {}
    waiting = 0.0
    slack = INF
    total = 0.0
    stops: list[Stop] = []
    for entry in route.jobs:
        if entry is None:
            if depot is None or restocked:
                return None
            restocked = True
            at, ws, we, dur = depot.at, depot.window.start, depot.window.end, 0.0
        else:
            if not restocked:
                if not covers(w, entry) or not _stock_left(w.stock, used, entry):
                    return None
                for p, q in entry.parts.items():
                    used[p] = used.get(p, 0) + q
            at, ws, we, dur = entry.at, entry.window.start, entry.window.end, entry.duration
        leg = travel(prev, at)
        total += leg
        a = t + leg
        if a > we + EPS:
            return None
        slack = min(slack, we - a + waiting)
        wait = ws - a if ws > a else 0.0
        waiting += wait
        t = a + wait + dur
        stops.append(Stop(entry, a, a + wait, t))
        prev = at
    leg = travel(prev, w.end)
    total += leg
    a_end = t + leg
    if a_end > w.shift.end + EPS:
        return None
    slack = min(slack, w.shift.end - a_end + waiting)
    back = max(a_end, s0)
    return RouteTiming(tuple(stops), total, back - (s0 + min(slack, waiting)), back)


class _State:
    """A feasible route's schedule as arrays over nodes 0 (start) .. m+1 (end)."""

    __slots__ = (
        "a",
        "cum_w",
        "depart",
        "depot_at",
        "duration",
        "n_jobs",
        "pf",
        "pts",
        "route",
        "sg",
        "sla",
        "travel",
        "used_before_depot",
        "waiting",
    )

    def __init__(self, route: Route, travel: TravelTime, depot: Depot | None) -> None:
        w = route.worker
        s0 = w.shift.start
        self.route = route
        pts: list[Point] = [w.start]
        a = [s0]
        depart = [s0]
        cum_w = [0.0, 0.0]  # waits at nodes 1..i-1
        g: list[float] = [INF]  # window end − arrival + waiting before (node 0: none)
        # The same for SLA due times, one pair of rows per priority: the slack to the due
        # time (none left for a job planned late: it must not be made later still) and to
        # the safety margin before it.
        h: dict[int, tuple[list[float], list[float]]] = {}
        nodes = len(route.jobs) + 2
        self.depot_at = -1  # index in route.jobs
        used: dict[str, int] = {}
        total = 0.0
        t = s0
        for i, entry in enumerate(route.jobs):
            if entry is None:
                assert depot is not None
                self.depot_at = i
                at, ws, we, dur = depot.at, depot.window.start, depot.window.end, 0.0
            else:
                if self.depot_at < 0:
                    for p, q in entry.parts.items():
                        used[p] = used.get(p, 0) + q
                at, ws, we, dur = entry.at, entry.window.start, entry.window.end, entry.duration
            leg = travel(pts[-1], at)
            total += leg
            arr = t + leg
            g.append(we - arr + cum_w[-1])
            due = None if entry is None else entry.sla_due
            if entry is not None and due is not None:
                to_due, to_margin = h.setdefault(sla_weight(entry), ([INF] * nodes, [INF] * nodes))
                to_due[len(pts)] = max(0.0, due - SLA_BUFFER - arr) + cum_w[-1]
                to_margin[len(pts)] = max(0.0, due - SLA_MARGIN - arr) + cum_w[-1]
            wait = ws - arr if ws > arr else 0.0
            cum_w.append(cum_w[-1] + wait)
            t = arr + wait + dur
            pts.append(at)
            a.append(arr)
            depart.append(t)
        leg = travel(pts[-1], w.end)
        total += leg
        a_end = t + leg
        pts.append(w.end)
        a.append(a_end)
        depart.append(a_end)
        g.append(w.shift.end - a_end + cum_w[-1])
        self.sla = [(w, suffix_min(d), suffix_min(m)) for w, (d, m) in sorted(h.items())]
        sg = suffix_min(g)
        pf = prefix_min(g)
        self.pts = pts
        self.a = a
        self.depart = depart
        self.cum_w = cum_w  # len m+2: cum_w[i] = waits at nodes 1..i-1
        self.sg = sg
        self.pf = pf
        self.waiting = cum_w[-1]
        self.travel = total
        self.duration = max(a_end, s0) - (s0 + min(sg[1] if len(sg) > 1 else INF, self.waiting))
        self.used_before_depot = used
        self.n_jobs = sum(1 for j in route.jobs if j is not None)


_STATES: dict[int, tuple[Route, TravelTime, Depot | None, _State | None]] = {}
_MAX_STATES = 8192


def _state(route: Route, travel: TravelTime, depot: Depot | None) -> _State | None:
    hit = _STATES.get(id(route))
    if hit is not None and hit[0] is route and hit[1] is travel and hit[2] is depot:
        return hit[3]
    state = _State(route, travel, depot) if evaluate(route, travel, depot) is not None else None
    if len(_STATES) >= _MAX_STATES:
        _STATES.clear()
    _STATES[id(route)] = (route, travel, depot, state)  # holding the route keeps its id unique
    return state


def _try_segment(
    st: _State,
    p: int,
    segment: Sequence[tuple[Point, float, float, float]],
    travel: TravelTime,
    s0: Time,
    due: Time | None = None,
    own_weight: int = 0,
) -> tuple[int, float, float, float, float] | None:
    """Insert `segment` between nodes p and p+1: (SLAs broken, added duration, added travel,
    arrival of the last segment node, `sla_penalty` added to the booked job hurt most) or
    None if a window or the shift breaks. SLAs broken weighs (`sla_weight`) the new job if
    it arrives later than `SLA_BUFFER` before `due`, and each priority of which a booked job
    would now do so too (or arrive later than planned, if it was late already)."""
    n = p + 1
    t = st.depart[p]
    prev = st.pts[p]
    w_pre = st.cum_w[n]  # waits at nodes 1..p
    w_seg = 0.0
    f_seg = INF
    added = 0.0
    arr = t
    for at, ws, we, dur in segment:
        leg = travel(prev, at)
        added += leg
        arr = t + leg
        if arr > we + EPS:
            return None
        f = we - arr + w_pre + w_seg
        if f < f_seg:
            f_seg = f
        if ws > arr:
            w_seg += ws - arr
            t = ws + dur
        else:
            t = arr + dur
        prev = at
    leg = travel(prev, st.pts[n])
    added += leg - travel(st.pts[p], st.pts[n])
    delta = t + leg - st.a[n]
    if delta > st.sg[n] - st.cum_w[n] + EPS:
        return None
    if delta < 0.0:
        return UNDECIDED  # a shortcut (non-metric travel): the caller schedules it in full
    broken = 0
    others = 0.0
    for weight, to_due, to_margin in st.sla:
        late = delta - (to_due[n] - st.cum_w[n])
        if late > EPS:
            broken += weight
        risk = delta - (to_margin[n] - st.cum_w[n])
        if risk > EPS:
            others = max(others, risk + (SLA_LATE_FACTOR - 1.0) * max(0.0, late))
    if due is not None and arr > due - SLA_BUFFER + EPS:
        broken += own_weight
    w_suf = st.waiting - st.cum_w[n]
    d_end = delta - w_suf if delta > w_suf else 0.0
    waiting = w_pre + w_seg + w_suf - (delta - d_end)
    slack = min(st.pf[p], f_seg, st.sg[n] + w_seg - delta)
    end = st.a[-1] + d_end
    duration = max(end, s0) - (s0 + min(slack, waiting))
    return broken, duration - st.duration, added, arr, others


def _late_steps(arrival: Time, due: Time | None) -> int:
    """How late past its SLA (less the buffer) a job arrives, in whole LATE_STEPs begun."""
    if due is None:
        return 0
    late = arrival - (due - SLA_BUFFER)
    return math.ceil(late / LATE_STEP - EPS) if late > EPS else 0


def best_insertion(
    route: Route, job: Job, travel: TravelTime, depot: Depot | None, *, least_late: bool = False
) -> Insertion | None:
    """The best feasible position for `job` after the route's fixed prefix, with a depot
    stop just before it when the worker's tools or stock fall short and the route has none.
    Best is fewest SLAs broken, weighted by priority (the job's own, and those of booked
    jobs it pushes past their due time or, if planned late already, later still), then
    least added working time, then least added travel: an urgent job goes where it can
    still be reached in time, even if a later place would drive less. None if nowhere
    fits.

    `least_late`, for a job a technician has taken: when its own SLA can't be kept
    anywhere, the place where it is least late (in LATE_STEP minutes) comes before working
    time and travel. An emergency the plan has 10 minutes late goes before the routine
    visit booked next, not after it and 90 minutes late; while choosing, the emergency
    bump handles a job that would be late, and this order would only add driving."""
    w = route.worker
    if not w.available:
        return None
    st = _state(route, travel, depot)
    if st is None or st.n_jobs + 1 > w.max_jobs:
        return None
    s0 = w.shift.start
    own = covers(w, job) and _stock_left(w.stock, st.used_before_depot, job)
    node = (job.at, job.window.start, job.window.end, job.duration)
    single = (node,)
    pair = (
        ((depot.at, depot.window.start, depot.window.end, 0.0), node)
        if depot is not None and st.depot_at < 0 and not own
        else None
    )
    best: tuple[tuple[int, int, float, float], int, float, bool, float] | None = None
    own_due = job.sla_due if least_late else None
    m = len(route.jobs)
    for k in range(route.fixed, m + 1):  # job goes between nodes k and k+1
        if own or (0 <= st.depot_at < k):
            seg: Sequence[tuple[Point, float, float, float]] | None = single
            with_depot = False
        else:
            seg = pair
            with_depot = True
        if seg is None:
            continue
        res = _try_segment(st, k, seg, travel, s0, job.sla_due, sla_weight(job))
        if res is UNDECIDED:
            res = _exact(route, k, job, with_depot, travel, depot, st)
        if res is None:
            continue
        key = (res[0], _late_steps(res[3], own_due), res[1], res[2])
        if best is None or key < best[0]:
            best = (key, k, res[3], with_depot, res[4])
    if best is None:
        return None
    (_, _, cost, added_travel), k, arrival, with_depot, others = best
    insert: tuple[Job | None, ...] = (None, job) if with_depot else (job,)
    jobs = (*route.jobs[:k], *insert, *route.jobs[k:])
    new = Route(route.worker, jobs, route.fixed)
    return Insertion(new, k + len(insert) - 1, arrival, added_travel, cost, others)


def _exact(
    route: Route,
    k: int,
    job: Job,
    with_depot: bool,
    travel: TravelTime,
    depot: Depot | None,
    st: _State,
) -> tuple[int, float, float, float, float] | None:
    """Full schedule of one candidate: the fallback when the incremental test can't decide."""
    insert: tuple[Job | None, ...] = (None, job) if with_depot else (job,)
    jobs = (*route.jobs[:k], *insert, *route.jobs[k:])
    timing = evaluate(Route(route.worker, jobs, route.fixed), travel, depot)
    if timing is None:
        return None
    at = k + len(insert) - 1
    before = {j.id: st.a[i + 1] for i, j in enumerate(route.jobs) if j is not None}
    broken: dict[int, int] = {}  # as `_try_segment`: each priority once, the job on its own
    own = 0
    others = 0.0
    for i, stop in enumerate(timing.stops):
        due = None if stop.job is None else stop.job.sla_due
        if stop.job is None or due is None:
            continue
        if i != at:
            was = before.get(stop.job.id, stop.arrival)
            hurt = sla_penalty(stop.job, stop.arrival) - sla_penalty(stop.job, was)
            others = max(others, hurt)
        limit = due - SLA_BUFFER
        limit = limit if i == at else max(limit, before.get(stop.job.id, limit))
        if stop.arrival > limit + EPS:
            weight = sla_weight(stop.job)
            if i == at:
                own = weight
            else:
                broken[weight] = weight
    return (
        own + sum(broken.values()),
        timing.duration - st.duration,
        timing.travel - st.travel,
        timing.stops[at].arrival,
        others,
    )
