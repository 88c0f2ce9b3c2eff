"""The TRSP benchmark's reader, its independent checker, and the planner on a tiny instance."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from dispatch.engine.model import Job, Point, Route, Window, Worker
from dispatch.engine.online import simulate
from dispatch.engine.plan import plan_day
from dispatch.engine.routing import evaluate
from dispatch.engine.travel import euclidean
from dispatch.engine.trsp import (
    check,
    parse_instance,
    parse_release_dates,
    read_solution,
    routes_of,
    write_solution,
)

# Two technicians on the y axis, three requests. Optimal: tech 1 does 3 then 4 (travel 12,
# service 10, it leaves home late enough not to wait for 4's window) = 22, tech 2 does 5
# (travel 8, service 5) = 13; total 35. Tech 2 lacks tool 0 and part 0 for request 3.
TINY = """TINY.3_2-2-1-2

INFO
CREW COUNT  SKILLS  TOOLS   SPARE PARTS
2      2       1       2

DEPOT TECHNICIANS AND REQUESTS
ID   X     Y     TWS    TWE    Serv   SKILLS   TOOLS    SPARE PARTS
0    0     0     0      1000   0      [] \t[] \t[]
1    0     10    0      1000   0      [0] \t[0] \t[1,0]
2    0     -10   0      1000   0      [0,1] \t[] \t[0,0]
3    3     10    0      1000   5      [0] \t[0] \t[1,0]
4    6     10    20     1000   5      [0] \t[] \t[0,0]
5    0     -14   0      1000   5      [1] \t[] \t[0,0]
"""

RELEASES = """# Instance TINY - 1 dynamic requests - 2 static requests
Dyn   Stat
1    2
ID    RD
3    -1
5    -1
4    12
"""


def test_instance_file_becomes_workers_jobs_and_depot() -> None:
    inst = parse_instance(TINY)
    assert inst.name == "TINY.3_2-2-1-2"
    assert inst.short_name == "TINY"
    assert [w.id for w in inst.workers] == ["1", "2"]
    assert [j.id for j in inst.jobs] == ["3", "4", "5"]
    w2 = inst.workers[1]
    assert dict(w2.skills) == {"0": 1, "1": 1}
    assert w2.tools == frozenset()
    assert dict(inst.workers[0].stock) == {"0": 1, "1": 0}
    assert inst.jobs[0].parts == {"0": 1}
    assert inst.jobs[1].window.start == 20
    assert inst.depot.window.end == 1000


def test_checker_scores_the_known_optimum() -> None:
    inst = parse_instance(TINY)
    score = check(inst, {1: [3, 4], 2: [5]})
    assert score.feasible, score.errors
    assert score.objective == pytest.approx(35)
    assert score.used == 2


def test_checker_and_engine_agree_on_route_working_time() -> None:
    inst = parse_instance(TINY)
    jobs = {j.id: j for j in inst.jobs}
    for tech, stops in ((1, [4, 3]), (2, [0, 3, 5, 4]), (1, [3, 0, 4])):
        score = check(inst, {tech: stops}, [r for r in (3, 4, 5) if r not in stops])
        route = Route(
            inst.workers[tech - 1], tuple(None if s == 0 else jobs[str(s)] for s in stops)
        )
        timing = evaluate(route, euclidean, inst.depot)
        assert score.feasible and timing is not None
        assert timing.duration == pytest.approx(score.objective)


def test_checker_names_each_broken_rule() -> None:
    inst = parse_instance(TINY)
    assert any("tool" in e for e in check(inst, {2: [3, 4, 5]}).errors)
    assert check(inst, {2: [0, 3, 4, 5]}).feasible
    assert any("depot twice" in e for e in check(inst, {2: [0, 3, 0, 4, 5]}).errors)
    assert any("skill" in e for e in check(inst, {1: [3, 4, 5]}).errors)
    assert any("twice" in e for e in check(inst, {1: [3, 4], 2: [4, 5]}).errors)
    assert any("neither served" in e for e in check(inst, {1: [3, 4]}).errors)
    assert check(inst, {1: [3, 4]}, [5]).feasible


def test_checker_rejects_a_late_arrival_and_a_late_return() -> None:
    text = TINY.replace("4    6     10    20     1000", "4    6     10    0      8   ")
    inst = parse_instance(text)
    assert any("window" in e for e in check(inst, {1: [3, 4], 2: [5]}).errors)
    assert check(inst, {1: [4, 3], 2: [5]}).feasible
    short = parse_instance(
        TINY.replace("1    0     10    0      1000", "1    0     10    0      30  ")
    )
    assert any("home" in e for e in check(short, {1: [3, 4], 2: [5]}).errors)


def test_planner_finds_the_optimum_of_the_tiny_instance() -> None:
    inst = parse_instance(TINY)
    plan = plan_day(
        inst.workers, inst.jobs, euclidean, inst.depot, seconds=30, seed=1, iterations=50
    )
    score = check(inst, routes_of(plan.routes))
    assert score.feasible, score.errors
    assert score.objective == pytest.approx(35)
    assert plan.working_time == pytest.approx(35)


def test_solution_json_round_trips(tmp_path: Path) -> None:
    inst = parse_instance(TINY)
    path = tmp_path / "sol.json"
    write_solution(path, inst, {1: [3, 4], 2: [5]})
    data = json.loads(path.read_text())
    assert data["instance"] == "TINY.3_2-2-1-2"
    assert data["objective"] == pytest.approx(35)
    assert data["unserved"] == []
    assert read_solution(path) == ({1: [3, 4], 2: [5]}, [])


def test_release_dates_skip_the_header_and_mark_static_requests() -> None:
    assert parse_release_dates(RELEASES) == {3: -1.0, 5: -1.0, 4: 12.0}


def test_online_replay_never_travels_to_a_request_before_its_release() -> None:
    inst = parse_instance(TINY)
    release = parse_release_dates(RELEASES)
    jobs = [replace(j, release=release[int(j.id)]) for j in inst.jobs]
    res = simulate(inst.workers, jobs, euclidean, inst.depot, seconds=0.2, seed=1)
    routes = routes_of(res.routes)
    score = check(inst, routes)
    assert score.feasible, score.errors
    assert res.departed["4"] >= 12  # set off once it was known
    assert set(res.departed) == {"3", "4", "5"}


def _return_minus_departure(route: Route, leave: float) -> float | None:
    """Leave home at `leave`, wait where early: return − departure, or None if late."""
    w = route.worker
    t, here = leave, w.start
    for job in route.jobs:
        assert job is not None
        t += euclidean(here, job.at)
        if t > job.window.end + 1e-9:
            return None
        t = max(t, job.window.start) + job.duration
        here = job.at
    t += euclidean(here, w.end)
    return None if t > w.shift.end + 1e-9 else t - leave


def test_working_time_is_the_shortest_feasible_day_for_the_visit_order() -> None:
    # README item 9: duration = min over departures of (return − departure)
    rng = random.Random(3)
    checked = 0
    for _ in range(150):
        w = Worker("w", Point(0, 0), Point(0, 0), Window(0, 300))
        jobs: list[Job] = []
        for i in range(rng.randint(1, 4)):
            s = rng.uniform(0, 200)
            jobs.append(
                Job(
                    f"j{i}",
                    Point(rng.uniform(-30, 30), rng.uniform(-30, 30)),
                    Window(s, s + rng.uniform(0, 40)),
                    rng.uniform(0, 10),
                )
            )
        jobs.sort(key=lambda j: j.window.start)
        route = Route(w, tuple(jobs))
        timing = evaluate(route, euclidean, None)
        if timing is None:
            continue
        checked += 1
        days = [_return_minus_departure(route, 300 * i / 1500) for i in range(1501)]
        best = min(d for d in days if d is not None)
        assert timing.duration <= best + 1e-6
        assert timing.duration >= best - 0.4  # the grid is 0.2 apart
        leave = timing.back - timing.duration
        exact = _return_minus_departure(route, leave)
        assert exact is not None and exact == pytest.approx(timing.duration)
    assert checked > 25
