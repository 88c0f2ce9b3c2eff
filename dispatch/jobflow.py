"""The technician's job, step by step: on the way, arrived, start, pause, help, done.

Every step is a status change with its timeline entry; time is counted from the steps
(travel from ON MY WAY to ARRIVED, work from START to PAUSE or DONE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.clock import Clock
from dispatch.engine.model import Point
from dispatch.engine.travel import GreatCircleTravel, haversine_km
from dispatch.ports import UnitOfWork
from dispatch.workorder import STARTED, Status, WorkOrder

CHECK_IN_METERS = 300
ACTIVE = STARTED | {Status.ON_HOLD}


@dataclass(frozen=True, slots=True)
class Step:
    ok: bool
    message: str
    wo: WorkOrder | None = None
    eta: datetime | None = None
    flagged: str | None = None


async def current_job(uow: UnitOfWork, tech_id: str) -> WorkOrder | None:
    """The job under way (driving, on site, working, paused), else the next one planned."""
    held = await uow.assignments.held_by(tech_id)
    active = [wo for wo in held if wo.status in ACTIVE]
    if active:
        return active[0]
    planned = [wo for wo in held if wo.status is Status.ASSIGNED]
    return planned[0] if planned else None


async def _job(uow: UnitOfWork, tech_id: str, seq: int | None) -> WorkOrder | None:
    if seq is not None:
        wo = await uow.work_orders.get(seq, lock=True)
        return wo if wo is not None and wo.technician_id == tech_id else None
    found = await current_job(uow, tech_id)
    return None if found is None else await uow.work_orders.get(found.seq, lock=True)


def _refused(wo: WorkOrder, step: str) -> Step:
    return Step(False, f"{wo.number} is {wo.status.value.replace('_', ' ')}: can't {step} now.", wo)


async def on_my_way(
    uow: UnitOfWork, clock: Clock, tech_id: str, seq: int | None, *, channel: str
) -> Step:
    wo = await _job(uow, tech_id, seq)
    if wo is None:
        return Step(False, "You have no job to drive to. /jobs shows your plan.")
    if wo.status is not Status.ASSIGNED:
        return _refused(wo, "start driving")
    now = clock.now()
    wo.transition(Status.EN_ROUTE, now, actor=f"technician:{tech_id}", channel=channel)
    await uow.billing.add_time_entry(
        wo.seq, technician_id=tech_id, kind="travel", started_at=now, ended_at=None
    )
    eta = now + timedelta(minutes=await _drive_minutes(uow, tech_id, wo, now))
    wo.record(
        now,
        "eta",
        f"ETA {eta.isoformat(timespec='minutes')}",
        actor=f"technician:{tech_id}",
        channel=channel,
    )
    await uow.work_orders.save(wo)
    return Step(True, f"{wo.number}: on your way. The customer has your ETA.", wo, eta=eta)


async def _drive_minutes(uow: UnitOfWork, tech_id: str, wo: WorkOrder, now: datetime) -> float:
    """From the last site they worked at today, else home, to this job's site."""
    company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    sites = {s.id: s for c in company.customers for s in c.sites}
    tech = next((t for t in company.technicians if t.id == tech_id), None)
    site = sites.get(wo.site_id or "")
    last = await uow.assignments.last_site_today(tech_id, wo.seq, day_start=midnight)
    origin = sites.get(last or "")
    start = origin.location if origin and origin.location else (tech.home if tech else None)
    if site is None or site.location is None or start is None:
        return 30.0
    travel = GreatCircleTravel(company.assignment.detour_factor, company.assignment.speed_kmh)
    return travel(Point(start.lat, start.lon), Point(site.location.lat, site.location.lon))


