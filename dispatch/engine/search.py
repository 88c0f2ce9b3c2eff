"""The day-plan search: routes over node indices, cheap insertion tests, and route states.

`Problem` turns workers, jobs and the depot into flat arrays (a travel matrix, windows,
durations, tool and stock tables) so the improvement heuristics (`alns`) run on lists of
floats. The timing rules are exactly `routing.evaluate`'s; the insertion test is the same
forward-slack arithmetic as `routing.best_insertion`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dispatch.engine.model import Depot, Job, Point, TravelTime, Worker, prefix_min, suffix_min

EPS = 1e-9
INF = float("inf")

Allowed = Callable[[Worker, Job], bool]


class Problem:
    """Node ids: jobs 0..J-1, depot J, worker k's start J+1+k and end J+1+W+k."""

    def __init__(
        self,
        workers: Sequence[Worker],
        jobs: Sequence[Job],
        travel: TravelTime,
        depot: Depot | None,
        allowed: Allowed,
    ) -> None:
        self.workers = list(workers)
        self.jobs = list(jobs)
        nj, nw = len(self.jobs), len(self.workers)
        self.n_jobs = nj
        self.depot = nj
        self.has_depot = depot is not None
        self.start = [nj + 1 + k for k in range(nw)]
        self.end = [nj + 1 + nw + k for k in range(nw)]
        here = depot.at if depot is not None else (self.jobs[0].at if jobs else Point(0, 0))
        pts = [j.at for j in self.jobs] + [here]
        pts += [w.start for w in self.workers] + [w.end for w in self.workers]
        uniq: dict[Point, int] = {}
        idx = [uniq.setdefault(p, len(uniq)) for p in pts]
        ups = list(uniq)
        leg = getattr(travel, "uncached", travel)  # a matrix is its own cache
        mu = [[0.0 if a is b else leg(a, b) for b in ups] for a in ups]
        self.d = [[mu[i][j] for j in idx] for i in idx]
        dw = depot.window if depot is not None else None
        self.ws = [j.window.start for j in self.jobs] + [dw.start if dw else 0.0]
        self.we = [j.window.end for j in self.jobs] + [dw.end if dw else -INF]
        self.dur = [j.duration for j in self.jobs] + [0.0]
        for side in (0, 1):
            for w in self.workers:
                self.ws.append(w.shift.start)
                self.we.append(w.shift.end if side else INF)
                self.dur.append(0.0)
        self.s0 = [w.shift.start for w in self.workers]
        self.max_jobs = [w.max_jobs for w in self.workers]
        names = sorted({p for j in self.jobs for p in j.parts})
        pidx = {p: i for i, p in enumerate(names)}
        self.parts: list[list[tuple[int, int]]] = [
            [(pidx[p], q) for p, q in j.parts.items() if q > 0] for j in self.jobs
        ]
        self.stock = [[w.stock.get(p, 0) for p in names] for w in self.workers]
        self.n_parts = len(names)
        self.own = [[j.tools <= w.tools for j in self.jobs] for w in self.workers]
        self.allowed = [[w.available and allowed(w, j) for j in self.jobs] for w in self.workers]
        self.candidates = [[k for k in range(nw) if self.allowed[k][j]] for j in range(nj)]
        self.fixed_service = sum(self.dur[:nj])
        far = max((max(row) for row in self.d), default=0.0)
        self.unplanned_cost = 10.0 * (max(self.dur, default=0.0) + 2.0 * far + 1.0)
        self.related = [self._related(j) for j in range(nj)]
        self.far = [self.d[self.depot][j] for j in range(nj)]
        self.iterations = 0  # how many the last search ran

    def _related(self, j: int, keep: int = 60) -> list[int]:
        """Jobs close in space and in time to job j, closest first (the destroy seeds)."""
        horizon = max(1.0, max(self.we[: self.n_jobs]) - min(self.ws[: self.n_jobs]))
        dj = self.d[j]
        far = max(1e-9, max(dj[: self.n_jobs]))
        score = [
            (dj[i] / far + abs(self.ws[i] - self.ws[j]) / horizon, i)
            for i in range(self.n_jobs)
            if i != j
        ]
        score.sort()
        return [i for _, i in score[:keep]]


