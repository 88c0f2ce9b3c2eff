"""Route timing, cheapest insertion and day plans on hand-made routes (x/y, Euclidean)."""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import permutations

import pytest

from dispatch.engine.model import Depot, Job, Point, Route, Window, Worker
from dispatch.engine.plan import plan_day, reoptimize
from dispatch.engine.routing import best_insertion, evaluate
from dispatch.engine.travel import GreatCircleTravel, euclidean, haversine_km

HOME = Point(0, 0)
DEPOT = Depot(Point(0, 5), Window(0, 1000))


def worker(wid: str = "w1", at: Point = HOME, **kw: object) -> Worker:
    return Worker(wid, at, at, Window(0, 1000), **kw)  # type: ignore[arg-type]


def job(
    jid: str, x: float, start: float = 0, end: float = 1000, dur: float = 0, **kw: object
) -> Job:
    return Job(jid, Point(x, 0), Window(start, end), dur, **kw)  # type: ignore[arg-type]


def test_early_arrival_waits_for_the_window_and_departure_is_postponed() -> None:
    timing = evaluate(Route(worker(), (job("a", 10, 30, 40, dur=5),)), euclidean, None)
    assert timing is not None
    stop = timing.stops[0]
    assert (stop.arrival, stop.start, stop.end) == (10, 30, 35)
    assert timing.back == 45
    assert timing.travel == 20
    assert timing.duration == 25  # leaving at 20 instead of 0 removes the wait


def test_forward_slack_smaller_than_waiting_limits_the_postponement() -> None:
    # a must be reached by 15, so the departure can move 5, not the 40 waited at b
    route = Route(worker(), (job("a", 10, 0, 15), job("b", 20, 60, 70)))
    timing = evaluate(route, euclidean, None)
    assert timing is not None
    assert timing.back == 80
    assert timing.duration == pytest.approx(75)


def test_arrival_after_the_window_is_infeasible() -> None:
    assert evaluate(Route(worker(), (job("a", 10, 0, 9.5),)), euclidean, None) is None


def test_return_after_shift_end_is_infeasible() -> None:
    w = replace(worker(), shift=Window(0, 30))
    assert evaluate(Route(w, (job("a", 10, dur=5),)), euclidean, None) is not None
    assert evaluate(Route(w, (job("a", 10, dur=15),)), euclidean, None) is None


def test_depot_stop_restocks_parts_for_the_rest_of_the_route() -> None:
    w = worker(stock={"filter": 1})
    a, b = job("a", 10, parts={"filter": 1}), job("b", 20, parts={"filter": 1})
    assert evaluate(Route(w, (a, b)), euclidean, DEPOT) is None
    assert evaluate(Route(w, (a, None, b)), euclidean, DEPOT) is not None
    assert evaluate(Route(w, (a, b, None)), euclidean, DEPOT) is None


def test_depot_stop_lends_missing_tools() -> None:
    a = job("a", 10, tools=frozenset({"lift"}))
    assert evaluate(Route(worker(), (a,)), euclidean, DEPOT) is None
    assert evaluate(Route(worker(tools=frozenset({"lift"})), (a,)), euclidean, DEPOT) is not None
    assert evaluate(Route(worker(), (None, a)), euclidean, DEPOT) is not None


def test_second_depot_stop_and_closed_depot_are_refused() -> None:
    a = job("a", 10)
    assert evaluate(Route(worker(), (None, a, None)), euclidean, DEPOT) is None
    closed = Depot(DEPOT.at, Window(0, 2))
    assert evaluate(Route(worker(), (None, a)), euclidean, closed) is None
    assert evaluate(Route(worker(), (None, a)), euclidean, None) is None


