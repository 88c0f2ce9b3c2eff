"""Choosing a technician for one job, and deciding whether to offer it or ask a dispatcher.

`choose` checks every worker against the hard rules (cheap worker rules first, the insertion
search last), scores the feasible ones by the weighted objectives and keeps the explanation:
the choice, up to three runners-up with each factor, and every exclusion with its rule.
`decide` applies the company's auto-assign policy to that explanation (product spec §5).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from dispatch.company import AutoAssign
from dispatch.engine import objectives as obj
from dispatch.engine.model import (
    Candidate,
    Depot,
    Exclusion,
    Explanation,
    Job,
    Route,
    Time,
    TravelTime,
    Window,
)
from dispatch.engine.routing import Insertion
from dispatch.engine.rules import (
    DECLINED,
    TERRITORY,
    route_insertion,
    route_precheck,
    route_rules,
    static_exclusion,
)

RUNNERS_UP = 3

NO_FEASIBLE_TECHNICIAN = "no_feasible_technician"
SLA_CANNOT_BE_MET = "sla_cannot_be_met"
VIP = "vip"
ALL_OFFERS_DECLINED = "all_offers_declined"
INTAKE_UNCLEAR = "intake_unclear"
NOT_AUTO_ASSIGNED = "not_auto_assigned"

REASONS: tuple[str, ...] = (
    NO_FEASIBLE_TECHNICIAN,
    SLA_CANNOT_BE_MET,
    VIP,
    ALL_OFFERS_DECLINED,
    INTAKE_UNCLEAR,
    NOT_AUTO_ASSIGNED,
)


def effective_job(job: Job, now: Time | None) -> Job:
    """The job as it can still be planned: no arrival before `now`."""
    if now is None or now <= job.window.start:
        return job
    return replace(job, window=Window(now, job.window.end))


def place(
    job: Job,
    route: Route,
    travel: TravelTime,
    depot: Depot | None,
    *,
    now: Time | None = None,
    least_late: bool = False,
) -> Insertion | Exclusion:
    """Where the job goes in this worker's route (worker rules and route rules), or why not.

    The caller uses it to apply a choice: the insertion's route is the worker's new day.
    `least_late`: see `best_insertion`."""
    planned = effective_job(job, now)
    excluded = static_exclusion(route.worker, planned, route)
    if excluded is not None:
        return excluded
    found = route_rules(route, planned, travel, depot, now=now, least_late=least_late)
    if isinstance(found, Exclusion) or planned is job:
        return found
    return replace(found, route=with_job_at(found.route, found.position, job))


def with_job_at(route: Route, position: int, job: Job) -> Route:
    """The route with `job` itself at `position`, where the search placed a narrowed copy."""
    jobs = list(route.jobs)
    jobs[position] = job
    return Route(route.worker, tuple(jobs), route.fixed)


def choose(
    job: Job,
    routes: Sequence[Route],
    travel: TravelTime,
    depot: Depot | None,
    weights: Mapping[str, float],
    *,
    now: Time | None = None,
    declined: frozenset[str] = frozenset(),
    only: frozenset[str] | None = None,
) -> Explanation:
    """Rank every worker for the job (not yet in any route); ties go to the lower worker id.
    `only`: rank just these workers (the others still count in the context, e.g. fairness).

    Cheap rules run for everyone. The insertion search then runs best-first by a lower bound
    on the score (the worker-only objectives are exact; drive time is at least zero; the
    arrival no sooner than driving straight from the start of the day, nor than the first
    gap in booked work that could hold the job), and stops once no bound can beat the
    runners-up: those workers are `unranked`. Travel must be a metric."""
    planned = effective_job(job, now)
    ctx = obj.make_context(planned, routes, now)
    excluded: list[Exclusion] = []
    pending: list[tuple[float, str, Route, dict[str, float]]] = []
    for route in routes:
        worker = route.worker
        if only is not None and worker.id not in only:
            continue
        if worker.id in declined:
            excluded.append(Exclusion(worker.id, DECLINED, "declined this job"))
            continue
        rejected = static_exclusion(worker, planned, route)
        if rejected is not None:
            excluded.append(rejected)
            continue
        soonest = route_precheck(route, planned, travel, depot, now=now)
        if isinstance(soonest, Exclusion):
            excluded.append(soonest)
            continue
        if now is not None and soonest < now:
            soonest = now
        static = obj.static_factors(planned, worker, weights, ctx)
        bound = sum(static.values()) + obj.lower_bound(planned, soonest, weights, ctx)
        pending.append((bound, worker.id, route, static))
    pending.sort(key=lambda p: (p[0], p[1]))
    prune = obj.bounds_hold(weights)
    keep = 1 + RUNNERS_UP
    best_scores: list[float] = []  # the `keep` lowest so far, ascending
    candidates: list[Candidate] = []
    unranked: list[str] = []
    for bound, worker_id, route, static in pending:
        if prune and len(best_scores) == keep and bound > best_scores[-1]:
            unranked.append(worker_id)
            continue
        found = route_insertion(route, planned, travel, depot)
        if isinstance(found, Exclusion):
            excluded.append(found)
            continue
        # The routes start their day at shift start; no one arrives before `now` though.
        arrival = found.arrival if now is None else max(found.arrival, now)
        factors = dict(static)
        factors.update(
            obj.dynamic_factors(
                planned, arrival, found.added_travel, weights, ctx, found.others_sla
            )
        )
        factors = obj.ordered(factors)
        score = sum(factors.values())
        insort(best_scores, score)
        del best_scores[keep:]
        candidates.append(
            Candidate(worker_id, score, factors, found.position, arrival, found.added_travel)
        )
    candidates.sort(key=lambda c: (c.score, c.worker_id))
    excluded.sort(key=lambda e: e.worker_id)
    reason = None
    if not candidates:
        declined_any = any(e.rule == DECLINED for e in excluded)
        reason = ALL_OFFERS_DECLINED if declined_any else NO_FEASIBLE_TECHNICIAN
        if any(e.rule == TERRITORY for e in excluded):
            return _outside_territory(
                job, routes, travel, depot, weights, now, declined, tuple(excluded), reason
            )
    return Explanation(
        job.id,
        candidates[0] if candidates else None,
        tuple(candidates[1:keep]),
        tuple(excluded),
        reason,
        tuple(sorted(unranked)),
    )


def _outside_territory(
    job: Job,
    routes: Sequence[Route],
    travel: TravelTime,
    depot: Depot | None,
    weights: Mapping[str, float],
    now: Time | None,
    declined: frozenset[str],
    excluded: tuple[Exclusion, ...],
    reason: str,
) -> Explanation:
    """Nobody who covers the job's territory can take it (or all who could declined): rank
    everyone else who has not declined by the same rules and objectives with only the
    territory waived, as suggestions for a dispatcher. Nothing is chosen, so nothing is
    offered without a person deciding. Only those the territory excluded are ranked again:
    no other rule reads the territory, so everyone else would be excluded again, by the same
    rule, after the same insertion search (the costly part, on a full day)."""
    stretch = choose(
        replace(job, territory=None),
        routes,
        travel,
        depot,
        weights,
        now=now,
        declined=declined,
        only=frozenset(e.worker_id for e in excluded if e.rule == TERRITORY),
    )
    top = ((stretch.chosen,) if stretch.chosen is not None else ()) + stretch.runners_up
    return Explanation(
        job.id,
        None,
        top[:RUNNERS_UP],
        excluded,
        reason,
        waived=TERRITORY if top else None,
    )


@dataclass(frozen=True, slots=True)
class AutoAssignPolicy:
    """Which jobs the engine may offer without a dispatcher (company file `auto_assign`)."""

    priorities: frozenset[int] = frozenset({2, 3, 4})
    skills: frozenset[str] | None = None  # None: every skill
    exclude_vip: bool = True
    offer_timeout_minutes: Mapping[int, int] | None = None  # priority -> minutes

    @classmethod
    def from_company(cls, auto: AutoAssign) -> AutoAssignPolicy:
        return cls(
            priorities=frozenset(_priority_number(p) for p in auto.priorities),
            skills=None if auto.skills is None else frozenset(auto.skills),
            exclude_vip=auto.exclude_vip,
            offer_timeout_minutes={
                _priority_number(p): m for p, m in auto.offer_timeout_minutes.items()
            },
        )

    def covers(self, job: Job) -> bool:
        if job.priority not in self.priorities:
            return False
        return self.skills is None or set(job.skills) <= self.skills

    def timeout(self, priority: int) -> int | None:
        if self.offer_timeout_minutes is None:
            return None
        return self.offer_timeout_minutes.get(priority)


def _priority_number(priority_id: str) -> int:
    return int(priority_id.removeprefix("P"))


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a job now: offer it to a worker, or flag it to the dispatchers."""

    job_id: str
    action: Literal["offer", "flag"]
    worker_id: str | None
    reason: str | None  # one of `REASONS`; set on every flag, and on a late P1 offer
    suggestions: tuple[Candidate, ...]  # the top three, best first
    notify_dispatcher: bool
    offer_timeout_minutes: int | None = None


