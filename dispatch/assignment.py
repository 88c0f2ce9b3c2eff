"""Assignment as the product runs it: choose, offer or flag, accept, decline, expire, bump.

Each service takes the unit of work, changes work orders and offers, and returns the events
the bot turns into messages in the same transaction. The caller commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dispatch import policies
from dispatch.clock import Clock, local_time
from dispatch.engine.adapt import point
from dispatch.engine.bump import needs_bump, plan_bump
from dispatch.engine.choose import (
    ALL_OFFERS_DECLINED,
    NO_FEASIBLE_TECHNICIAN,
    AutoAssignPolicy,
    decide,
    place,
)
from dispatch.engine.model import Candidate, Exclusion, Explanation, Job, Route
from dispatch.engine.routing import Insertion
from dispatch.engine.rules import LASTING_RULES, RULE_LABELS, day_full
from dispatch.engine.travel import MatrixTravel
from dispatch.events import (
    Event,
    JobAssigned,
    JobFlagged,
    JobUnassigned,
    OfferMade,
    OfferWithdrawn,
    WindowMoved,
)
from dispatch.planning import DAY_MINUTES, Booking, DayView, plan_day_of
from dispatch.ports import UnitOfWork
from dispatch.workorder import Status, WorkOrder

DEFAULT_TIMEOUT_MINUTES = 30
MAX_RETRIES = 5  # re-choices when a concurrent booking took the chosen slot
LATE_YES = timedelta(minutes=1)  # the offer that stands for a yes after expiry, closed at once
LATER_DAYS = 7  # how far ahead a job nobody can take today is planned, SLA permitting


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    message: str
    events: tuple[Event, ...] = ()


async def day_view(uow: UnitOfWork, clock: Clock, day: date) -> tuple[DayView, dict[str, Route]]:
    company = await uow.company.load()
    view = DayView(company, day, clock.now())
    start = view.midnight
    bookings, done = await uow.assignments.day(start, start + timedelta(days=1))
    return view, await _routes(uow, view, bookings, done)


async def _routes(
    uow: UnitOfWork,
    view: DayView,
    bookings: tuple[Booking, ...],
    done: dict[str, int],
    only: Collection[str] | None = None,
) -> dict[str, Route]:
    """Everyone's route on the view's day (or only these technicians'), from that day's
    bookings."""
    routes = view.routes(
        bookings, unavailable=await uow.assignments.unavailable(), done_today=done, only=only
    )
    if 0 <= view.now_minutes <= DAY_MINUTES:
        routes = await _where_they_are(uow, view, routes, done)
    url = view.company.assignment.routing_url
    if url:
        points = [p for r in routes.values() for p in (r.worker.start, r.worker.end)]
        points += [point(s.location) for s in view.sites.values() if s.location is not None]
        matrix = await uow.travel.minutes(url, points)
        if matrix:
            view.travel = MatrixTravel(matrix, view.travel)
    return routes


async def _day_of(uow: UnitOfWork, view: DayView, tech: str, available: bool) -> Route | None:
    """One technician's route on the view's day, read afresh (day_view's, for one)."""
    start = view.midnight
    bookings, done = await uow.assignments.day_of(tech, start, start + timedelta(days=1))
    done_today = {tech: done} if done else {}
    routes = view.routes(
        bookings,
        unavailable=frozenset() if available else frozenset({tech}),
        done_today=done_today,
        only=(tech,),
    )
    if 0 <= view.now_minutes <= DAY_MINUTES:
        routes = await _where_they_are(uow, view, routes, done_today)
    return routes.get(tech)


async def _where_they_are(
    uow: UnitOfWork, view: DayView, routes: dict[str, Route], done: dict[str, int]
) -> dict[str, Route]:
    """Mid-day a technician sets off from the last site worked at today (the one on site
    now, or the one finished last), not from home: the day's plan starts there."""
    out = dict(routes)
    for tech_id, route in routes.items():
        if not done.get(tech_id) and not route.fixed:
            continue
        last = await uow.assignments.last_site_today(tech_id, 0, day_start=view.midnight)
        site = view.sites.get(last or "")
        if site is None or site.location is None:
            continue
        worker = replace(route.worker, start=point(site.location))
        out[tech_id] = Route(worker, route.jobs, route.fixed)
    return out


def _now_on(view: DayView) -> float | None:
    now = view.now_minutes
    return now if 0 <= now <= DAY_MINUTES else (0.0 if now < 0 else None)


async def assign(uow: UnitOfWork, clock: Clock, seq: int, *, actor: str = "engine") -> list[Event]:
    """Offer a ready job to the best technician, or flag it for a dispatcher with suggestions."""
    wo = await uow.work_orders.get(seq, lock=True)
    if wo is None or wo.status is not Status.READY:
        return []
    company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    now = clock.now()
    view, routes = await day_view(uow, clock, plan_day_of(wo, now, zone))
    job = view.job(wo)
    if job is None:
        return await _flag(uow, wo, now, "no_location: the site has no coordinates", (), actor)
    offers = await uow.assignments.offers_of(seq)
    declined = frozenset(o.technician_id for o in offers if o.status in ("declined", "expired"))
    policy = AutoAssignPolicy.from_company(company.auto_assign)
    for _ in range(MAX_RETRIES):
        expl = _explain(job, view, routes, declined)
        if expl.chosen is None:
            later = await _later_day(uow, clock, wo, view, expl, declined)
            if later is not None:
                view, routes, job, expl = later
        if expl.chosen is None and declined:
            expl = replace(expl, reason=ALL_OFFERS_DECLINED)
        engine = policies.current_name() == "engine"
        if engine and job.priority == 1 and needs_bump(job, expl):
            bumped = await _bump(uow, clock, view, routes, wo, actor, declined)
            if bumped is not None:
                return bumped
        decision = decide(job, expl, policy)
        await uow.assignments.add_decision(
            seq,
            now,
            decision.action,
            actor,
            decision.worker_id,
            {**explanation_json(expl, view), "reason": decision.reason},
        )
        if decision.action == "flag" or decision.worker_id is None:
            names = tuple(c.worker_id for c in decision.suggestions)
            reason = decision.reason or NO_FEASIBLE_TECHNICIAN
            return await _flag(uow, wo, now, reason, names, actor, waived=expl.waived)
        tech = decision.worker_id
        available = await uow.assignments.lock_technician(tech)
        # Their day afresh, now that we hold the lock; the others' as read.
        route = await _day_of(uow, view, tech, available)
        placed = None if route is None else _place(job, route, view)
        if placed is None or isinstance(placed, Exclusion):
            # Someone booked that slot meanwhile: choose again on the fresh day.
            view, routes = await day_view(uow, clock, view.day)
            continue
        starts = await _schedule(uow, view, placed.route, seq)
        timeout = decision.offer_timeout_minutes or DEFAULT_TIMEOUT_MINUTES
        expires = now + timedelta(minutes=timeout)
        await uow.assignments.create_offer(
            seq, tech, now, expires, now + timedelta(minutes=timeout / 2)
        )
        assert expl.chosen is not None
        why = why_line(expl.chosen, view)
        wo.transition(Status.OFFERED, now, actor=actor, why=f"offered to {tech}: {why}")
        await uow.work_orders.save(wo)
        told = decision.notify_dispatcher
        return [OfferMade(seq, tech, expires, why, dispatcher_told=told, starts_at=starts)]
    return await _flag(uow, wo, now, NO_FEASIBLE_TECHNICIAN, (), actor)


async def _schedule(uow: UnitOfWork, view: DayView, route: Route, seq: int) -> datetime | None:
    """Store the route's plan; the job's planned start in it (not read back)."""
    stops = view.schedule(route)
    await uow.assignments.set_schedule(stops)
    return next((s.start for s in stops if s.seq == seq), None)


def _explain(
    job: Job,
    view: DayView,
    routes: dict[str, Route],
    declined: frozenset[str],
    only: frozenset[str] | None = None,
) -> Explanation:
    return policies.current()(
        job,
        list(routes.values()),
        view.travel,
        view.depot,
        view.company.assignment.weights,
        now=_now_on(view),
        declined=declined,
        only=only,
    )


def waits_until(wo: WorkOrder, view: DayView) -> date | None:
    """The last day a job nobody can take on the view's day may be planned on instead; None
    when it cannot wait: an emergency, a job for a time the customer asked for, a P2 without
    a contract to say how long it may, or an SLA due that day."""
    if wo.priority == "P1" or wo.wants is not None:
        return None
    if wo.sla_due_at is None and wo.priority == "P2":
        return None
    last = view.day + timedelta(days=LATER_DAYS)
    if wo.sla_due_at is not None:
        last = min(last, wo.sla_due_at.astimezone(view.zone).date())
    return last if last > view.day else None


def without_job(route: Route, job_id: str) -> Route:
    """The route with that job taken out (to place it again)."""
    return Route(
        route.worker, tuple(j for j in route.jobs if j is None or j.id != job_id), route.fixed
    )


async def _later_days(
    uow: UnitOfWork, view: DayView, last: date, of: frozenset[str]
) -> list[tuple[date, tuple[Booking, ...]]]:
    """Each day after the view's, up to `last`, with its bookings (at least those of the
    technicians `of`): all of them in one read (DayView.later_days)."""
    start = view.midnight_of(view.day + timedelta(days=1))
    end = view.midnight_of(last + timedelta(days=1))
    bookings, _ = await uow.assignments.day(start, end, of=of)
    return view.later_days(bookings, last)


async def place_later(
    uow: UnitOfWork, clock: Clock, wo: WorkOrder, view: DayView, tech_id: str
) -> tuple[DayView, Job, Route, Insertion] | None:
    """A dispatcher's choice that does not fit the job's day: the first later day, as far as
    the job may wait, on which it fits that technician's day by every rule."""
    last = waits_until(wo, view)
    if last is None:
        return None
    now = clock.now()
    for day, on_day in await _later_days(uow, view, last, frozenset({tech_id})):
        later = DayView(view.company, day, now)
        routes = await _routes(uow, later, on_day, {}, only=(tech_id,))
        job, route = later.job(wo), routes.get(tech_id)
        if job is None or route is None:
            return None
        route = without_job(route, job.id)
        placed = place(job, route, later.travel, later.depot, now=_now_on(later))
        if not isinstance(placed, Exclusion):
            return later, job, route, placed
    return None


async def _later_day(
    uow: UnitOfWork,
    clock: Clock,
    wo: WorkOrder,
    view: DayView,
    expl: Explanation,
    declined: frozenset[str],
) -> tuple[DayView, dict[str, Route], Job, Explanation] | None:
    """Nobody can take the job on its day (`expl`), but it can wait: the first later day,
    up to the day its SLA falls due (a week for a job without one), on which someone can.
    An emergency never waits (it is flagged or bumps other work), nor a P2 without a
    contract to say how long it may, nor a job whose customer asked for a time. Only those
    kept out by a rule that may read differently another day are ranked there."""
    last = waits_until(wo, view)
    waiting = frozenset(e.worker_id for e in expl.excluded if e.rule not in LASTING_RULES)
    if last is None or not waiting:
        return None
    now = clock.now()
    limits = {t.id: t.max_jobs_per_day for t in view.company.technicians}
    lasting = tuple(e for e in expl.excluded if e.worker_id not in waiting)
    for day, on_day in await _later_days(uow, view, last, waiting):
        # A day full to everyone's maximum is passed over without planning it.
        booked = Counter(b.technician_id for b in on_day)
        full = tuple(
            day_full(t, booked[t], limits[t]) for t in sorted(waiting) if booked[t] >= limits[t]
        )
        if len(full) == len(waiting):
            continue
        later = DayView(view.company, day, now)
        only = waiting - {e.worker_id for e in full}
        routes = await _routes(uow, later, on_day, {}, only=only)
        job = later.job(wo)
        if job is None:
            return None
        found = _explain(job, later, routes, declined, only)
        if found.chosen is not None:
            excluded = sorted((*found.excluded, *full, *lasting), key=lambda e: e.worker_id)
            return later, routes, job, replace(found, excluded=tuple(excluded))
    return None


def _place(job: Job, route: Route, view: DayView, *, taken: bool = False) -> Insertion | Exclusion:
    """Where the job goes in this technician's day under the policy in force. The offer and
    the acceptance must ask the same question: a baseline that offered a job under its own
    looser rules, then checked the yes against the engine's, would withdraw and re-offer the
    job to the same technician until they said no. `taken`: the technician said yes, and a
    job late wherever it goes goes where it is least late (`best_insertion`)."""
    if policies.current_name() == "engine":
        return place(job, route, view.travel, view.depot, now=_now_on(view), least_late=taken)
    found = policies.relaxed_place(job, route, view.travel, view.depot, now=_now_on(view))
    return found if found is not None else Exclusion(route.worker.id, "overlap", "no room")


async def _flag(
    uow: UnitOfWork,
    wo: WorkOrder,
    now: Any,
    reason: str,
    suggestions: tuple[str, ...],
    actor: str,
    *,
    waived: str | None = None,
) -> list[Event]:
    label = "suggestions" + (f" {RULE_LABELS.get(waived, waived)}" if waived else "")
    text = reason + (f"; {label}: {', '.join(suggestions)}" if suggestions else "")
    wo.raise_flag(text, now, actor=actor)
    await uow.work_orders.save(wo)
    return [JobFlagged(wo.seq, reason, suggestions, waived)]


async def accept(uow: UnitOfWork, clock: Clock, seq: int, tech_id: str, *, channel: str) -> Outcome:
    """The technician takes the offer. Exactly one acceptance can win: the technician's row
    lock, then the work order's, serialize racing replies across processes. The technician
    first, as every booking takes them: a booking of theirs holds them while it rewrites
    the planned times of the jobs in their day, this offered one among them."""
    now = clock.now()
    await uow.assignments.lock_technician(tech_id)
    wo = await uow.work_orders.get(seq, lock=True)
    offer = await uow.assignments.live_offer(seq)
    number = f"WO-{seq}"
    first: list[Event] = []
    if (
        wo is not None
        and offer is not None
        and offer.technician_id != tech_id
        and await _expired_for(uow, wo, tech_id)
    ):
        # Their offer expired and went on to the next candidate, who has not answered yet:
        # a yes in hand beats an offer still open, so the job comes back for this yes.
        other = offer.technician_id
        await uow.assignments.close_offer(offer.id, "withdrawn", now, f"{tech_id} said yes first")
        await uow.assignments.clear_schedule(seq)
        wo.transition(Status.READY, now, why=f"{tech_id} answered the expired offer first")
        first.append(OfferWithdrawn(seq, other, "another technician took it"))
        offer = None
    if wo is not None and offer is None and await _late_yes(uow, wo, tech_id):
        # Their offer expired and nobody took the job since: the first yes still counts.
        offer = await uow.assignments.create_offer(seq, tech_id, now, now + LATE_YES, now)
        wo.transition(Status.OFFERED, now, why=f"{tech_id} answered the expired offer")
    if wo is None or offer is None or offer.technician_id != tech_id:
        return Outcome(False, f"{number} is not offered to you (any more).")
    if offer.expires_at <= now:
        events = await _expire(uow, clock, offer.id, wo)
        return Outcome(
            False, f"The offer for {number} expired, so it went to someone else.", tuple(events)
        )
    company = await uow.company.load()
    view, routes = await day_view(
        uow, clock, await _offered_day(uow, wo, now, ZoneInfo(company.settings.timezone))
    )
    job = view.job(wo)
    route = routes[tech_id]
    without = without_job(route, str(seq))
    placed = None if job is None else _place(job, without, view, taken=True)
    if placed is None or isinstance(placed, Exclusion):
        await uow.assignments.close_offer(offer.id, "withdrawn", now, "no longer fits the day")
        wo.transition(
            Status.READY,
            now,
            actor=f"technician:{tech_id}",
            channel=channel,
            why="the offer no longer fits the technician's day",
        )
        await uow.work_orders.save(wo)
        events = [*first, *await assign(uow, clock, seq)]
        return Outcome(
            False, f"{number} no longer fits your day, so it went back to dispatch.", tuple(events)
        )
    await uow.assignments.close_offer(offer.id, "accepted", now, None)
    starts = await _schedule(uow, view, placed.route, seq)
    wo.technician_id = tech_id
    if wo.flag is not None:
        wo.clear_flag(now)
    wo.transition(
        Status.ASSIGNED, now, actor=f"technician:{tech_id}", channel=channel, why="offer accepted"
    )
    await uow.work_orders.save(wo)
    assigned = JobAssigned(seq, tech_id, starts)
    return Outcome(True, f"{number} is yours.", (*first, assigned))


async def _offered_day(uow: UnitOfWork, wo: WorkOrder, now: datetime, zone: ZoneInfo) -> date:
    """The day the job was offered for: where the offer placed it (a later day when nobody
    could take it on its own), else the day it is planned on."""
    day = plan_day_of(wo, now, zone)
    planned = await uow.assignments.planned(wo.seq)
    return day if planned is None else max(day, planned[0].astimezone(zone).date())


async def _late_yes(uow: UnitOfWork, wo: WorkOrder, tech_id: str) -> bool:
    """A yes after the offer expired still takes the job when nobody holds it: it went back
    to the queue (every candidate silent or declined), or on to a candidate who has not
    answered (that offer is withdrawn first), rather than to someone who took it."""
    return wo.status is Status.READY and await _expired_for(uow, wo, tech_id)


async def _expired_for(uow: UnitOfWork, wo: WorkOrder, tech_id: str) -> bool:
    """Whether this technician's last offer of the job expired unanswered."""
    mine = [o for o in await uow.assignments.offers_of(wo.seq) if o.technician_id == tech_id]
    return bool(mine) and max(mine, key=lambda o: o.id).status == "expired"


async def decline(
    uow: UnitOfWork, clock: Clock, seq: int, tech_id: str, reason: str, *, channel: str
) -> Outcome:
    now = clock.now()
    wo = await uow.work_orders.get(seq, lock=True)
    offer = await uow.assignments.live_offer(seq)
    if wo is None or offer is None or offer.technician_id != tech_id:
        return Outcome(False, f"WO-{seq} is not offered to you (any more).")
    await uow.assignments.close_offer(offer.id, "declined", now, reason or None)
    await uow.assignments.clear_schedule(seq)
    wo.transition(
        Status.READY,
        now,
        actor=f"technician:{tech_id}",
        channel=channel,
        why=f"declined by {tech_id}" + (f": {reason}" if reason else ""),
    )
    await uow.work_orders.save(wo)
    events = await assign(uow, clock, seq)
    return Outcome(True, f"Declined WO-{seq}. Thanks for letting us know.", tuple(events))


async def expire_due_offers(uow: UnitOfWork, clock: Clock, *, limit: int = 50) -> list[Event]:
    """The sweep: live offers past their expiry go to the next candidate."""
    events: list[Event] = []
    for offer_id, seq in await uow.assignments.due_offers(clock.now(), limit):
        events += await expire_offer(uow, clock, offer_id, seq)
    return events


async def expire_offer(uow: UnitOfWork, clock: Clock, offer_id: int, seq: int) -> list[Event]:
    """Expire one offer found due, if it is still the job's live offer: handling an earlier
    one in the same sweep can have moved this job (an emergency bump withdraws and re-offers
    it), and expiring the old offer then would undo the new one."""
    wo = await uow.work_orders.get(seq, lock=True)
    if wo is None:
        return []
    return await _expire(uow, clock, offer_id, wo)


async def _expire(uow: UnitOfWork, clock: Clock, offer_id: int, wo: WorkOrder) -> list[Event]:
    now = clock.now()
    offers = [o for o in await uow.assignments.offers_of(wo.seq) if o.id == offer_id]
    if not offers or offers[0].status != "live":
        return []  # answered, withdrawn or replaced since it was found due
    await uow.assignments.close_offer(offer_id, "expired", now, "no answer in time")
    tech = offers[0].technician_id
    if wo.status is not Status.OFFERED:
        return []  # a live offer on a job nobody offers any more: closed, nothing else to do
    await uow.assignments.clear_schedule(wo.seq)
    wo.transition(Status.READY, now, why=f"offer to {tech} expired unanswered")
    await uow.work_orders.save(wo)
    return [OfferWithdrawn(wo.seq, tech, "no answer in time"), *await assign(uow, clock, wo.seq)]


async def unassign(
    uow: UnitOfWork, clock: Clock, wo: WorkOrder, *, actor: str, why: str, channel: str = "system"
) -> list[Event]:
    """Take a job off whoever holds it (offer or assignment); it goes back to ready."""
    now = clock.now()
    events: list[Event] = []
    offer = await uow.assignments.live_offer(wo.seq)
    if offer is not None:
        await uow.assignments.close_offer(offer.id, "withdrawn", now, why)
        events.append(OfferWithdrawn(wo.seq, offer.technician_id, why))
    if wo.technician_id is not None:
        events.append(JobUnassigned(wo.seq, wo.technician_id, why))
        wo.technician_id = None
    await uow.assignments.clear_schedule(wo.seq)
    if wo.status is not Status.READY:
        wo.transition(Status.READY, now, actor=actor, channel=channel, why=why)
    await uow.work_orders.save(wo)
    return events


async def _bump(
    uow: UnitOfWork,
    clock: Clock,
    view: DayView,
    routes: dict[str, Route],
    wo: WorkOrder,
    actor: str,
    declined: frozenset[str],
) -> list[Event] | None:
    """§5 emergency bump: the P1 takes the place of lower-priority work where that costs
    least; the displaced jobs are re-planned and their customers told the new window."""
    job = view.job(wo)
    if job is None:
        return None
    company = view.company
    plan = plan_bump(
        job,
        list(routes.values()),
        view.travel,
        view.depot,
        company.assignment.weights,
        now=_now_on(view),
        declined=declined,
    )
    if plan is None:
        return None
    now = clock.now()
    events: list[Event] = []
    displaced: list[WorkOrder] = []
    # The technician first, then their jobs: the order every booking takes (assign locks the
    # technician, then rewrites the planned times of the jobs in their day). Locking the
    # displaced jobs first made a cycle with a booking of the same technician: it held them
    # and waited for the technician, the booking held the technician and waited for them.
    await uow.assignments.lock_technician(plan.worker_id)
    for moved in plan.displaced:
        other = await uow.work_orders.get(int(moved.id), lock=True)
        if other is None:
            continue
        events += await unassign(uow, clock, other, actor=actor, why=f"bumped for {wo.number}")
        displaced.append(other)
    await uow.assignments.add_decision(
        wo.seq,
        now,
        "bump",
        actor,
        plan.worker_id,
        {
            "displaced": [d.number for d in displaced],
            "moved": [
                {"job": m.job_id, "from": m.from_worker, "to": m.to_worker, "why": m.reason}
                for m in plan.moved
            ],
        },
    )
    wo.record(
        now,
        "bump",
        f"emergency bump: {plan.worker_id} drops " + ", ".join(d.number for d in displaced),
        actor=actor,
    )
    await uow.work_orders.save(wo)
    events += await offer_to(uow, clock, wo, plan.worker_id, actor, "emergency bump")
    for other in displaced:
        events += await assign(uow, clock, other.seq, actor=actor)
        planned = await uow.assignments.planned(other.seq)
        if planned is not None:
            events.append(WindowMoved(other.seq, planned[0], planned[1]))
    return events


async def offer_to(
    uow: UnitOfWork, clock: Clock, wo: WorkOrder, tech: str, actor: str, why: str
) -> list[Event]:
    """Offer straight to one technician (bump, dispatcher's choice), planning it in their day."""
    now = clock.now()
    company = await uow.company.load()
    await uow.assignments.lock_technician(tech)
    view, routes = await day_view(
        uow, clock, plan_day_of(wo, now, ZoneInfo(company.settings.timezone))
    )
    job = view.job(wo)
    if job is not None and tech in routes:
        placed = place(job, routes[tech], view.travel, view.depot, now=_now_on(view))
        if not isinstance(placed, Exclusion):
            await uow.assignments.set_schedule(view.schedule(placed.route))
    policy = AutoAssignPolicy.from_company(company.auto_assign)
    timeout = policy.timeout(int(wo.priority.removeprefix("P"))) or DEFAULT_TIMEOUT_MINUTES
    expires = now + timedelta(minutes=timeout)
    await uow.assignments.create_offer(
        wo.seq, tech, now, expires, now + timedelta(minutes=timeout / 2)
    )
    wo.transition(Status.OFFERED, now, actor=actor, why=f"offered to {tech}: {why}")
    await uow.work_orders.save(wo)
    return [OfferMade(wo.seq, tech, expires, why, dispatcher_told=wo.priority == "P1")]


def why_line(c: Candidate, view: DayView) -> str:
    """One line for the offer card: why this technician."""
    arrival = local_time(view.instant(c.arrival), view.zone, view.now)
    parts = [f"{c.added_travel:.0f} min extra drive", f"can be there {arrival}"]
    if c.factors.get("preferred", 0) < 0:
        parts.append("the customer's preferred technician")
    if c.factors.get("equipment_familiarity", 0) < 0:
        parts.append("knows this equipment")
    return ", ".join(parts)


def explanation_json(expl: Explanation, view: DayView) -> dict[str, Any]:
    def cand(c: Candidate) -> dict[str, Any]:
        return {
            "technician": c.worker_id,
            "score": round(c.score, 2),
            "arrival": view.instant(c.arrival).isoformat(),
            "added_travel_minutes": round(c.added_travel, 1),
            "factors": {k: round(v, 2) for k, v in c.factors.items()},
        }

    return {
        "chosen": None if expl.chosen is None else cand(expl.chosen),
        "runners_up": [cand(c) for c in expl.runners_up],
        "excluded": [
            {"technician": e.worker_id, "rule": e.rule, "detail": e.detail} for e in expl.excluded
        ],
        "unranked": list(expl.unranked),
        "why_none": expl.reason,
        "waived": expl.waived,
    }