def test_best_insertion_picks_the_cheapest_position() -> None:
    route = Route(worker(), (job("a", 10, dur=1), job("b", 30, dur=1), job("c", 5, dur=1)))
    new = job("n", 20, dur=1)
    ins = best_insertion(route, new, euclidean, None)
    assert ins is not None
    base = evaluate(route, euclidean, None)
    assert base is not None
    costs = {}
    for k in range(4):
        t = evaluate(Route(route.worker, (*route.jobs[:k], new, *route.jobs[k:])), euclidean, None)
        if t is not None:
            costs[k] = t.duration - base.duration
    assert ins.position == min(costs, key=lambda k: costs[k]) == 1
    assert ins.added_duration == pytest.approx(costs[1])
    assert ins.route.jobs[ins.position] is new
    assert ins.arrival == pytest.approx(21)  # leaves a (at 10, 1 on site) at 11


def test_an_urgent_job_goes_where_it_is_reached_in_time_not_where_it_drives_least() -> None:
    # Cheapest is just after the far job; its SLA falls due long before that job is done.
    route = Route(worker(), (job("a", 10), job("far", 50, dur=60)))
    near_far = Job("n", Point(50, 10), Window(0, 1000), 10)
    cheap = best_insertion(route, near_far, euclidean, None)
    assert cheap is not None and cheap.position == 2
    urgent = replace(near_far, priority=1, sla_due=80.0)
    ins = best_insertion(route, urgent, euclidean, None)
    assert ins is not None and ins.position == 1
    assert ins.arrival < 80 - 20  # with the planning buffer to spare
    assert ins.others_sla == 0.0  # the far job has no SLA to lose


def test_a_taken_emergency_late_everywhere_goes_where_it_is_least_late() -> None:
    # Reached at 51 before the far job or at 120 after it: due at 40, late either way. By
    # SLAs broken it is a tie, and the cheapest place is after the far job; once a
    # technician has taken it, it goes before the far job (11 minutes late, not 80).
    route = Route(worker(), (job("a", 10), job("far", 50, dur=60, priority=4)))
    urgent = Job("n", Point(50, 10), Window(0, 1000), 10, priority=1, sla_due=40.0)
    cheap = best_insertion(route, urgent, euclidean, None)
    assert cheap is not None and cheap.position == 2 and cheap.arrival == pytest.approx(120)
    taken = best_insertion(route, urgent, euclidean, None, least_late=True)
    assert taken is not None and taken.position == 1
    assert taken.arrival == pytest.approx(10 + (40**2 + 10**2) ** 0.5)
    # Where it can be on time, it is on time either way: the order only breaks ties.
    on_time = replace(urgent, sla_due=200.0)
    a = best_insertion(route, on_time, euclidean, None)
    b = best_insertion(route, on_time, euclidean, None, least_late=True)
    assert a is not None and b is not None and a.position == b.position == 2


def test_an_insertion_keeps_the_booked_jobs_promises_before_its_own_routine_one() -> None:
    # A P2 booked at 10 is due by 100; a P3 job on the way costs less before it, but would
    # make the P2 late: it goes after, where nobody's SLA breaks.
    booked = job("p2", 10, dur=0, priority=2, sla_due=100.0)
    route = Route(worker(), (booked,))
    detour = job("p3", 60, dur=60, priority=3, sla_due=5000.0)
    before = evaluate(Route(route.worker, (detour, booked)), euclidean, None)
    assert before is not None and before.stops[1].arrival > 100  # late if it went first
    ins = best_insertion(route, detour, euclidean, None)
    assert ins is not None and ins.route.jobs == (booked, detour)


def test_a_job_already_planned_late_is_not_made_later_still() -> None:
    late = job("late", 10, dur=0, priority=2, sla_due=5.0)  # reached at 10: late already
    route = Route(worker(), (late,))
    new = job("n", 2, dur=30, priority=3)  # cheapest before it, on the way out
    ins = best_insertion(route, new, euclidean, None)
    assert ins is not None and ins.route.jobs == (late, new)


