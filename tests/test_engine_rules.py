"""Hard rules: each one passes a fitting worker and excludes one that fails it, by name."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, time
from typing import Any

import pytest

from dispatch.company import (
    CertificationGrant,
    Company,
    CompanySettings,
    Customer,
    Equipment,
    GeoPoint,
    Leave,
    Requirements,
    Site,
    Skill,
    Technician,
    Territory,
    TimeRange,
)
from dispatch.engine.adapt import job_requirements, worker_from_technician
from dispatch.engine.choose import place
from dispatch.engine.model import Depot, Exclusion, Job, Point, Route, Window, Worker
from dispatch.engine.routing import Insertion, best_insertion
from dispatch.engine.rules import RULE_LABELS, RULES, route_precheck
from dispatch.engine.travel import euclidean

HOME = Point(0, 0)
SHIFT = Window(0, 480)


def worker(**kw: Any) -> Worker:
    base = Worker(id="W1", start=HOME, end=HOME, shift=SHIFT, skills={"hvac": 2})
    return replace(base, **kw)


def job(**kw: Any) -> Job:
    base = Job(id="J1", at=Point(10, 0), window=Window(0, 480), duration=60, skills={"hvac": 2})
    return replace(base, **kw)


def outcome(
    w: Worker, j: Job, booked: tuple[Job | None, ...] = (), depot: Depot | None = None
) -> Insertion | Exclusion:
    return place(j, Route(w, booked), euclidean, depot)


def rule_of(result: Insertion | Exclusion) -> str | None:
    return result.rule if isinstance(result, Exclusion) else None


# (rule, worker/job/booked that pass, worker/job/booked that fail)
Case = tuple[Worker, Job, tuple[Job | None, ...]]
OTHER = job(id="B1", window=Window(0, 20), duration=400)
CASES: dict[str, tuple[Case, Case]] = {
    "availability": (
        (worker(), job(), ()),
        (worker(available=False), job(), ()),
    ),
    "required_technician": (
        (worker(), job(required_worker="W1"), ()),
        (worker(), job(required_worker="W9"), ()),
    ),
    "excluded_by_customer": (
        (worker(), job(excluded_workers=frozenset({"W9"})), ()),
        (worker(), job(excluded_workers=frozenset({"W1"})), ()),
    ),
    "skill": (
        (worker(skills={"hvac": 3}), job(), ()),
        (worker(skills={"hvac": 1}), job(), ()),
    ),
    "certification": (
        (
            worker(certifications=frozenset({"epa608"})),
            job(certifications=frozenset({"epa608"})),
            (),
        ),
        (worker(), job(certifications=frozenset({"epa608"})), ()),
    ),
    "territory": (
        (worker(territories=frozenset({"north"})), job(territory="north"), ()),
        (worker(territories=frozenset({"south"})), job(territory="north"), ()),
    ),
    "max_jobs": (
        (worker(max_jobs=2), job(), (job(id="B1", window=Window(0, 480), duration=10),)),
        (worker(max_jobs=1), job(), (job(id="B1", window=Window(0, 480), duration=10),)),
    ),
    "tools_parts": (
        (
            worker(tools=frozenset({"camera"}), stock={"cap": 1}),
            job(tools=frozenset({"camera"}), parts={"cap": 1}),
            (),
        ),
        (worker(stock={"cap": 1}), job(parts={"cap": 2}), ()),
    ),
    "shift": (
        (worker(), job(duration=400), ()),
        (worker(), job(duration=470), ()),  # 470 on site + 20 driving > 480
    ),
    "time_window": (
        (worker(), job(window=Window(10, 20)), ()),
        (worker(), job(window=Window(0, 5)), ()),  # 10 away: cannot arrive by 5
    ),
    "overlap": (
        (worker(), job(duration=30), (OTHER,)),
        (worker(), job(duration=70), (OTHER,)),  # 400 booked + 70 + travel > 480
    ),
}


def test_every_hard_rule_has_a_case_and_a_label() -> None:
    assert set(CASES) | {"declined"} == set(RULES) == set(RULE_LABELS)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_worker_who_meets_the_rule_is_not_excluded(rule: str) -> None:
    (w, j, booked), _ = CASES[rule]
    assert isinstance(outcome(w, j, booked), Insertion)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_worker_who_breaks_the_rule_is_excluded_by_that_rule(rule: str) -> None:
    _, (w, j, booked) = CASES[rule]
    result = outcome(w, j, booked)
    assert rule_of(result) == rule
    assert isinstance(result, Exclusion)
    assert result.worker_id == "W1"
    assert result.detail


def test_first_failing_rule_in_the_fixed_order_is_reported() -> None:
    result = outcome(worker(available=False, skills={}), job(territory="north"))
    assert rule_of(result) == "availability"
    result = outcome(worker(skills={}), job(territory="north"))
    assert rule_of(result) == "skill"


def test_missing_tool_is_fetched_with_a_depot_stop_when_it_fits() -> None:
    depot = Depot(Point(5, 5), Window(0, 480))
    result = outcome(worker(), job(tools=frozenset({"camera"})), depot=depot)
    assert isinstance(result, Insertion)
    assert result.route.jobs[0] is None  # the depot stop before the job


def test_missing_tool_is_excluded_when_the_depot_stop_does_not_fit() -> None:
    depot = Depot(Point(300, 0), Window(0, 480))  # 600 minutes there and back
    result = outcome(worker(), job(tools=frozenset({"camera"})), depot=depot)
    assert rule_of(result) == "tools_parts"


def test_parts_already_promised_to_booked_jobs_are_not_counted_twice() -> None:
    booked = (job(id="B1", window=Window(0, 100), duration=10, parts={"cap": 1}),)
    assert rule_of(outcome(worker(stock={"cap": 1}), job(parts={"cap": 1}), booked)) == (
        "tools_parts"
    )
    assert isinstance(outcome(worker(stock={"cap": 2}), job(parts={"cap": 1}), booked), Insertion)


def test_job_whose_window_ended_before_now_is_a_time_window_exclusion() -> None:
    result = place(job(window=Window(0, 100)), Route(worker()), euclidean, None, now=150)
    assert rule_of(result) == "time_window"


def test_shift_already_over_is_a_shift_exclusion() -> None:
    result = place(job(window=Window(0, 600)), Route(worker()), euclidean, None, now=470)
    assert rule_of(result) == "shift"


# The company's world feeding the rules (adapt).

MONDAY = date(2026, 11, 23)
EIGHT_TO_FIVE = TimeRange(time(8), time(17))


def technician(**kw: Any) -> Technician:
    base = Technician(
        id="T01",
        name="Maria",
        phone="+15125550101",
        skills={"hvac": 3},
        home=GeoPoint(30.3, -97.7),
        shifts={"mon": EIGHT_TO_FIVE},
        territories=("north",),
    )
    return replace(base, **kw)


def test_technician_becomes_a_worker_with_shift_minutes_and_valid_certifications() -> None:
    tech = technician(
        certifications=(
            CertificationGrant("epa608", date(2027, 1, 1)),
            CertificationGrant("gas", date(2026, 11, 1)),
        )
    )
    w = worker_from_technician(tech, MONDAY)
    assert w.shift == Window(480, 1020)
    assert w.certifications == frozenset({"epa608"})
    assert w.available
    assert w.start == Point(30.3, -97.7)
    tomorrow_in_a_two_day_plan = worker_from_technician(tech, MONDAY, start_minutes_offset=1440)
    assert tomorrow_in_a_two_day_plan.shift == Window(1920, 2460)


def test_replanning_mid_day_starts_the_day_where_and_when_the_technician_is() -> None:
    w = worker_from_technician(technician(), MONDAY, now_at=Point(30.4, -97.6), now=600)
    assert (w.start, w.end) == (Point(30.4, -97.6), Point(30.3, -97.7))
    assert w.shift == Window(600, 1020)
    late = worker_from_technician(technician(), MONDAY, now=1100)
    assert late.shift == Window(1020, 1020)  # the shift is over: nothing fits


def test_technician_on_leave_or_without_a_shift_is_unavailable() -> None:
    on_leave = technician(leave=(Leave(MONDAY, MONDAY),))
    assert not worker_from_technician(on_leave, MONDAY).available
    tuesday = date(2026, 11, 24)
    assert not worker_from_technician(technician(), tuesday).available


def test_technician_without_home_needs_a_fallback() -> None:
    with pytest.raises(ValueError, match="T01"):
        worker_from_technician(technician(home=None), MONDAY)
    w = worker_from_technician(technician(home=None), MONDAY, fallback_home=Point(1, 2))
    assert w.start == Point(1, 2)


def test_requirements_merge_skill_and_equipment_and_narrow_to_site_access() -> None:
    company = Company(
        settings=CompanySettings(name="Co", timezone="America/Chicago"),
        skills=(Skill("hvac", "HVAC", requires=Requirements(("epa608",), ("gauges",), 1)),),
        territories=(Territory("north", "North", ("78758",)),),
    )
    rtu = Equipment("E1", "rtu", requires=Requirements((), ("lift",), 3))
    site = Site("S1", "1 Main", zip="78758", access_window=TimeRange(time(9), time(12)))
    customer = Customer(
        "C1", "Acme", vip=True, contract="gold", excluded_technicians=("T02",), sites=(site,)
    )
    req = job_requirements(company, "hvac", rtu, customer, site=site)
    assert req.skills == {"hvac": 3}
    assert req.certifications == frozenset({"epa608"})
    assert req.tools == frozenset({"gauges", "lift"})
    assert req.territory == "north"
    assert req.vip
    assert req.contract
    planned = req.apply(job(window=Window(600, 1020)))
    assert planned.window == Window(600, 720)
    assert planned.excluded_workers == frozenset({"T02"})


def test_expired_certification_excludes_the_technician_by_certification() -> None:
    tech = technician(certifications=(CertificationGrant("epa608", date(2026, 11, 1)),))
    w = worker_from_technician(tech, MONDAY)
    j = Job("J1", Point(30.3, -97.7), Window(480, 1020), 60, certifications=frozenset({"epa608"}))
    assert rule_of(outcome(w, j)) == "certification"


def test_cheap_route_checks_never_reject_a_job_the_insertion_search_accepts() -> None:
    rng = random.Random(7)
    depot = Depot(Point(50, 50), Window(0, 480))
    checked = 0
    for case in range(300):
        home = Point(rng.uniform(0, 100), rng.uniform(0, 100))
        route = Route(replace(worker(), start=home, end=home))
        for n in range(rng.randrange(8)):
            start = rng.uniform(0, 420)
            booked = job(
                id=f"B{n}",
                at=Point(rng.uniform(0, 100), rng.uniform(0, 100)),
                window=Window(start, start + rng.choice((10, 60, 480))),
                duration=rng.choice((20, 45, 90)),
            )
            found = best_insertion(route, booked, euclidean, depot)
            if found is not None:
                route = found.route
        start = rng.uniform(0, 420)
        new = job(
            id=f"N{case}",
            at=Point(rng.uniform(0, 100), rng.uniform(0, 100)),
            window=Window(start, start + rng.choice((10, 60, 480))),
            duration=rng.choice((20, 45, 90)),
            tools=frozenset({"camera"}) if rng.random() < 0.3 else frozenset(),
        )
        cheap = route_precheck(route, new, euclidean, depot)
        searched = best_insertion(route, new, euclidean, depot)
        if searched is not None:
            checked += 1
            assert not isinstance(cheap, Exclusion)
            assert searched.arrival >= cheap - 1e-9  # and its arrival bound is a bound
    assert checked > 50
