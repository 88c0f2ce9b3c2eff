"""Dispatchers override the engine: assign, reassign, unassign, bump, cancel, approve.

The same rules as the engine apply (a violation is reported); a dispatcher may override a
violation by giving a reason, and the override and its author go in the timeline.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from dispatch.assignment import (
    Outcome,
    assign,
    day_view,
    place_later,
    unassign,
    without_job,
)
from dispatch.clock import Clock, local_time
from dispatch.engine.choose import place
from dispatch.engine.model import Exclusion
from dispatch.engine.rules import RULE_LABELS, TERRITORY
from dispatch.events import Event, JobAssigned, OfferWithdrawn
from dispatch.planning import plan_day_of
from dispatch.policies import relaxed_place
from dispatch.ports import UnitOfWork
from dispatch.sla import sla_due
from dispatch.workorder import STARTED, Status


async def assign_to(
    uow: UnitOfWork,
    clock: Clock,
    seq: int,
    tech_id: str,
    *,
    actor: str,
    channel: str,
    override: str | None = None,
) -> Outcome:
    """Put the job straight into the technician's day (no offer): `/assign`, `/reassign`,
    the board's drag and drop. Refused with the broken rule unless `override` says why.
    The technician is locked before the job, the order every booking takes."""
    now = clock.now()
    await uow.assignments.lock_technician(tech_id)
    wo = await uow.work_orders.get(seq, lock=True)
    if wo is None:
        return Outcome(False, f"No work order WO-{seq}.")
    company = await uow.company.load()
    tech = next((t for t in company.technicians if t.id == tech_id), None)
    if tech is None:
        return Outcome(False, f"No technician {tech_id}.")
    if wo.status in STARTED or wo.status not in (
        Status.NEW,
        Status.NEEDS_INFO,
        Status.READY,
        Status.OFFERED,
        Status.ASSIGNED,
        Status.ON_HOLD,
    ):
        return Outcome(False, f"{wo.number} is {wo.status}: it can't be reassigned now.")
    if wo.technician_id == tech_id and wo.status is Status.ASSIGNED:
        return Outcome(True, f"{wo.number} is already {tech.name}'s.")
    view, routes = await day_view(
        uow, clock, plan_day_of(wo, now, ZoneInfo(company.settings.timezone))
    )
    job = view.job(wo)
    if job is None:
        return Outcome(False, f"{wo.number} has no site location or category yet.")
    route = routes.get(tech_id)
    if route is not None:
        route = without_job(route, str(seq))
    placed = (
        None if route is None else place(job, route, view.travel, view.depot, now=view.now_minutes)
    )
    if isinstance(placed, Exclusion):
        later = await place_later(uow, clock, wo, view, tech_id)
        if later is not None:
            view, job, route, placed = later
    broken = placed if isinstance(placed, Exclusion) else None
    if placed is None or (broken is not None and not override):
        rule = RULE_LABELS.get(broken.rule, broken.rule) if broken else "no day plan"
        detail = f" ({broken.detail})" if broken else ""
        return Outcome(
            False, f"{tech.name} can't take {wo.number}: {rule}{detail}. Add a reason to override."
        )
    events: list[Event] = []
    if wo.status in (Status.OFFERED, Status.ASSIGNED):
        events += await unassign(
            uow, clock, wo, actor=actor, channel=channel, why=f"reassigned to {tech_id} by {actor}"
        )
    elif wo.status is not Status.READY:
        wo.transition(Status.READY, now, actor=actor, channel=channel, why="dispatcher override")
    if isinstance(placed, Exclusion) and route is not None:
        # Overridden, the job still takes its place in the day, so the technician's plan and
        # the customer's window say when: by every other rule when only the territory is
        # waived, else wherever there is room; failing both it stays unscheduled.
        at = view.now_minutes
        if placed.rule == TERRITORY:
            placed = place(replace(job, territory=None), route, view.travel, view.depot, now=at)
        if isinstance(placed, Exclusion):
            placed = relaxed_place(job, route, view.travel, view.depot, now=at) or placed
    if not isinstance(placed, Exclusion):
        await uow.assignments.set_schedule(view.schedule(placed.route))
    wo.technician_id = tech_id
    if wo.flag is not None:
        wo.clear_flag(now, actor=actor)
    why = f"assigned to {tech_id} by {actor}" + (
        f", overriding {broken.rule}: {override}" if broken else ""
    )
    wo.transition(Status.ASSIGNED, now, actor=actor, channel=channel, why=why)
    await uow.assignments.add_decision(
        seq,
        now,
        "override",
        actor,
        tech_id,
        {"override": override, "broken_rule": broken.rule if broken else None},
    )
    await uow.work_orders.save(wo)
    planned = await uow.assignments.planned(seq)
    events.append(JobAssigned(seq, tech_id, planned[0] if planned else None))
    when = ""
    if (
        planned is not None
        and planned[0].astimezone(view.zone).date() > now.astimezone(view.zone).date()
    ):
        when = f" for {local_time(planned[0], view.zone, now)}"
    return Outcome(True, f"{wo.number} assigned to {tech.name}{when}.", tuple(events))


async def unassign_job(
    uow: UnitOfWork, clock: Clock, seq: int, *, actor: str, channel: str
) -> Outcome:
    wo = await uow.work_orders.get(seq, lock=True)
    if wo is None:
        return Outcome(False, f"No work order WO-{seq}.")
    if wo.status not in (Status.OFFERED, Status.ASSIGNED):
        return Outcome(False, f"{wo.number} is {wo.status}: nobody holds it to unassign.")
    events = await unassign(
        uow, clock, wo, actor=actor, channel=channel, why=f"unassigned by {actor}"
    )
    wo.raise_flag(f"unassigned by {actor}", clock.now(), actor=actor)
    await uow.work_orders.save(wo)
    return Outcome(True, f"{wo.number} is back in the queue.", tuple(events))


async def bump(uow: UnitOfWork, clock: Clock, seq: int, *, actor: str, channel: str) -> Outcome:
    """`/bump`: make it P1 and run the emergency rule. The job goes back to the engine,
    which may offer it to the technician whose day holds it now: that technician is locked
    before the job, the order every booking takes (`_lock_holder`)."""
    await _lock_holder(uow, seq)
    wo = await uow.work_orders.get(seq, lock=True)
    if wo is None:
        return Outcome(False, f"No work order WO-{seq}.")
    if wo.status in STARTED or wo.status not in (
        Status.READY,
        Status.OFFERED,
        Status.ASSIGNED,
        Status.NEEDS_INFO,
        Status.ON_HOLD,
    ):
        return Outcome(False, f"{wo.number} is {wo.status}: too late to bump.")
    now = clock.now()
    events: list[Event] = []
    customer = await uow.company.customer(wo.customer_id)
    company = await uow.company.load()
    wo.priority = "P1"
    if customer is not None:
        wo.sla_due_at = sla_due(company, customer, "P1", wo.created_at)
    wo.record(now, "priority", f"bumped to P1 by {actor}", actor=actor, channel=channel)
    if wo.status in (Status.OFFERED, Status.ASSIGNED):
        events += await unassign(uow, clock, wo, actor=actor, channel=channel, why="bumped to P1")
    elif wo.status is not Status.READY:
        wo.transition(Status.READY, now, actor=actor, channel=channel, why="bumped to P1")
    if wo.flag is not None:
        wo.clear_flag(now, actor=actor)
    await uow.work_orders.save(wo)
    events += await assign(uow, clock, seq, actor=actor)
    return Outcome(True, f"{wo.number} is now P1.", tuple(events))


async def _lock_holder(uow: UnitOfWork, seq: int) -> None:
    """Lock the technician whose day holds the job (its live offer's, or its own), before a
    change locks the job and then books a technician. A booking of theirs holds them while
    it rewrites the planned times of the jobs in their day, this one among them: a change
    holding the job and waiting for them would deadlock with it."""
    wo = await uow.work_orders.get(seq)
    if wo is None or wo.status not in (Status.OFFERED, Status.ASSIGNED):
        return
    offer = await uow.assignments.live_offer(seq)
    holder = offer.technician_id if offer is not None else wo.technician_id
    if holder is not None:
        await uow.assignments.lock_technician(holder)


async def cancel(
    uow: UnitOfWork, clock: Clock, seq: int, *, actor: str, channel: str, why: str = ""
) -> Outcome:
    wo = await uow.work_orders.get(seq, lock=True)
    if wo is None:
        return Outcome(False, f"No work order WO-{seq}.")
    if not wo.can_become(Status.CANCELLED):
        return Outcome(False, f"{wo.number} is {wo.status}: it can't be cancelled now.")
    events: list[Event] = []
    if wo.status in (Status.OFFERED, Status.ASSIGNED):
        offer = await uow.assignments.live_offer(seq)
        if offer is not None:
            await uow.assignments.close_offer(offer.id, "withdrawn", clock.now(), "cancelled")
            events.append(OfferWithdrawn(seq, offer.technician_id, "the job was cancelled"))
    await uow.assignments.clear_schedule(seq)
    wo.transition(
        Status.CANCELLED,
        clock.now(),
        actor=actor,
        channel=channel,
        why=why or f"cancelled by {actor}",
    )
    await uow.work_orders.save(wo)
    return Outcome(True, f"{wo.number} is cancelled.", tuple(events))


async def approve(uow: UnitOfWork, clock: Clock, seq: int, *, actor: str, channel: str) -> Outcome:
    """`/approve`: accept the engine's suggestion for a flagged job (assign its best pick)."""
    decision = await uow.assignments.latest_decision(seq) or {}
    chosen = decision.get("chosen")
    if chosen:
        return await assign_to(
            uow, clock, seq, str(chosen["technician"]), actor=actor, channel=channel
        )
    waived = decision.get("waived")
    suggested = decision.get("runners_up") or []
    if waived and suggested:  # nobody fits every rule: approving is the override
        label = RULE_LABELS.get(str(waived), str(waived))
        return await assign_to(
            uow,
            clock,
            seq,
            str(suggested[0]["technician"]),
            actor=actor,
            channel=channel,
            override=f"approved the engine's suggestion ({label})",
        )
    return Outcome(False, f"There is no suggestion for WO-{seq} to approve.")
