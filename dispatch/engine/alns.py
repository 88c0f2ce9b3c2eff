"""Adaptive large neighbourhood search over day plans (Ropke & Pisinger style).

Destroy (random, worst, related, SISR strings, short routes) then repair (greedy or
regret-2/3 insertion, optionally noised, or a SISR-style sequential recreate), operators
picked by adaptive weights; simulated annealing on total working time plus a penalty per
unplanned job; back to the best plan after a long run without progress; local search
(`polish`) on each new best. Deterministic for a seed when stopped by an iteration count.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from dispatch.engine.ruin import (
    destroy_random,
    destroy_related,
    destroy_route,
    destroy_string,
    destroy_worst,
)
from dispatch.engine.search import (
    INF,
    PLAIN,
    Problem,
    RouteState,
    best_position,
    place,
    route_state,
)


class Solution:
    __slots__ = ("states", "unassigned")

    def __init__(self, states: list[RouteState], unassigned: list[int]) -> None:
        self.states = states
        self.unassigned = unassigned

    def copy(self) -> Solution:
        return Solution(self.states[:], self.unassigned[:])

    def working_time(self) -> float:
        return sum(st.duration for st in self.states)


def penalty(p: Problem, j: int) -> float:
    """What leaving job j unplanned costs: far more than any route it could join."""
    return p.unplanned_cost * (5 - min(4, max(1, p.jobs[j].priority)))


def cost(p: Problem, sol: Solution) -> float:
    return sol.working_time() + sum(penalty(p, j) for j in sol.unassigned)


def rank(p: Problem, sol: Solution) -> tuple[float, float]:
    """What makes a plan the best so far: fewest (priority-weighted) jobs left, then time."""
    return sum(penalty(p, j) for j in sol.unassigned), sol.working_time()


def tidy(p: Problem, k: int, seq: list[int], fixed: int, move: bool = True) -> RouteState:
    """Drop a depot stop no longer needed, else (if `move`) move it to its cheapest place."""
    dn = p.depot
    best = route_state(p, k, seq, fixed)
    if dn not in seq[fixed:]:
        assert best is not None
        return best
    at = seq.index(dn)
    rest = seq[:at] + seq[at + 1 :]
    cand = route_state(p, k, rest, fixed)
    if cand is not None:
        return cand
    if not move:
        assert best is not None
        return best
    for i in range(fixed, len(rest) + 1):
        if i == at:
            continue
        c = route_state(p, k, [*rest[:i], dn, *rest[i:]], fixed)
        if c is not None and (best is None or c.duration < best.duration - 1e-12):
            best = c
    assert best is not None
    return best


def remove(p: Problem, sol: Solution, jobs: set[int]) -> None:
    for k, st in enumerate(sol.states):
        seq = st.seq
        if not any(u in jobs for u in seq[st.fixed :]):
            continue
        new = seq[: st.fixed] + [u for u in seq[st.fixed :] if u not in jobs]
        sol.states[k] = tidy(p, k, new, st.fixed, move=False)  # repair moves it
    sol.unassigned.extend(sorted(jobs))


# --- repair --------------------------------------------------------------------------------


def _regret_key(
    row: dict[int, tuple[float, int, int]], regret: int, noise: float, rng: random.Random
) -> tuple[float, float] | None:
    """How urgent a job is: its regret (what waiting costs over the k best routes), then its
    cheapest cost; None if no route takes it."""
    if not row:
        return None
    costs = sorted(r[0] for r in row.values())
    if noise:
        costs = [c + noise * (2 * rng.random() - 1) for c in costs]
    if regret <= 1:
        return -costs[0], -costs[0]
    reg = sum((costs[i] if i < len(costs) else 1e9) - costs[0] for i in range(1, regret))
    return reg, -costs[0]


def repair(p: Problem, sol: Solution, regret: int, noise: float, rng: random.Random) -> None:
    """Insert every unplanned job where it costs least, most regretted job first."""
    pending = sorted(set(sol.unassigned))
    sol.unassigned = []
    states = sol.states
    table: dict[int, dict[int, tuple[float, int, int]]] = {}
    for j in pending:
        row: dict[int, tuple[float, int, int]] = {}
        for k in p.candidates[j]:
            r = best_position(p, k, states[k], j)
            if r is not None:
                row[k] = r
        table[j] = row
    keys = {j: _regret_key(table[j], regret, noise, rng) for j in pending}
    touched: set[int] = set()
    while pending:
        pick = -1
        pick_key = (-INF, INF)
        for j in pending:
            key = keys[j]
            if key is not None and key > pick_key:
                pick_key = key
                pick = j
        if pick < 0:
            sol.unassigned.extend(pending)
            break
        row = table.pop(pick)
        k = min(row, key=lambda r: row[r][0])
        _, at, kind = row[k]
        pending.remove(pick)
        st = states[k]
        new = route_state(p, k, place(p, st.seq, st.fixed, pick, at, kind), st.fixed)
        if new is None:  # the incremental test was optimistic (rounding): try again later
            sol.unassigned.append(pick)
            continue
        states[k] = new
        if kind != PLAIN or MOVE_DEPOT_ALWAYS:
            touched.add(k)  # a new depot stop: find its best place once the repair is done
        for j in pending:
            # a plain insertion only makes the route later and emptier of stock, so a job
            # that fitted nowhere in it before still doesn't (travel obeys the triangle rule)
            if k in table[j] or (kind != PLAIN and p.allowed[k][j]):
                r = best_position(p, k, new, j)
                if r is None:
                    table[j].pop(k, None)
                else:
                    table[j][k] = r
                keys[j] = _regret_key(table[j], regret, noise, rng)
    for k in touched:
        st = states[k]
        if p.depot in st.seq[st.fixed :]:
            states[k] = tidy(p, k, st.seq, st.fixed)


def repair_sequential(p: Problem, sol: Solution, order: int, rng: random.Random) -> None:
    """SISR recreate: each job once, in a random, earliest-window, tightest-window or
    farthest-first order, at its cheapest place in any route."""
    pending = sorted(set(sol.unassigned))
    rng.shuffle(pending)
    if order == 1:
        pending.sort(key=lambda j: p.ws[j])
    elif order == 2:
        pending.sort(key=lambda j: p.we[j] - p.ws[j])
    elif order == 3:
        pending.sort(key=lambda j: -p.far[j])
    sol.unassigned = []
    states = sol.states
    touched: set[int] = set()
    for j in pending:
        best_cost = INF
        best: tuple[int, int, int] | None = None
        for k in p.candidates[j]:
            r = best_position(p, k, states[k], j)
            if r is not None and r[0] < best_cost:
                best_cost = r[0]
                best = (k, r[1], r[2])
        if best is None:
            sol.unassigned.append(j)
            continue
        k, at, kind = best
        st = states[k]
        new = route_state(p, k, place(p, st.seq, st.fixed, j, at, kind), st.fixed)
        if new is None:
            sol.unassigned.append(j)
            continue
        states[k] = new
        if kind != PLAIN or MOVE_DEPOT_ALWAYS:
            touched.add(k)  # a new depot stop: find its best place once the repair is done
    for k in touched:
        st = states[k]
        if p.depot in st.seq[st.fixed :]:
            states[k] = tidy(p, k, st.seq, st.fixed)


# --- search ------------------------------------------------------------------------------

# Tuned on the TRSP benchmark (30 s per instance). The temperatures are in units of the
# plan's mean working time per job beyond service, so they carry over to product days.
T_START, T_END = 5.0, 0.05
Q_MAX = 40  # most jobs taken out per iteration
MOVE_DEPOT_ALWAYS = False
RESET_AFTER = 2000  # iterations without a new best before going back to the best
POLISH_SHARE = 0.2  # of the time, at most, for local search on new best plans

Destroy = Callable[[Problem, Solution, int, random.Random], set[int]]
DESTROY: tuple[Destroy, ...] = (
    destroy_random,
    destroy_worst,
    destroy_related,
    destroy_string,
    destroy_route,
)
# (regret, noise) for regret insertion; regret 0 is the sequential recreate, noise its order
REPAIR: tuple[tuple[int, int], ...] = (
    (1, 0),
    (2, 0),
    (3, 0),
    (2, 1),
    (0, 0),
    (0, 1),
    (0, 2),
    (0, 3),
)


def search(
    p: Problem,
    sol: Solution,
    *,
    seconds: float,
    seed: int,
    iterations: int | None = None,
    polish: Callable[[Problem, Solution], Solution] | None = None,
) -> Solution:
    """Improve `sol` for `seconds` (or `iterations`, whichever ends first); `polish` (a local
    search) runs on each new best solution, within a share of the time."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    deadline = t0 + seconds
    cur = sol
    cur_cost = cost(p, cur)
    best = cur.copy()
    movable_jobs = sum(len(st.seq) - st.fixed for st in sol.states) + len(sol.unassigned)
    if movable_jobs == 0:
        return best
    scale = max(1e-6, (cur.working_time() - p.fixed_service) / max(1, p.n_jobs))
    best_key = rank(p, best)
    reset = RESET_AFTER
    last_best = 0
    t_start, t_end = T_START * scale, T_END * scale
    q_max = max(2, min(Q_MAX, int(0.3 * movable_jobs)))
    q_min = min(4, q_max)
    w_d = [1.0] * len(DESTROY)
    w_r = [1.0] * len(REPAIR)
    s_d = [0.0] * len(DESTROY)
    s_r = [0.0] * len(REPAIR)
    n_d = [0] * len(DESTROY)
    n_r = [0] * len(REPAIR)
    it = 0
    ls_time = 0.0
    ls_share = POLISH_SHARE
    while True:
        now = time.perf_counter()
        if now >= deadline or (iterations is not None and it >= iterations):
            break
        # by iterations when counted, so that a seed gives the same plan on any machine
        frac = (it / iterations) if iterations else (now - t0) / seconds
        temp = t_start * (t_end / t_start) ** min(1.0, frac)
        it += 1
        di = rng.choices(range(len(DESTROY)), w_d)[0]
        ri = rng.choices(range(len(REPAIR)), w_r)[0]
        q = rng.randint(q_min, q_max)
        new = cur.copy()
        remove(p, new, DESTROY[di](p, new, q, rng))
        regret, variant = REPAIR[ri]
        if regret:
            repair(p, new, regret, 0.1 * scale if variant else 0.0, rng)
        else:
            repair_sequential(p, new, variant, rng)
        new_cost = cost(p, new)
        score = 0.0
        key = rank(p, new)
        if (
            key < best_key
            and polish is not None
            and (iterations is not None or ls_time < ls_share * (now - t0))
        ):
            t1 = time.perf_counter()
            new = polish(p, new)
            new_cost = cost(p, new)
            key = rank(p, new)
            ls_time += time.perf_counter() - t1
        if key < (best_key[0], best_key[1] - 1e-9):
            best, best_key = new.copy(), key
            cur, cur_cost = new, new_cost
            score = 33.0
            last_best = it
        elif new_cost < cur_cost - 1e-9:
            cur, cur_cost = new, new_cost
            score = 9.0
        elif rng.random() < math.exp(-(new_cost - cur_cost) / temp):
            cur, cur_cost = new, new_cost
            score = 13.0
        if reset and it - last_best > reset:
            cur, cur_cost = best.copy(), cost(p, best)
            last_best = it
        s_d[di] += score
        s_r[ri] += score
        n_d[di] += 1
        n_r[ri] += 1
        if it % 100 == 0:
            for w, s, n in ((w_d, s_d, n_d), (w_r, s_r, n_r)):
                for i in range(len(w)):
                    if n[i]:
                        w[i] = max(0.05, 0.8 * w[i] + 0.2 * s[i] / n[i])
                    s[i] = 0.0
                    n[i] = 0
    p.iterations = it
    return best
