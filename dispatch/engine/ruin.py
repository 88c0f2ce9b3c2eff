"""Destroy operators of the ALNS: which planned jobs to take out of a plan this iteration."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from dispatch.engine.search import Problem

if TYPE_CHECKING:
    from dispatch.engine.alns import Solution


def movable(sol: Solution, dn: int) -> list[tuple[int, int]]:
    """(job, route) for every planned job outside a fixed prefix."""
    return [(u, k) for k, st in enumerate(sol.states) for u in st.seq[st.fixed :] if u != dn]


def destroy_random(p: Problem, sol: Solution, q: int, rng: random.Random) -> set[int]:
    jobs = [u for u, _ in movable(sol, p.depot)]
    return set(rng.sample(jobs, min(q, len(jobs))))


def destroy_worst(p: Problem, sol: Solution, q: int, rng: random.Random) -> set[int]:
    """The jobs whose detour costs most (travel plus the wait before them), with noise."""
    gains: list[tuple[float, int]] = []
    d = p.d
    for st in sol.states:
        nodes = st.nodes
        for i in range(st.fixed + 1, len(nodes) - 1):
            u = nodes[i]
            if u == p.depot:
                continue
            prev, nxt = nodes[i - 1], nodes[i + 1]
            wait = st.cw[i + 1] - st.cw[i]
            gains.append((d[prev][nxt] - d[prev][u] - d[u][nxt] - wait, u))
    gains.sort()
    out: set[int] = set()
    while gains and len(out) < q:
        out.add(gains.pop(int(rng.random() ** 4 * len(gains)))[1])
    return out


def destroy_related(p: Problem, sol: Solution, q: int, rng: random.Random) -> set[int]:
    placed = {u for u, _ in movable(sol, p.depot)}
    if not placed:
        return set()
    out = {rng.choice(sorted(placed))}
    while len(out) < q:
        seed = rng.choice(sorted(out))
        near = [v for v in p.related[seed] if v in placed and v not in out]
        if not near:
            break
        out.add(near[int(rng.random() ** 6 * len(near))])
    return out


def destroy_string(p: Problem, sol: Solution, q: int, rng: random.Random) -> set[int]:
    """SISR ruin (Christiaens & Vanden Berghe): strings of consecutive jobs near a seed."""
    where = {u: k for u, k in movable(sol, p.depot)}
    if not where:
        return set()
    seed = rng.choice(sorted(where))
    out: set[int] = set()
    ruined: set[int] = set()
    for v in (seed, *p.related[seed]):
        if len(out) >= q:
            break
        k = where.get(v)
        if k is None or k in ruined:
            continue
        ruined.add(k)
        st = sol.states[k]
        free = [u for u in st.seq[st.fixed :] if u != p.depot]
        length = rng.randint(1, min(len(free), max(1, q - len(out)), 10))
        i = free.index(v)
        lo = rng.randint(max(0, i - length + 1), min(i, len(free) - length))
        out.update(free[lo : lo + length])
    return out


def destroy_route(p: Problem, sol: Solution, q: int, rng: random.Random) -> set[int]:
    busy = [k for k, st in enumerate(sol.states) if len(st.seq) > st.fixed]
    out: set[int] = set()
    rng.shuffle(busy)
    busy.sort(key=lambda k: len(sol.states[k].seq))  # short routes are the ones to close
    for k in busy:
        if len(out) >= q or (out and rng.random() < 0.5):
            break
        st = sol.states[k]
        out.update(u for u in st.seq[st.fixed :] if u != p.depot)
    return out