async def arrived(
    uow: UnitOfWork,
    clock: Clock,
    tech_id: str,
    seq: int | None,
    *,
    channel: str,
    location: tuple[float, float] | None,
) -> Step:
    """Check in. A location within 300 m of the site confirms it; farther is recorded and
    flagged; without one (SMS) it is an unverified check-in."""
    wo = await _job(uow, tech_id, seq)
    if wo is None:
        return Step(False, "You have no job to check in to. /jobs shows your plan.")
    if wo.status not in (Status.ASSIGNED, Status.EN_ROUTE):
        return _refused(wo, "check in")
    now = clock.now()
    company = await uow.company.load()
    site = next((s for c in company.customers for s in c.sites if s.id == wo.site_id), None)
    actor = f"technician:{tech_id}"
    flagged = None
    if location is None:
        note = "checked in, unverified (no location by SMS)"
    elif site is None or site.location is None:
        note = f"checked in at {location[0]:.5f}, {location[1]:.5f} (the site has no coordinates)"
    else:
        meters = haversine_km(Point(*location), Point(site.location.lat, site.location.lon)) * 1000
        if meters <= CHECK_IN_METERS:
            note = f"checked in on site ({meters:.0f} m away)"
        else:
            note = f"checked in {meters / 1000:.1f} km from the site"
            flagged = f"check-in {meters / 1000:.1f} km from the site"
    await uow.billing.close_open_entries(wo.seq, tech_id, "travel", now)
    wo.transition(Status.ON_SITE, now, actor=actor, channel=channel, why=note)
    if location is not None:
        wo.record(
            now, "location", f"{location[0]:.5f},{location[1]:.5f}", actor=actor, channel=channel
        )
    if flagged:
        wo.raise_flag(flagged, now, actor=actor)
    await uow.assignments.set_lone_check(
        wo.seq, now + timedelta(minutes=company.settings.lone_worker_minutes)
    )
    await uow.work_orders.save(wo)
    return Step(True, f"{wo.number}: {note}. Send START when you begin.", wo, flagged=flagged)


async def start(
    uow: UnitOfWork, clock: Clock, tech_id: str, seq: int | None, *, channel: str
) -> Step:
    wo = await _job(uow, tech_id, seq)
    if wo is None:
        return Step(False, "You have no job on site. /jobs shows your plan.")
    if wo.status not in (Status.ON_SITE, Status.ON_HOLD):
        return _refused(wo, "start")
    now = clock.now()
    wo.transition(Status.WORKING, now, actor=f"technician:{tech_id}", channel=channel)
    await uow.billing.add_time_entry(
        wo.seq, technician_id=tech_id, kind="work", started_at=now, ended_at=None
    )
    await uow.work_orders.save(wo)
    return Step(True, f"{wo.number}: clock running. PAUSE to stop it, DONE when finished.", wo)


async def pause(
    uow: UnitOfWork, clock: Clock, tech_id: str, seq: int | None, *, channel: str
) -> Step:
    wo = await _job(uow, tech_id, seq)
    if wo is None or wo.status is not Status.WORKING:
        return (
            Step(False, "Nothing is being worked on to pause.")
            if wo is None
            else _refused(wo, "pause")
        )
    now = clock.now()
    await uow.billing.close_open_entries(wo.seq, tech_id, "work", now)
    wo.transition(Status.ON_HOLD, now, actor=f"technician:{tech_id}", channel=channel, why="paused")
    await uow.work_orders.save(wo)
    return Step(True, f"{wo.number}: paused, clock stopped. START to resume.", wo)


async def ask_help(
    uow: UnitOfWork, clock: Clock, tech_id: str, seq: int | None, text: str, *, channel: str
) -> Step:
    wo = await _job(uow, tech_id, seq)
    if wo is None:
        return Step(
            False, "You have no job right now; a dispatcher can still help: call the office."
        )
    now = clock.now()
    if wo.status is Status.WORKING:
        await uow.billing.close_open_entries(wo.seq, tech_id, "work", now)
    if wo.can_become(Status.ON_HOLD):
        wo.transition(
            Status.ON_HOLD,
            now,
            actor=f"technician:{tech_id}",
            channel=channel,
            why="help requested",
        )
    reason = f"HELP from {tech_id}" + (f": {text}" if text else "")
    wo.raise_flag(reason, now, actor=f"technician:{tech_id}")
    await uow.work_orders.save(wo)
    return Step(
        True,
        f"{wo.number}: the dispatchers have been told. Someone will call you.",
        wo,
        flagged=reason,
    )


async def done(
    uow: UnitOfWork, clock: Clock, tech_id: str, seq: int | None, note: str, *, channel: str
) -> Step:
    """Complete the job with the technician's closing note."""
    wo = await _job(uow, tech_id, seq)
    if wo is None:
        return Step(False, "You have no job to finish. /jobs shows your plan.")
    if wo.status not in (Status.WORKING, Status.ON_SITE, Status.ON_HOLD):
        return _refused(wo, "finish")
    now = clock.now()
    actor = f"technician:{tech_id}"
    await uow.billing.close_open_entries(wo.seq, tech_id, "work", now)
    if wo.status is Status.ON_HOLD:
        wo.transition(Status.WORKING, now, actor=actor, channel=channel, why="finishing")
    wo.record(now, "note", note, actor=actor, channel=channel)
    wo.transition(Status.COMPLETED, now, actor=actor, channel=channel, why="done")
    if wo.flag is not None:
        wo.clear_flag(now, actor=actor)
    await uow.assignments.set_lone_check(wo.seq, None)
    await uow.work_orders.save(wo)
    return Step(True, f"{wo.number} completed. The customer has been asked to sign off.", wo)
