"""Where a technician's day goes on from: the ETA a customer gets when the technician sets off,
and the engine's plan mid-day, start at the last site worked at today, else at home.
Yesterday's last site is not where today starts."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from dispatch.assignment import day_view
from dispatch.clock import FixedClock
from dispatch.engine.model import Point
from dispatch.engine.travel import GreatCircleTravel
from dispatch.jobflow import on_my_way
from dispatch.workorder import Status, WorkOrder
from storage.tables import WorkOrderRow
from tests.conftest import UowFactory


async def _job(
    uow: UowFactory, clock: FixedClock, customer: str, site: str, status: Status, start_hours: int
) -> int:
    """A job of T01's at `site`, planned `start_hours` from now (negative: in the past)."""
    async with uow() as u:
        seq = await u.work_orders.next_seq()
        now = clock.now()
        await u.work_orders.add(
            WorkOrder(
                seq=seq,
                customer_id=customer,
                description="test job",
                created_at=now - timedelta(days=2),
                priority="P3",
                skill="hvac",
                site_id=site,
                technician_id="T01",
                status=status,
            )
        )
        start = now + timedelta(hours=start_hours)
        await u.session.execute(
            update(WorkOrderRow)
            .where(WorkOrderRow.seq == seq)
            .values(planned_start=start, planned_end=start + timedelta(hours=1))
        )
        await u.commit()
    return seq


def view_day(clock: FixedClock, timezone: str) -> date:
    return clock.now().astimezone(ZoneInfo(timezone)).date()


async def test_the_first_job_of_the_day_is_timed_from_home_not_yesterdays_site(
    uow: UowFactory, demo_company: None, clock: FixedClock
) -> None:
    async with uow() as u:
        company = await u.company.load()
    home = company.technicians[0].home
    assert company.technicians[0].id == "T01" and home is not None
    here = Point(home.lat, home.lon)
    places = [
        (c.id, s.id, Point(s.location.lat, s.location.lon))
        for c in company.customers
        for s in c.sites
        if s.location is not None
    ]
    travel = GreatCircleTravel(company.assignment.detour_factor, company.assignment.speed_kmh)
    near = min(places, key=lambda p: travel(here, p[2]))
    far = max(places, key=lambda p: travel(here, p[2]))
    assert travel(far[2], near[2]) > travel(here, near[2]) + 10, "the test needs distinct places"

    await _job(uow, clock, far[0], far[1], Status.INVOICED, start_hours=-20)  # yesterday
    today = await _job(uow, clock, near[0], near[1], Status.ASSIGNED, start_hours=1)
    async with uow() as u:
        step = await on_my_way(u, clock, "T01", today, channel="sms")
        await u.commit()
    assert step.ok and step.eta is not None
    minutes = (step.eta - clock.now()).total_seconds() / 60
    assert abs(minutes - travel(here, near[2])) < 1, "from home, as the day starts there"


async def test_the_engine_plans_the_rest_of_the_day_from_the_last_site_worked_at(
    uow: UowFactory, demo_company: None, clock: FixedClock
) -> None:
    async with uow() as u:
        company = await u.company.load()
    home = company.technicians[0].home
    assert home is not None
    site = next(
        (c.id, s)
        for c in company.customers
        for s in c.sites
        if s.location is not None and abs(s.location.lat - home.lat) > 0.01
    )
    customer, far = site
    assert far.location is not None
    await _job(uow, clock, customer, far.id, Status.INVOICED, start_hours=-20)  # yesterday
    async with uow() as u:
        view, routes = await day_view(u, clock, view_day(clock, company.settings.timezone))
    assert routes["T01"].worker.start == Point(home.lat, home.lon), "the day starts at home"

    await _job(uow, clock, customer, far.id, Status.COMPLETED, start_hours=0)  # done today
    async with uow() as u:
        view, routes = await day_view(u, clock, view.day)
    assert routes["T01"].worker.start == Point(far.location.lat, far.location.lon)
