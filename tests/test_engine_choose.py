"""Choosing a technician: ranking by weighted objectives, explanations, and offer-or-flag."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from dispatch.company import DEFAULT_WEIGHTS, AutoAssign
from dispatch.engine.choose import (
    REASONS,
    AutoAssignPolicy,
    Decision,
    choose,
    decide,
    place,
)
from dispatch.engine.model import Explanation, Job, Point, Route, Window, Worker
from dispatch.engine.objectives import OBJECTIVES
from dispatch.engine.routing import Insertion
from dispatch.engine.travel import euclidean

SHIFT = Window(0, 600)
NO_WEIGHTS = dict.fromkeys(OBJECTIVES, 0.0)


def worker(ident: str, x: float = 0.0, **kw: Any) -> Worker:
    home = Point(x, 0)
    return replace(Worker(id=ident, start=home, end=home, shift=SHIFT, skills={"hvac": 1}), **kw)


def job(**kw: Any) -> Job:
    base = Job(id="J1", at=Point(0, 0), window=Window(0, 600), duration=30, skills={"hvac": 1})
    return replace(base, **kw)


def run(j: Job, routes: list[Route], weights: dict[str, float], **kw: Any) -> Explanation:
    return choose(j, routes, euclidean, None, weights, **kw)


def chosen(j: Job, routes: list[Route], weights: dict[str, float]) -> str | None:
    best = run(j, routes, weights).chosen
    return best.worker_id if best is not None else None


# For each objective: W1 and W2 tie with every weight at zero (W1 wins on id); W2 is better
# on that objective alone, so weighting it must move the choice to W2.
NEAR, FAR = 5.0, 40.0
late_booking = job(id="B1", at=Point(NEAR, 0), window=Window(500, 510), duration=60)
OBJECTIVE_CASES: dict[str, tuple[Job, list[Route]]] = {
    "drive_time": (job(), [Route(worker("W1", FAR)), Route(worker("W2", NEAR))]),
    "sla_slack": (job(sla_due=20), [Route(worker("W1", FAR)), Route(worker("W2", NEAR))]),
    "earliest": (job(), [Route(worker("W1", FAR)), Route(worker("W2", NEAR))]),
    "preferred": (
        job(preferred_workers=frozenset({"W2"})),
        [Route(worker("W1", NEAR)), Route(worker("W2", NEAR))],
    ),
    "equipment_familiarity": (
        job(familiar_workers=frozenset({"W2"})),
        [Route(worker("W1", NEAR)), Route(worker("W2", NEAR))],
    ),
    "skill_match": (
        job(),
        [Route(worker("W1", NEAR, skills={"hvac": 3})), Route(worker("W2", NEAR))],
    ),
    "balance": (
        job(),
        [
            Route(worker("W1", NEAR), (replace(late_booking, at=Point(NEAR, 0)),)),
            Route(worker("W2", NEAR)),
        ],
    ),
    "vip_contract": (job(vip=True), [Route(worker("W1", FAR)), Route(worker("W2", NEAR))]),
    "pm_overdue": (
        job(pm_overdue_days=21),
        [Route(worker("W1", FAR)), Route(worker("W2", NEAR))],
    ),
}


def test_every_objective_has_a_case() -> None:
    assert set(OBJECTIVE_CASES) == set(OBJECTIVES) == set(DEFAULT_WEIGHTS)


@pytest.mark.parametrize("name", sorted(OBJECTIVE_CASES))
def test_weighting_an_objective_changes_the_choice(name: str) -> None:
    j, routes = OBJECTIVE_CASES[name]
    assert chosen(j, routes, NO_WEIGHTS) == "W1"
    assert chosen(j, routes, {**NO_WEIGHTS, name: 1.0}) == "W2"


def test_vip_weight_matters_only_for_vip_or_contract_jobs() -> None:
    routes = [Route(worker("W1", FAR)), Route(worker("W2", NEAR))]
    assert chosen(job(), routes, {**NO_WEIGHTS, "vip_contract": 1.0}) == "W1"
    assert chosen(job(contract=True), routes, {**NO_WEIGHTS, "vip_contract": 1.0}) == "W2"


def test_preferred_technician_wins_over_a_slightly_shorter_drive_with_default_weights() -> None:
    routes = [Route(worker("W1", NEAR)), Route(worker("W2", NEAR + 5))]
    assert chosen(job(), routes, dict(DEFAULT_WEIGHTS)) == "W1"
    preferred = job(preferred_workers=frozenset({"W2"}))
    assert chosen(preferred, routes, dict(DEFAULT_WEIGHTS)) == "W2"


def test_candidate_factors_add_up_to_its_score_and_name_every_objective() -> None:
    routes = [Route(worker(f"W{i}", 10.0 * i)) for i in range(1, 4)]
    explanation = run(job(sla_due=15), routes, dict(DEFAULT_WEIGHTS))
    assert explanation.chosen is not None
    for candidate in (explanation.chosen, *explanation.runners_up):
        assert list(candidate.factors) == list(OBJECTIVES)
        assert candidate.score == pytest.approx(sum(candidate.factors.values()))
    assert explanation.chosen.factors["drive_time"] == pytest.approx(20.0)


def test_explanation_keeps_three_runners_up_in_order_and_every_exclusion() -> None:
    routes = [Route(worker(f"W{i}", 5.0 * i)) for i in range(1, 7)]
    routes.append(Route(worker("X1", skills={})))
    routes.append(Route(worker("X2", available=False)))
    explanation = run(job(), routes, dict(DEFAULT_WEIGHTS))
    assert explanation.chosen is not None
    assert explanation.chosen.worker_id == "W1"
    assert [c.worker_id for c in explanation.runners_up] == ["W2", "W3", "W4"]
    assert {(e.worker_id, e.rule) for e in explanation.excluded} == {
        ("X1", "skill"),
        ("X2", "availability"),
    }
    assert explanation.reason is None


def test_equal_scores_go_to_the_lower_worker_id() -> None:
    routes = [Route(worker("W9", NEAR)), Route(worker("W3", NEAR)), Route(worker("W5", NEAR))]
    explanation = run(job(), routes, dict(DEFAULT_WEIGHTS))
    assert explanation.chosen is not None
    assert explanation.chosen.worker_id == "W3"
    assert [c.worker_id for c in explanation.runners_up] == ["W5", "W9"]


def test_declined_worker_is_skipped_with_the_declined_rule() -> None:
    routes = [Route(worker("W1", NEAR)), Route(worker("W2", FAR))]
    explanation = run(job(), routes, dict(DEFAULT_WEIGHTS), declined=frozenset({"W1"}))
    assert explanation.chosen is not None
    assert explanation.chosen.worker_id == "W2"
    assert [(e.worker_id, e.rule) for e in explanation.excluded] == [("W1", "declined")]


def test_nobody_left_after_declines_says_all_offers_declined() -> None:
    routes = [Route(worker("W1", NEAR)), Route(worker("W2", skills={}))]
    explanation = run(job(), routes, dict(DEFAULT_WEIGHTS), declined=frozenset({"W1"}))
    assert explanation.chosen is None
    assert explanation.reason == "all_offers_declined"


def test_nobody_qualified_says_no_feasible_technician() -> None:
    explanation = run(job(), [Route(worker("W1", skills={}))], dict(DEFAULT_WEIGHTS))
    assert explanation.chosen is None
    assert explanation.reason == "no_feasible_technician"


def test_arrival_is_never_before_now() -> None:
    explanation = run(job(), [Route(worker("W1", NEAR))], dict(DEFAULT_WEIGHTS), now=100)
    assert explanation.chosen is not None
    assert explanation.chosen.arrival == pytest.approx(100)
    assert explanation.chosen.factors["earliest"] == pytest.approx(0.0)


# decide: offer or flag, per the company's auto-assign rules.

POLICY = AutoAssignPolicy.from_company(AutoAssign())
ONE = [Route(worker("W1", NEAR)), Route(worker("W2", FAR)), Route(worker("W3", FAR + 5))]


def decision_for(j: Job, policy: AutoAssignPolicy = POLICY, **kw: Any) -> Decision:
    return decide(j, run(j, ONE, dict(DEFAULT_WEIGHTS), **kw), policy)


def test_policy_from_company_maps_priorities_skills_and_timeouts() -> None:
    policy = AutoAssignPolicy.from_company(AutoAssign(priorities=("P3",), skills=("hvac",)))
    assert policy.priorities == frozenset({3})
    assert policy.skills == frozenset({"hvac"})
    assert policy.timeout(1) == 3


def test_covered_job_with_a_feasible_best_is_offered_without_the_dispatcher() -> None:
    d = decision_for(job(priority=3))
    assert (d.action, d.worker_id, d.reason, d.notify_dispatcher) == ("offer", "W1", None, False)
    assert d.offer_timeout_minutes == 30
    assert [c.worker_id for c in d.suggestions] == ["W1", "W2", "W3"]


def test_p1_is_offered_at_once_and_the_dispatcher_told() -> None:
    d = decision_for(job(priority=1))
    assert (d.action, d.worker_id, d.notify_dispatcher) == ("offer", "W1", True)
    assert d.offer_timeout_minutes == 3


def test_p1_that_cannot_meet_its_sla_is_still_offered_with_the_reason() -> None:
    d = decision_for(job(priority=1, sla_due=1))
    assert (d.action, d.reason, d.notify_dispatcher) == ("offer", "sla_cannot_be_met", True)


FLAGS: dict[str, tuple[Job, dict[str, Any]]] = {
    "no_feasible_technician": (job(skills={"roofing": 1}), {}),
    "sla_cannot_be_met": (job(sla_due=1), {}),
    "vip": (job(vip=True), {}),
    "all_offers_declined": (job(), {"declined": frozenset({"W1", "W2", "W3"})}),
    "not_auto_assigned": (job(priority=1 + 4), {}),
}


@pytest.mark.parametrize("reason", sorted(FLAGS))
def test_job_outside_auto_assign_is_flagged_with_its_reason(reason: str) -> None:
    j, kw = FLAGS[reason]
    d = decision_for(j, **kw)
    assert (d.action, d.worker_id, d.reason, d.notify_dispatcher) == ("flag", None, reason, True)


def test_flag_reasons_cover_the_vocabulary() -> None:
    assert set(FLAGS) | {"intake_unclear"} == set(REASONS)


def test_unclear_intake_is_flagged_even_with_a_feasible_best() -> None:
    j = job()
    d = decide(j, run(j, ONE, dict(DEFAULT_WEIGHTS)), POLICY, intake_unclear=True)
    assert (d.action, d.reason) == ("flag", "intake_unclear")
    assert len(d.suggestions) == 3


def test_skill_outside_the_auto_assign_list_is_flagged_with_suggestions() -> None:
    policy = AutoAssignPolicy.from_company(AutoAssign(skills=("plumbing",)))
    d = decision_for(job(), policy=policy)
    assert (d.action, d.reason) == ("flag", "not_auto_assigned")
    assert d.suggestions[0].worker_id == "W1"


def test_vip_is_offered_when_the_company_allows_it() -> None:
    policy = AutoAssignPolicy.from_company(AutoAssign(exclude_vip=False))
    assert decision_for(job(vip=True), policy=policy).action == "offer"


def test_workers_skipped_by_the_lower_bound_could_not_have_made_the_shortlist() -> None:
    near = [Route(worker(f"W{i}", float(i))) for i in range(1, 5)]
    far = [Route(worker(f"W{i}", 10.0 * i)) for i in range(5, 10)]
    routes = near + far
    due = job(sla_due=20)
    explanation = run(due, routes, dict(DEFAULT_WEIGHTS))
    assert explanation.unranked  # far workers were not searched ...
    ranked = (explanation.chosen, *explanation.runners_up)
    fourth = max(c.score for c in ranked if c is not None)
    for worker_id in explanation.unranked:  # ... and each would have scored worse
        alone = run(due, [r for r in routes if r.worker.id == worker_id], dict(DEFAULT_WEIGHTS))
        assert alone.chosen is not None
        assert alone.chosen.score > fourth


def test_negative_weights_turn_the_lower_bound_off() -> None:
    routes = [Route(worker(f"W{i}", float(i))) for i in range(1, 5)]
    routes += [Route(worker(f"W{i}", 10.0 * i)) for i in range(5, 10)]
    due = job(sla_due=20)
    assert run(due, routes, dict(DEFAULT_WEIGHTS)).unranked
    explanation = run(due, routes, {**DEFAULT_WEIGHTS, "earliest": -0.1})
    assert explanation.unranked == ()
    assert len(explanation.runners_up) == 3


def test_placing_a_job_after_now_keeps_the_job_itself_in_the_route() -> None:
    j = job(window=Window(0, 600))
    found = place(j, Route(worker("W1", NEAR)), euclidean, None, now=100)
    assert isinstance(found, Insertion)
    assert found.route.jobs[found.position] is j


def test_a_sooner_arrival_is_worth_a_longer_drive_for_an_emergency_only() -> None:
    busy = job(id="B1", window=Window(0, 10), duration=300)  # W2 is here, busy until 300
    routes = [Route(worker("W1", FAR)), Route(worker("W2"), (busy,))]
    weights = {**NO_WEIGHTS, "drive_time": 1.0, "earliest": 0.5}
    assert chosen(job(priority=1), routes, weights) == "W1"  # there at 40, not at 300
    assert chosen(job(priority=3), routes, weights) == "W2"  # no 80-minute drive for it


def test_suggestions_outside_territory_rank_only_those_the_territory_kept_out() -> None:
    """Nobody in the territory: W2 and W3 only lack it and are suggested, W3 first (nearer);
    W1 lacks the skill and W4's day is full, so neither is suggested: the same answer as a
    second search over everyone, without searching W4's full day again."""
    full = Route(
        worker("W4", 1.0, territories=frozenset({"north"})),
        (job(id="B1", window=Window(0, 600), duration=590),),
    )
    routes = [
        Route(worker("W1", 1.0, skills={"plumbing": 1}, territories=frozenset({"north"}))),
        Route(worker("W2", 30.0)),
        Route(worker("W3", 10.0)),
        full,
    ]
    found = run(job(territory="north"), routes, dict(DEFAULT_WEIGHTS))
    assert found.chosen is None and found.waived == "territory"
    assert [c.worker_id for c in found.runners_up] == ["W3", "W2"]
    assert {e.worker_id: e.rule for e in found.excluded} == {
        "W1": "skill",
        "W2": "territory",
        "W3": "territory",
        "W4": "overlap",
    }
    everyone = run(job(), routes, dict(DEFAULT_WEIGHTS))
    assert [c.worker_id for c in (everyone.chosen, *everyone.runners_up) if c] == ["W3", "W2"]
    only = run(job(), routes, dict(DEFAULT_WEIGHTS), only=frozenset({"W2"}))
    assert only.chosen is not None and only.chosen.worker_id == "W2" and not only.excluded
