"""Benchmark: choosing a technician for one new job on a busy day.

200 technicians with 1,500 booked jobs (7.5 each) around Austin; 200 new jobs, each chosen
for (not applied) against the same day. Fixed seed, so runs compare.

    python -m tests.bench.bench_choose        # prints and merges {"choose": ...} into
                                              # bench-results.json at the repository root
"""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from dispatch.company import DEFAULT_WEIGHTS
from dispatch.engine.choose import choose
from dispatch.engine.model import Job, Point, Route, Window, Worker
from dispatch.engine.routing import best_insertion
from dispatch.engine.travel import GreatCircleTravel

SEED = 20261125
WORKERS = 200
BOOKED = 1_500
CHOICES = 200
SKILLS = ("hvac", "plumbing", "electrical", "appliance")
BANDS = 5  # territories: longitude bands across the area
LAT = (30.15, 30.55)
LON = (-97.95, -97.55)
SHIFT = Window(8 * 60, 17 * 60)
RESULTS = Path(__file__).resolve().parents[2] / "bench-results.json"


def _band(lon: float) -> str:
    i = min(BANDS - 1, int((lon - LON[0]) / (LON[1] - LON[0]) * BANDS))
    return f"t{i}"


def _point(rng: random.Random) -> Point:
    return Point(rng.uniform(*LAT), rng.uniform(*LON))


def _job(rng: random.Random, ident: str, near: Point | None = None) -> Job:
    if near is None:
        at = _point(rng)
    else:
        at = Point(near.x + rng.uniform(-0.06, 0.06), near.y + rng.uniform(-0.06, 0.06))
    if rng.random() < 0.5:
        window = SHIFT
    else:
        start = rng.choice(range(8 * 60, 15 * 60, 60))
        window = Window(start, start + 120)
    return Job(
        id=ident,
        at=at,
        window=window,
        duration=rng.choice((30.0, 40.0, 45.0, 50.0)),
        skills={rng.choice(SKILLS): rng.choice((1, 1, 2))},
        territory=_band(at.y),
        priority=rng.choice((2, 3, 3, 4)),
        sla_due=window.start + rng.choice((120.0, 240.0, 480.0)),
    )


def build(seed: int = SEED) -> tuple[list[Route], list[Job], GreatCircleTravel]:
    """The day: every worker's route filled by cheapest insertion, and the new jobs."""
    rng = random.Random(seed)
    travel = GreatCircleTravel()
    routes: list[Route] = []
    n = 0
    for i in range(WORKERS):
        home = _point(rng)
        own = _band(home.y)
        other = f"t{rng.randrange(BANDS)}"
        worker = Worker(
            id=f"W{i:03d}",
            start=home,
            end=home,
            shift=SHIFT,
            skills={s: rng.choice((1, 2, 3)) for s in rng.sample(SKILLS, rng.choice((1, 2, 3)))},
            territories=frozenset({own, other}),
            max_jobs=10,
        )
        route = Route(worker)
        want = BOOKED // WORKERS + (1 if i % 2 else 0)  # 7 and 8 alternate: 7.5 on average
        tries = 0
        while sum(1 for j in route.jobs if j is not None) < want and tries < 500:
            tries += 1
            job = _job(rng, f"B{n:05d}", near=home)
            found = best_insertion(route, job, travel, None)
            if found is not None:
                route = found.route
                n += 1
        routes.append(route)
    new_jobs = [_job(rng, f"N{k:04d}") for k in range(CHOICES)]
    return routes, new_jobs, travel


def _time(
    jobs: list[Job], routes: list[Route], travel: GreatCircleTravel
) -> tuple[list[float], int]:
    for job in jobs[:5]:  # warm the travel cache and the routes' schedules, as a server is
        choose(job, routes, travel, None, DEFAULT_WEIGHTS)
    times: list[float] = []
    chosen = 0
    for job in jobs:
        t0 = time.perf_counter()
        explanation = choose(job, routes, travel, None, DEFAULT_WEIGHTS)
        times.append((time.perf_counter() - t0) * 1000.0)
        chosen += explanation.chosen is not None
    times.sort()
    return times, chosen


def _p90(times: list[float]) -> float:
    return round(times[int(0.9 * (len(times) - 1))], 3)


def run(seed: int = SEED) -> dict[str, float]:
    """Times on the mixed crew (4 trades, 5 territories), and on the worst case where every
    technician is qualified for every job, so every one of them needs the route search."""
    routes, jobs, travel = build(seed)
    booked = sum(1 for r in routes for j in r.jobs if j is not None)
    times, chosen = _time(jobs, routes, travel)
    anyone = [replace(j, skills={}, territory=None) for j in jobs]
    worst, _ = _time(anyone, routes, travel)
    return {
        "workers": float(len(routes)),
        "booked_jobs": float(booked),
        "choices": float(len(jobs)),
        "assignable": float(chosen),
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": _p90(times),
        "all_qualified_median_ms": round(statistics.median(worst), 3),
        "all_qualified_p90_ms": _p90(worst),
    }


def main() -> None:
    result = run()
    print(
        f"choose: {int(result['workers'])} workers, {int(result['booked_jobs'])} booked, "
        f"{int(result['choices'])} choices ({int(result['assignable'])} assignable): "
        f"median {result['median_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms; "
        f"all qualified: median {result['all_qualified_median_ms']:.2f} ms, "
        f"p90 {result['all_qualified_p90_ms']:.2f} ms"
    )
    merged: dict[str, object] = {}
    if RESULTS.exists():
        merged = json.loads(RESULTS.read_text())
    merged["choose"] = result
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