def test_best_insertion_refuses_what_fits_nowhere() -> None:
    route = Route(worker(), (job("a", 10, 0, 20, dur=10),))
    assert best_insertion(route, job("late", 50, 0, 40), euclidean, None) is None
    assert (
        best_insertion(
            replace(route, worker=replace(route.worker, max_jobs=1)), job("n", 5), euclidean, None
        )
        is None
    )
    off = replace(route, worker=replace(route.worker, available=False))
    assert best_insertion(off, job("n", 5), euclidean, None) is None


def test_best_insertion_never_moves_the_fixed_prefix() -> None:
    route = Route(worker(), (job("far", 40), job("farther", 50)), fixed=2)
    ins = best_insertion(route, job("near", 1), euclidean, None)
    assert ins is not None
    assert ins.position == 2
    assert ins.route.jobs[:2] == route.jobs[:2]
    assert ins.route.fixed == 2


def test_best_insertion_adds_a_depot_stop_when_the_van_lacks_stock() -> None:
    route = Route(worker(stock={"filter": 0}), (job("a", 10),))
    ins = best_insertion(route, job("n", 20, parts={"filter": 1}), euclidean, DEPOT)
    assert ins is not None
    assert ins.route.jobs[ins.position - 1] is None
    assert evaluate(ins.route, euclidean, DEPOT) is not None
    assert best_insertion(route, job("n", 20, parts={"filter": 1}), euclidean, None) is None


def test_best_insertion_matches_exhaustive_search_on_windows() -> None:
    jobs = (job("a", 10, 0, 30, 5), job("b", -10, 40, 60, 5), job("c", 25, 80, 120, 5))
    route = Route(worker(), jobs)
    base = evaluate(route, euclidean, None)
    assert base is not None
    for new in (job("n", 15, 20, 50, 5), job("m", -5, 0, 200, 10), job("o", 30, 130, 135, 1)):
        ins = best_insertion(route, new, euclidean, None)
        brute = [
            t.duration - base.duration
            for k in range(4)
            if (t := evaluate(Route(route.worker, (*jobs[:k], new, *jobs[k:])), euclidean, None))
        ]
        assert ins is not None
        assert ins.added_duration == pytest.approx(min(brute))


def two_workers() -> list[Worker]:
    return [worker("w1", Point(0, 0)), worker("w2", Point(100, 0))]


def day_jobs() -> list[Job]:
    return [job(f"j{i}", x, dur=10) for i, x in enumerate((5, 20, 40, 60, 80, 95))]


def ids(route: Route) -> list[str | None]:
    return [None if j is None else j.id for j in route.jobs]


def test_plan_day_is_deterministic_for_a_seed_and_serves_everyone() -> None:
    plans = [
        plan_day(two_workers(), day_jobs(), euclidean, None, seconds=30, seed=7, iterations=40)
        for _ in range(2)
    ]
    assert [ids(r) for r in plans[0].routes] == [ids(r) for r in plans[1].routes]
    assert not plans[0].unassigned
    assert sum(len(r.jobs) for r in plans[0].routes) == 6
    assert all(evaluate(r, euclidean, None) is not None for r in plans[0].routes)


def test_plan_day_gives_unqualified_jobs_back_with_a_reason() -> None:
    jobs = [*day_jobs(), job("hv", 50, skills={"high-voltage": 2})]
    plan = plan_day(two_workers(), jobs, euclidean, None, seconds=30, seed=1, iterations=10)
    assert [u.job.id for u in plan.unassigned] == ["hv"]
    assert "qualified" in plan.unassigned[0].reason


def test_reoptimize_moves_a_sick_workers_unfixed_jobs_to_others() -> None:
    w1, w2 = two_workers()
    a, b, c = job("a", 10, dur=5), job("b", 20, dur=5), job("c", 90, dur=5)
    routes = [Route(replace(w1, available=False), (a, b), fixed=1), Route(w2, (c,))]
    plan = reoptimize(routes, euclidean, None, seconds=30, seed=3, iterations=20)
    assert ids(plan.routes[0]) == ["a"]  # under way: stays
    assert sorted(map(str, ids(plan.routes[1]))) == ["b", "c"]
    assert not plan.unassigned