def late(job: Job, candidate: Candidate) -> bool:
    return job.sla_due is not None and candidate.arrival > job.sla_due


def decide(
    job: Job,
    explanation: Explanation,
    policy: AutoAssignPolicy,
    *,
    intake_unclear: bool = False,
) -> Decision:
    """Offer or flag, per §5: auto-assign what the policy covers; P1 is offered at once and
    the dispatcher told; everything else goes to a dispatcher with the top three."""
    best = explanation.chosen
    top = ((best,) if best is not None else ()) + explanation.runners_up
    suggestions = top[:RUNNERS_UP]

    def flag(reason: str) -> Decision:
        return Decision(job.id, "flag", None, reason, suggestions, True)

    if intake_unclear:
        return flag(INTAKE_UNCLEAR)
    if best is None:
        return flag(explanation.reason or NO_FEASIBLE_TECHNICIAN)
    if job.priority == 1:
        reason = SLA_CANNOT_BE_MET if late(job, best) else None
        return Decision(
            job.id, "offer", best.worker_id, reason, suggestions, True, policy.timeout(1)
        )
    if late(job, best):
        return flag(SLA_CANNOT_BE_MET)
    if job.vip and policy.exclude_vip:
        return flag(VIP)
    if not policy.covers(job):
        return flag(NOT_AUTO_ASSIGNED)
    return Decision(
        job.id, "offer", best.worker_id, None, suggestions, False, policy.timeout(job.priority)
    )