class RouteState:
    """A feasible route's earliest schedule over nodes 0 (start) .. m+1 (end)."""

    __slots__ = (
        "a",
        "cw",
        "dep",
        "depot_at",
        "duration",
        "fixed",
        "lat",
        "memo",
        "n_jobs",
        "nodes",
        "pf",
        "restocked",
        "seq",
        "sg",
        "used",
        "waiting",
    )

    seq: list[int]
    nodes: list[int]
    a: list[float]
    dep: list[float]
    cw: list[float]  # waits at nodes 1..i-1
    sg: list[float]  # suffix min of (window end − arrival + waits before)
    pf: list[float]  # prefix min of the same
    waiting: float
    duration: float
    used: list[int]  # stock consumed before the depot stop (all of it if none)
    depot_at: int  # node index of the depot stop, -1 if none
    fixed: int
    n_jobs: int
    lat: list[float]  # latest arrival at each node that keeps the rest feasible
    memo: dict[int, tuple[float, int, int] | None]  # job -> best_position (states never change)
    restocked: RouteState | bool | None  # the route with a depot stop first; False: not yet


def route_state(p: Problem, k: int, seq: list[int], fixed: int) -> RouteState | None:
    """Schedule worker k's sequence; None if a window, the shift, tools or stock break."""
    d = p.d
    ws = p.ws
    we = p.we
    dur = p.dur
    depot = p.depot
    own = p.own[k]
    stock = p.stock[k]
    s0 = p.s0[k]
    start = p.start[k]
    nodes = [start]
    a = [s0]
    dep = [s0]
    cw = [0.0, 0.0]
    g = [INF]
    used = [0] * p.n_parts
    depot_at = -1
    cum = 0.0
    t = s0
    prev = start
    for i, u in enumerate(seq):
        if u == depot:
            if depot_at >= 0:
                return None
            depot_at = i + 1
        elif depot_at < 0:
            if not own[u]:
                return None
            for pi, q in p.parts[u]:
                used[pi] += q
                if used[pi] > stock[pi]:
                    return None
        arr = t + d[prev][u]
        e = we[u]
        if arr > e + EPS:
            return None
        g.append(e - arr + cum)
        s = ws[u]
        if s > arr:
            cum += s - arr
            t = s + dur[u]
        else:
            t = arr + dur[u]
        cw.append(cum)
        nodes.append(u)
        a.append(arr)
        dep.append(t)
        prev = u
    end = p.end[k]
    arr = t + d[prev][end]
    if arr > we[end] + EPS:
        return None
    nodes.append(end)
    a.append(arr)
    dep.append(arr)
    g.append(we[end] - arr + cum)
    sg = suffix_min(g)
    pf = prefix_min(g)
    st = RouteState()
    st.seq = seq
    st.nodes = nodes
    st.a = a
    st.dep = dep
    st.cw = cw
    st.sg = sg
    st.pf = pf
    st.waiting = cum
    st.duration = max(arr, s0) - (s0 + min(sg[1], cum))
    st.used = used
    st.depot_at = depot_at
    st.fixed = fixed
    st.n_jobs = len(seq) - (1 if depot_at >= 0 else 0)
    st.lat = [ai + sgi - cwi for ai, sgi, cwi in zip(a, sg, cw, strict=True)]
    st.memo = {}
    st.restocked = False
    return st


PLAIN, DEPOT_BEFORE, DEPOT_FIRST = 0, 1, 2  # how a job goes in: alone, or with a depot stop


