"""Local search on a day plan: moves between neighbouring jobs' routes, best first.

Relocate (a job to its cheapest place elsewhere), swap (two jobs of different routes) and
2-opt* (exchange the tails of two routes after neighbouring jobs). Candidate pairs come from
each job's related list, so one pass costs O(jobs × neighbours) route schedules.
"""

from __future__ import annotations

from dispatch.engine.alns import Solution, tidy
from dispatch.engine.search import Problem, RouteState, best_position, place, route_state

GAIN = 1e-7


def _positions(sol: Solution, dn: int) -> dict[int, tuple[int, int]]:
    """job -> (route, index in seq) for every job outside a fixed prefix."""
    out: dict[int, tuple[int, int]] = {}
    for k, st in enumerate(sol.states):
        for i in range(st.fixed, len(st.seq)):
            if st.seq[i] != dn:
                out[st.seq[i]] = (k, i)
    return out


def _relocate(p: Problem, sol: Solution, u: int, k: int, i: int) -> bool:
    st = sol.states[k]
    seq = st.seq[:i] + st.seq[i + 1 :]
    without = tidy(p, k, seq, st.fixed)
    gain = st.duration - without.duration
    best = None
    for k2 in p.candidates[u]:
        if k2 == k:
            continue
        r = best_position(p, k2, sol.states[k2], u)
        if r is not None and r[0] < gain - GAIN and (best is None or r[0] < best[0]):
            best = (r[0], k2, r[1], r[2])
    if best is None:
        return False
    _, k2, at, kind = best
    other = sol.states[k2]
    new = route_state(p, k2, place(p, other.seq, other.fixed, u, at, kind), other.fixed)
    if new is None:
        return False
    sol.states[k] = without
    sol.states[k2] = tidy(p, k2, new.seq, new.fixed) if p.depot in new.seq else new
    return True


def _pair(
    p: Problem, sol: Solution, k1: int, s1: list[int], k2: int, s2: list[int]
) -> tuple[RouteState, RouteState] | None:
    a, b = sol.states[k1], sol.states[k2]
    n1 = route_state(p, k1, s1, a.fixed)
    if n1 is None:
        return None
    n2 = route_state(p, k2, s2, b.fixed)
    if n2 is None or n1.duration + n2.duration > a.duration + b.duration - GAIN:
        return None
    return n1, n2


def _ok(p: Problem, k: int, seq: list[int], fixed: int) -> bool:
    return all(p.allowed[k][u] for u in seq[fixed:] if u != p.depot)


def _exchange(p: Problem, sol: Solution, u: int, v: int, where: dict[int, tuple[int, int]]) -> bool:
    """Swap u and v, or join u's head to v's tail (2-opt*), if that saves time."""
    k1, i = where[u]
    k2, j = where[v]
    if k1 == k2:
        return False
    a, b = sol.states[k1], sol.states[k2]
    if p.allowed[k1][v] and p.allowed[k2][u]:
        s1 = [*a.seq[:i], v, *a.seq[i + 1 :]]
        s2 = [*b.seq[:j], u, *b.seq[j + 1 :]]
        res = _pair(p, sol, k1, s1, k2, s2)
        if res is not None:
            sol.states[k1], sol.states[k2] = res
            return True
    if j >= b.fixed and i + 1 >= a.fixed:
        s1 = a.seq[: i + 1] + b.seq[j:]
        s2 = b.seq[:j] + a.seq[i + 1 :]
        if _ok(p, k1, s1, a.fixed) and _ok(p, k2, s2, b.fixed):
            res = _pair(p, sol, k1, s1, k2, s2)
            if res is not None:
                sol.states[k1], sol.states[k2] = res
                return True
    return False


def improve(p: Problem, sol: Solution, neighbours: int = 8, passes: int = 4) -> Solution:
    """Apply improving moves until none is left (or `passes` sweeps): a local optimum."""
    for _ in range(passes):
        moved = False
        for u in range(p.n_jobs):
            where = _positions(sol, p.depot)
            if u not in where:
                continue
            k, i = where[u]
            if _relocate(p, sol, u, k, i):
                moved = True
                continue
            for v in p.related[u][:neighbours]:
                if v in where and _exchange(p, sol, u, v, where):
                    moved = True
                    break
        if not moved:
            break
    return sol
