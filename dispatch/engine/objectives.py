"""Weighted objectives: how good a feasible worker is for a job (lower is better).

Every objective is first put into minutes of driving it is worth (so one weight of 1.0 means
"as important as a minute of drive time"), then multiplied by the company's weight for it.
Objectives that depend only on the worker (preferred, familiarity, skill level, load) are
`static`: known before the insertion search, which lets the chooser bound a worker's score
from below and skip the search for workers who cannot make the shortlist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dispatch.company import DEFAULT_WEIGHTS
from dispatch.engine.model import Job, Route, Time, Worker, sla_penalty

DRIVE_TIME = "drive_time"
SLA_SLACK = "sla_slack"
EARLIEST = "earliest"
PREFERRED = "preferred"
EQUIPMENT_FAMILIARITY = "equipment_familiarity"
SKILL_MATCH = "skill_match"
BALANCE = "balance"
VIP_CONTRACT = "vip_contract"
PM_OVERDUE = "pm_overdue"

OBJECTIVES: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)

PREFERRED_BONUS = 30.0  # the customer's preferred technician is worth half an hour's drive
FAMILIARITY_BONUS = 20.0
LEVEL_MINUTES = 15.0  # per skill level above what the job needs
BALANCE_SHARE = 0.25  # of each booked minute above the crew's mean
VIP_FACTOR = 1.0  # VIP: every minute of delay counts once more
CONTRACT_FACTOR = 0.5
PM_WEEK_FACTOR = 0.5  # per week overdue, delay of a PM visit counts this much more ...
PM_MAX_FACTOR = 2.0  # ... up to this
# How much a minute sooner is worth by priority: all of it for an emergency, less and less
# for work whose customer expects a window, not a rush (the SLA slack still guards the SLA).
EARLIEST_BY_PRIORITY: Mapping[int, float] = {1: 1.0, 2: 0.5, 3: 0.25, 4: 0.25}


@dataclass(frozen=True, slots=True)
class Context:
    """What the objectives need to know about the whole choice, computed once per job."""

    reference: Time  # the earliest arrival that could be asked for: window start or now
    mean_load: float  # booked minutes per available worker
    loads: Mapping[str, float]  # worker id -> booked minutes


def weight(weights: Mapping[str, float], name: str) -> float:
    return weights.get(name, DEFAULT_WEIGHTS[name])


def load(route: Route) -> float:
    return sum(j.duration for j in route.jobs if j is not None)


def make_context(job: Job, routes: Sequence[Route], now: Time | None) -> Context:
    loads = {r.worker.id: load(r) for r in routes}
    working = [loads[r.worker.id] for r in routes if r.worker.available]
    mean = sum(working) / len(working) if working else 0.0
    reference = job.window.start if now is None else max(job.window.start, now)
    return Context(reference, mean, loads)


def static_factors(
    job: Job, worker: Worker, weights: Mapping[str, float], ctx: Context
) -> dict[str, float]:
    """The worker-only objectives, weighted."""
    above = sum(max(0, worker.skills.get(s, 0) - lvl) for s, lvl in job.skills.items())
    return {
        PREFERRED: -weight(weights, PREFERRED) * PREFERRED_BONUS
        if worker.id in job.preferred_workers
        else 0.0,
        EQUIPMENT_FAMILIARITY: -weight(weights, EQUIPMENT_FAMILIARITY) * FAMILIARITY_BONUS
        if worker.id in job.familiar_workers
        else 0.0,
        SKILL_MATCH: weight(weights, SKILL_MATCH) * LEVEL_MINUTES * above,
        BALANCE: weight(weights, BALANCE)
        * BALANCE_SHARE
        * (ctx.loads.get(worker.id, 0.0) - ctx.mean_load),
    }


def urgency_factors(job: Job) -> tuple[float, float]:
    """How much more each minute of delay counts for VIP/contract and overdue PM jobs."""
    vip = (VIP_FACTOR if job.vip else 0.0) + (CONTRACT_FACTOR if job.contract else 0.0)
    pm = min(PM_MAX_FACTOR, PM_WEEK_FACTOR * job.pm_overdue_days / 7.0)
    return vip, max(0.0, pm)


def dynamic_factors(
    job: Job,
    arrival: Time,
    added_travel: Time,
    weights: Mapping[str, float],
    ctx: Context,
    others_sla: Time = 0.0,
) -> dict[str, float]:
    """The objectives that depend on where the job lands in the route, weighted. The SLA
    objective adds what the insertion costs the booked jobs it pushes later (`others_sla`,
    in the same minutes as `sla_penalty`)."""
    delay = max(0.0, max(arrival, job.window.start) - ctx.reference)
    vip, pm = urgency_factors(job)
    return {
        DRIVE_TIME: weight(weights, DRIVE_TIME) * added_travel,
        SLA_SLACK: weight(weights, SLA_SLACK) * (sla_penalty(job, arrival) + others_sla),
        EARLIEST: weight(weights, EARLIEST) * EARLIEST_BY_PRIORITY.get(job.priority, 0.25) * delay,
        VIP_CONTRACT: weight(weights, VIP_CONTRACT) * vip * delay,
        PM_OVERDUE: weight(weights, PM_OVERDUE) * pm * delay,
    }


def bounds_hold(weights: Mapping[str, float]) -> bool:
    """Whether `lower_bound` is one: every weight non-negative."""
    return all(weight(weights, name) >= 0.0 for name in OBJECTIVES)


def lower_bound(
    job: Job, soonest_arrival: Time, weights: Mapping[str, float], ctx: Context
) -> float:
    """The least the position-dependent objectives can add: each grows with the arrival and
    the added travel, so take the soonest arrival and no extra driving."""
    return sum(dynamic_factors(job, soonest_arrival, 0.0, weights, ctx).values())


def ordered(factors: Mapping[str, float]) -> dict[str, float]:
    """Factors in the fixed `OBJECTIVES` order, for stable display."""
    return {name: factors[name] for name in OBJECTIVES if name in factors}