def best_position(p: Problem, k: int, st: RouteState, j: int) -> tuple[float, int, int] | None:
    """Cheapest place for job j in worker k's route: (added working time, node index it
    follows, PLAIN / DEPOT_BEFORE / DEPOT_FIRST) or None. Skips the fixed prefix."""
    memo = st.memo
    if j in memo:
        return memo[j]
    r = _best_position(p, k, st, j)
    if r is not None and r[2] == DEPOT_BEFORE:
        # a depot stop first thing (after the fixed part) may serve it, and later jobs, better
        ds = st.restocked
        if ds is False:
            seq = [*st.seq[: st.fixed], p.depot, *st.seq[st.fixed :]]
            ds = st.restocked = route_state(p, k, seq, st.fixed)
        if isinstance(ds, RouteState):
            r2 = _best_position(p, k, ds, j)
            if r2 is not None and r2[0] + ds.duration - st.duration < r[0]:
                r = (r2[0] + ds.duration - st.duration, r2[1], DEPOT_FIRST)
    memo[j] = r
    return r


def _best_position(p: Problem, k: int, st: RouteState, j: int) -> tuple[float, int, int] | None:
    if not p.allowed[k][j] or st.n_jobs >= p.max_jobs[k]:
        return None
    d = p.d
    dj = d[j]
    wsj = p.ws[j]
    wej = p.we[j]
    duj = p.dur[j]
    stock = p.stock[k]
    own = p.own[k][j]
    if own:
        used = st.used
        for pi, q in p.parts[j]:
            if used[pi] + q > stock[pi]:
                own = False
                break
    depot_at = st.depot_at
    pair = not own and depot_at < 0 and p.has_depot
    if not own and not pair and depot_at < 0:
        return None
    nodes = st.nodes
    dep = st.dep
    a = st.a
    cw = st.cw
    sg = st.sg
    pf = st.pf
    waiting = st.waiting
    s0 = p.s0[k]
    a_end = a[-1]
    base = st.duration
    dn = p.depot
    dd = d[dn]
    wsd = p.ws[dn]
    wed = p.we[dn]
    best_cost = INF
    best_at = -1
    first = st.fixed
    if not own and depot_at >= 0 and depot_at > first:
        first = depot_at
    lat = st.lat
    after = wsj + duj
    for i in range(first, len(nodes) - 1):
        t = dep[i]
        if t > wej + EPS:
            break
        if after + dj[nodes[i + 1]] > lat[i + 1] + EPS:
            continue  # even served at its window start, j makes the next stop late
        u = nodes[i]
        w_pre = cw[i + 1]
        if pair:
            arr = t + d[u][dn]
            if arr > wed + EPS:
                continue
            f_seg = wed - arr + w_pre
            if wsd > arr:
                w_seg = wsd - arr
                t = wsd
            else:
                w_seg = 0.0
                t = arr
            arr = t + dd[j]
        else:
            arr = t + d[u][j]
            f_seg = INF
            w_seg = 0.0
        if arr > wej + EPS:
            continue
        f = wej - arr + w_pre + w_seg
        if f < f_seg:
            f_seg = f
        if wsj > arr:
            w_seg += wsj - arr
            t = wsj + duj
        else:
            t = arr + duj
        n = i + 1
        delta = t + dj[nodes[n]] - a[n]
        if delta > sg[n] - cw[n] + EPS:
            continue
        if delta < 0.0:
            delta = 0.0  # rounding on a metric; conservative
        w_suf = waiting - cw[n]
        d_end = delta - w_suf if delta > w_suf else 0.0
        wt = w_pre + w_seg + w_suf - (delta - d_end)
        slack = sg[n] + w_seg - delta
        if pf[i] < slack:
            slack = pf[i]
        if f_seg < slack:
            slack = f_seg
        end = a_end + d_end
        cost = (end if end > s0 else s0) - s0 - (slack if slack < wt else wt) - base
        if cost < best_cost:
            best_cost = cost
            best_at = i
    if best_at < 0:
        return None
    return best_cost, best_at, DEPOT_BEFORE if pair else PLAIN


def place(p: Problem, seq: list[int], fixed: int, j: int, at: int, kind: int) -> list[int]:
    """The sequence after inserting job j as `best_position` said."""
    if kind == DEPOT_BEFORE:
        return [*seq[:at], p.depot, j, *seq[at:]]
    if kind == DEPOT_FIRST:
        seq = [*seq[:fixed], p.depot, *seq[fixed:]]
    return [*seq[:at], j, *seq[at:]]
