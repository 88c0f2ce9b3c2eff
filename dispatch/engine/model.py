"""Planning data: what the engine sees of technicians, jobs and their day plans.

The same types carry the product's days (minutes since local midnight, places as lat/lon,
travel from a great-circle estimate) and the TRSP benchmark (the instance's time units,
places as x/y, Euclidean travel), so the benchmark measures the code the product runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

Time = float  # minutes since the origin of the planning day (instance units for TRSP)


@dataclass(frozen=True, slots=True)
class Point:
    """A place: latitude/longitude in the product, x/y in the benchmark."""

    x: float
    y: float


# Travel time between two places, in the plan's time unit. The product's is great-circle
# distance × detour factor at an average speed (cached); the benchmark's is Euclidean.
TravelTime = Callable[[Point, Point], Time]


@dataclass(frozen=True, slots=True)
class Window:
    start: Time
    end: Time

    def contains(self, t: Time) -> bool:
        return self.start <= t <= self.end


@dataclass(frozen=True, slots=True)
class Worker:
    """A technician for one planning day."""

    id: str
    start: Point  # where the day starts (home, or where they are now when re-planning)
    end: Point  # where it ends (home)
    shift: Window  # leave `start` no earlier than shift.start, be back at `end` by shift.end
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level 1..3
    certifications: frozenset[str] = frozenset()  # valid on the planning day
    tools: frozenset[str] = frozenset()
    stock: Mapping[str, int] = field(default_factory=dict)  # part -> quantity in the van
    territories: frozenset[str] = frozenset()
    max_jobs: int = 1_000_000
    available: bool = True  # False: on leave, off sick, `/off`
    name: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    """A visit to plan: where, when it may start, how long, and what it demands."""

    id: str
    at: Point
    window: Window  # the arrival must fall inside it
    duration: Time
    skills: Mapping[str, int] = field(default_factory=dict)  # required skill -> minimum level
    certifications: frozenset[str] = frozenset()
    tools: frozenset[str] = frozenset()
    parts: Mapping[str, int] = field(default_factory=dict)
    territory: str | None = None  # None: any technician may go
    priority: int = 3  # 1 emergency .. 4 planned
    sla_due: Time | None = None  # arrival promised by (soft, an objective)
    required_worker: str | None = None
    excluded_workers: frozenset[str] = frozenset()
    preferred_workers: frozenset[str] = frozenset()
    familiar_workers: frozenset[str] = frozenset()  # serviced this equipment before
    vip: bool = False
    contract: bool = False
    pm_overdue_days: float = 0.0
    release: Time = 0.0  # not known (so not plannable) before this time


@dataclass(frozen=True, slots=True)
class Depot:
    """The central depot: one stop there restocks every part and makes every tool available."""

    at: Point
    window: Window


@dataclass(frozen=True, slots=True)
class Stop:
    """A planned visit in a worker's route. `job` None is the depot stop."""

    job: Job | None
    arrival: Time
    start: Time  # max(arrival, window start)
    end: Time  # start + duration


@dataclass(frozen=True, slots=True)
class Route:
    """One worker's ordered day. `fixed` leading jobs (driving to, on site) never move."""

    worker: Worker
    jobs: tuple[Job | None, ...] = ()  # None marks the depot visit
    fixed: int = 0  # how many leading entries are locked in place


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Why a worker cannot take a job: the hard rule's name and a human detail."""

    worker_id: str
    rule: str
    detail: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A feasible worker for a job with its score broken down by objective (lower is better)."""

    worker_id: str
    score: float
    factors: Mapping[str, float]  # objective name -> weighted contribution
    position: int  # where in the route the job goes
    arrival: Time
    added_travel: Time


@dataclass(frozen=True, slots=True)
class Explanation:
    """Every decision keeps this: the choice, the runners-up and the excluded."""

    job_id: str
    chosen: Candidate | None
    runners_up: tuple[Candidate, ...]
    excluded: tuple[Exclusion, ...]
    reason: str | None = None  # why nothing was chosen, or why it goes to a dispatcher
    # Passed every rule checkable without the insertion search, but could not have beaten
    # the runners-up even at best, so their day was not searched (ranked lower, not excluded).
    unranked: tuple[str, ...] = ()
    # Nobody passes every rule, and the runners-up are suggestions that break this one (a
    # dispatcher may send them anyway, as an override that names the rule).
    waived: str | None = None


SLA_MARGIN = 60.0  # minutes of slack below which an arrival starts to count as at risk
SLA_LATE_FACTOR = 3.0  # each minute past the SLA counts this much more than lost slack


def sla_penalty(job: Job, arrival: Time) -> float:
    """Minutes of lost safety margin before the job's SLA is due; lateness counts extra."""
    if job.sla_due is None:
        return 0.0
    slack = job.sla_due - arrival
    return max(0.0, SLA_MARGIN - slack) + SLA_LATE_FACTOR * max(0.0, -slack)


def prefix_min(values: Sequence[float]) -> list[float]:
    """out[i] = min(values[: i + 1]): the tightest slack up to each stop of a route."""
    return list(accumulate(values, min))


def suffix_min(values: Sequence[float]) -> list[float]:
    """out[i] = min(values[i:]): the tightest slack from each stop of a route on."""
    return list(accumulate(reversed(values), min))[::-1]
