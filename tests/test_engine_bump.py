"""Emergency bump: a P1 nobody reaches in time takes the place of cheaper, lower-priority work."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dispatch.company import DEFAULT_WEIGHTS
from dispatch.engine.bump import BumpPlan, Moved, needs_bump, plan_bump
from dispatch.engine.choose import choose
from dispatch.engine.model import Job, Point, Route, Window, Worker
from dispatch.engine.travel import euclidean

SHIFT = Window(0, 600)
SITE = Point(5, 0)
# The emergency: due on site within 30 minutes, only for north technicians.
EMERGENCY = Job(
    id="E1",
    at=SITE,
    window=Window(0, 600),
    duration=60,
    skills={"hvac": 1},
    territory="north",
    priority=1,
    sla_due=30,
)


def worker(ident: str, **kw: Any) -> Worker:
    base = Worker(
        id=ident,
        start=Point(0, 0),
        end=Point(0, 0),
        shift=SHIFT,
        skills={"hvac": 1},
        territories=frozenset({"north"}),
    )
    return replace(base, **kw)


def blocking(ident: str, priority: int) -> Job:
    """A morning job that keeps its worker busy until past the emergency's SLA."""
    return Job(ident, SITE, Window(0, 10), 200, skills={"hvac": 1}, priority=priority)


def plan(routes: list[Route], job: Job = EMERGENCY) -> BumpPlan | None:
    return plan_bump(job, routes, euclidean, None, dict(DEFAULT_WEIGHTS))


def test_nobody_free_in_time_needs_a_bump() -> None:
    routes = [Route(worker("W1"), (blocking("A", 3),))]
    explanation = choose(EMERGENCY, routes, euclidean, None, dict(DEFAULT_WEIGHTS))
    assert needs_bump(EMERGENCY, explanation)
    assert not needs_bump(replace(EMERGENCY, priority=2), explanation)
    free = choose(EMERGENCY, [Route(worker("W1"))], euclidean, None, dict(DEFAULT_WEIGHTS))
    assert not needs_bump(EMERGENCY, free)


def test_bumps_the_worker_whose_displaced_work_costs_least() -> None:
    spare = worker("W3", territories=frozenset({"south"}))  # can't take the emergency
    routes = [
        Route(worker("W1"), (blocking("A", 3),)),
        Route(worker("W2"), (blocking("B", 4),)),
        Route(spare),
    ]
    bump = plan(routes)
    assert bump is not None
    assert bump.worker_id == "W2"
    assert [j.id for j in bump.displaced] == ["B"]
    assert bump.route.jobs == (EMERGENCY,)  # the job itself, not the search's copy
    assert bump.arrival <= 30
    assert bump.routes["W2"] is bump.route
    assert bump.routes["W1"] is routes[0]  # the P3 stays where it was


def test_displaced_job_is_replanned_on_another_worker() -> None:
    spare = worker("W3", territories=frozenset({"south"}))
    routes = [Route(worker("W2"), (blocking("B", 4),)), Route(spare)]
    bump = plan(routes)
    assert bump is not None
    assert bump.moved == (Moved("B", "W2", "W3", "bumped for E1"),)
    assert [j.id for j in bump.routes["W3"].jobs if j is not None] == ["B"]
    chosen = bump.explanations["B"].chosen
    assert chosen is not None
    assert chosen.worker_id == "W3"


def test_displaced_job_nobody_can_take_is_left_unassigned_with_the_reason() -> None:
    bump = plan([Route(worker("W2"), (blocking("B", 4),))])
    assert bump is not None
    assert bump.moved == (Moved("B", "W2", None, "bumped for E1; no_feasible_technician"),)
    assert bump.routes.keys() == {"W2"}


def test_never_bumps_a_job_of_equal_priority() -> None:
    assert plan([Route(worker("W1"), (blocking("A", 1),))]) is None
    p2 = replace(EMERGENCY, priority=2)
    assert plan([Route(worker("W1"), (blocking("A", 2),))], p2) is None
    assert plan([Route(worker("W1"), (blocking("A", 3),))], p2) is not None


def test_never_bumps_a_job_that_is_under_way() -> None:
    assert plan([Route(worker("W1"), (blocking("A", 4),), fixed=1)]) is None
    assert plan([Route(worker("W1"), (blocking("A", 4),), fixed=0)]) is not None


def test_no_bump_when_even_an_empty_day_misses_the_sla() -> None:
    too_soon = replace(EMERGENCY, sla_due=1)  # 5 minutes' drive away
    assert plan([Route(worker("W1"), (blocking("A", 4),))], too_soon) is None


def test_unqualified_workers_are_never_bumped() -> None:
    south = worker("W1", territories=frozenset({"south"}))
    assert plan([Route(south, (blocking("A", 4),))]) is None


def test_prefers_one_cheap_job_over_a_costlier_set() -> None:
    late = Job("C", SITE, Window(0, 600), 30, skills={"hvac": 1}, priority=4)
    routes = [
        Route(worker("W1"), (blocking("A", 2),)),  # one P2: costs more than ...
        Route(worker("W2"), (blocking("B", 4), late)),  # ... one P4 (the other can stay)
    ]
    bump = plan(routes)
    assert bump is not None
    assert bump.worker_id == "W2"
    assert [j.id for j in bump.displaced] == ["B"]
    assert [j.id for j in bump.route.jobs if j is not None] == ["E1", "C"]


def test_a_worker_who_let_the_emergency_go_is_not_bumped_for_it_again() -> None:
    routes = [
        Route(worker("W1"), (blocking("A", 3),)),
        Route(worker("W2"), (blocking("B", 4),)),
    ]
    again = plan_bump(
        EMERGENCY, routes, euclidean, None, dict(DEFAULT_WEIGHTS), declined=frozenset({"W2"})
    )
    assert again is not None
    assert again.worker_id == "W1"  # the costlier bump: W2 already let the offer go
    assert [j.id for j in again.displaced] == ["A"]
    every = frozenset({"W1", "W2"})
    assert plan_bump(EMERGENCY, routes, euclidean, None, {}, declined=every) is None
