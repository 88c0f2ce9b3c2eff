"""When the day changes: a technician goes home sick, runs late, or a job is cancelled.

Jobs being driven to or worked on never move. The technician's other jobs keep their order
while they still fit; those that no longer fit go back to the engine (another technician or
a dispatcher), and every customer whose visit moved is told the new window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.assignment import assign, day_view, unassign
from dispatch.clock import Clock
from dispatch.engine.model import Route
from dispatch.engine.routing import evaluate
from dispatch.events import Event, WindowMoved
from dispatch.ports import UnitOfWork
from dispatch.workorder import HELD, STARTED, Status

NOTICE_MINUTES = 15  # customers hear of a move larger than this
Planned = tuple[datetime, datetime] | None


async def report_sick(
    uow: UnitOfWork, clock: Clock, tech_id: str, *, actor: str, note: str = ""
) -> list[Event]:
    """The technician is off for the rest of the day: their unstarted jobs are re-planned."""
    await uow.assignments.lock_technician(tech_id)
    await uow.assignments.set_available(tech_id, False)
    why = f"{tech_id} is off sick" + (f" ({note})" if note else "")
    return await _release_unstarted(uow, clock, tech_id, actor=actor, why=why)


async def report_off(uow: UnitOfWork, clock: Clock, tech_id: str, *, actor: str) -> list[Event]:
    """`/off`: like sick, said by the technician; `/on` makes them available again."""
    await uow.assignments.lock_technician(tech_id)
    await uow.assignments.set_available(tech_id, False)
    return await _release_unstarted(uow, clock, tech_id, actor=actor, why=f"{tech_id} is off")


async def _release_unstarted(
    uow: UnitOfWork, clock: Clock, tech_id: str, *, actor: str, why: str
) -> list[Event]:
    company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    _, routes = await day_view(uow, clock, clock.now().astimezone(zone).date())
    route = routes.get(tech_id)
    if route is None:
        return []
    events: list[Event] = []
    released = []
    for job in route.jobs[route.fixed :]:
        if job is None:
            continue
        wo = await uow.work_orders.get(int(job.id), lock=True)
        if wo is None or wo.status in STARTED:
            continue
        before = await uow.assignments.planned(wo.seq)
        events += await unassign(uow, clock, wo, actor=actor, why=why)
        released.append((wo.seq, before))
    for seq, before in released:
        events += await assign(uow, clock, seq, actor=actor)
        events += await _moved(uow, seq, before)
    return events


async def report_late(
    uow: UnitOfWork, clock: Clock, tech_id: str, minutes: int, *, actor: str
) -> list[Event]:
    """The technician's current (or next) job runs `minutes` longer: later jobs shift, and
    those that no longer fit their windows or the shift go back to the engine."""
    await uow.assignments.lock_technician(tech_id)
    company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    _, routes = await day_view(uow, clock, clock.now().astimezone(zone).date())
    route = routes.get(tech_id)
    first = next((j for j in route.jobs if j is not None), None) if route else None
    if route is None or first is None:
        return []
    wo = await uow.work_orders.get(int(first.id), lock=True)
    assert wo is not None
    wo.extra_minutes += minutes
    wo.record(clock.now(), "late", f"running {minutes} min late", actor=actor)
    await uow.work_orders.save(wo)
    return await refit(uow, clock, tech_id, actor=actor, why=f"{tech_id} is running late")


async def refit(
    uow: UnitOfWork, clock: Clock, tech_id: str, *, actor: str, why: str
) -> list[Event]:
    """Re-time one technician's day; drop from the end what no longer fits."""
    company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    view, routes = await day_view(uow, clock, clock.now().astimezone(zone).date())
    route = routes.get(tech_id)
    if route is None:
        return []
    before = {int(j.id): await uow.assignments.planned(int(j.id)) for j in route.jobs if j}
    jobs = list(route.jobs)
    dropped: list[int] = []
    while (
        len(jobs) > route.fixed
        and evaluate(Route(route.worker, tuple(jobs), route.fixed), view.travel, view.depot) is None
    ):
        last = jobs.pop()
        if last is not None:
            dropped.append(int(last.id))
    kept = Route(route.worker, tuple(jobs), route.fixed)
    await uow.assignments.set_schedule(view.schedule(kept))
    events: list[Event] = []
    for seq in dropped:
        wo = await uow.work_orders.get(seq, lock=True)
        if wo is not None and wo.status in HELD | {Status.OFFERED}:
            events += await unassign(uow, clock, wo, actor=actor, why=why)
    for seq in dropped:
        events += await assign(uow, clock, seq, actor=actor)
    for seq, was in before.items():
        events += await _moved(uow, seq, was)
    return events


async def _moved(uow: UnitOfWork, seq: int, before: Planned) -> list[Event]:
    """A customer whose visit moved noticeably hears the new window."""
    after = await uow.assignments.planned(seq)
    if after is None:
        return []
    if before is None or abs(after[0] - before[0]) > timedelta(minutes=NOTICE_MINUTES):
        return [WindowMoved(seq, after[0], after[1])]
    return []