def test_reoptimize_after_an_overrun_keeps_fixed_jobs_and_replans_the_rest() -> None:
    w1, w2 = worker("w1"), worker("w2", Point(50, 0))
    a, b = job("a", 10, dur=5), job("b", 30, 0, 60, dur=5)
    late = replace(w1, start=Point(10, 0), shift=Window(70, 1000))  # still on site at a
    routes = [Route(late, (a, b), fixed=1), Route(w2, ())]
    plan = reoptimize(routes, euclidean, None, seconds=30, seed=3, iterations=20)
    assert ids(plan.routes[0]) == ["a"]
    assert ids(plan.routes[1]) == ["b"]


def test_great_circle_travel_uses_detour_and_speed() -> None:
    paris, london = Point(48.8566, 2.3522), Point(51.5074, -0.1278)
    assert haversine_km(paris, london) == pytest.approx(343.5, abs=1.0)
    travel = GreatCircleTravel(detour_factor=1.3, speed_kmh=40)
    assert travel(paris, london) == pytest.approx(haversine_km(paris, london) * 1.3 / 40 * 60)
    assert travel(paris, paris) == 0


def test_insertion_costs_agree_with_full_schedules_on_random_routes() -> None:
    rng = random.Random(5)
    for _ in range(200):
        jobs = [
            job(f"j{i}", rng.uniform(-50, 50), s := rng.uniform(0, 200), s + 60, 5)
            for i in range(5)
        ]
        route = next(
            (
                Route(worker(), p)
                for p in permutations(jobs[:4])
                if evaluate(Route(worker(), p), euclidean, None)
            ),
            None,
        )
        if route is None:
            continue
        ins = best_insertion(route, jobs[4], euclidean, None)
        if ins is not None:
            base, after = evaluate(route, euclidean, None), evaluate(ins.route, euclidean, None)
            assert base is not None and after is not None
            assert after.duration - base.duration == pytest.approx(ins.added_duration)
            assert after.travel - base.travel == pytest.approx(ins.added_travel)


def test_plan_day_routes_are_feasible_and_serve_each_job_once() -> None:
    rng = random.Random(11)
    workers = [
        Worker(
            f"w{k}",
            Point(rng.uniform(0, 50), rng.uniform(0, 50)),
            Point(rng.uniform(0, 50), rng.uniform(0, 50)),
            Window(0, 400),
            tools=frozenset(rng.sample(["lift", "probe", "torch"], 1)),
            stock={"filter": rng.randint(0, 2)},
        )
        for k in range(4)
    ]
    jobs = []
    for i in range(30):
        s = rng.uniform(0, 250)
        jobs.append(
            Job(
                f"j{i}",
                Point(rng.uniform(0, 50), rng.uniform(0, 50)),
                Window(s, s + 90),
                rng.choice([5.0, 15.0]),
                tools=frozenset(rng.sample(["lift", "probe", "torch"], rng.randint(0, 1))),
                parts={"filter": rng.randint(0, 1)},
            )
        )
    depot = Depot(Point(25, 25), Window(0, 400))
    plan = plan_day(workers, jobs, euclidean, depot, seconds=30, seed=2, iterations=60)
    planned = [j.id for r in plan.routes for j in r.jobs if j is not None]
    assert len(planned) == len(set(planned))
    assert sorted(planned + [u.job.id for u in plan.unassigned]) == sorted(j.id for j in jobs)
    total = 0.0
    for r in plan.routes:
        timing = evaluate(r, euclidean, depot)
        assert timing is not None
        total += timing.duration
    assert total == pytest.approx(plan.working_time)
    assert any(None in r.jobs for r in plan.routes)  # some van had to restock
