"""Scenario tests of the day changing: sickness, overrun, and the emergency bump.

Each builds a small day through the real services on a real database, changes it, and
checks the resulting plans and the timeline entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.assignment import Outcome, accept, assign, offer_to
from dispatch.clock import FixedClock
from dispatch.events import OfferMade, WindowMoved
from dispatch.manual import assign_to, bump
from dispatch.replan import report_late, report_sick
from dispatch.requests import OpenWorkOrder, open_work_order
from dispatch.workorder import Status, Wants
from storage.tables import DecisionRow, OfferRow, TimelineRow, WorkOrderRow
from storage.uow import SqlUnitOfWork
from storage.zip_geocode import zip_centroid
from tests.channel_app import Product
from tests.conftest import UowFactory

pytestmark = pytest.mark.usefixtures("demo_company")


async def new_job(
    uow: UowFactory,
    clock: FixedClock,
    customer: str,
    site: str,
    skill: str,
    priority: str,
    text: str,
    wants: Wants | None = None,
) -> int:
    async with uow() as u:
        wo = await open_work_order(
            u,
            clock,
            zip_centroid,
            OpenWorkOrder(
                text=text,
                channel="portal",
                actor="test",
                customer_id=customer,
                site_id=site,
                skill=skill,
                priority=priority,
                wants=wants,
            ),
        )
        await u.commit()
        return wo.seq


async def book(uow: UowFactory, clock: FixedClock, seq: int, tech: str) -> None:
    """Offer straight to `tech` and accept: a job firmly in their day."""
    async with uow() as u:
        wo = await u.work_orders.get(seq, lock=True)
        assert wo is not None
        await offer_to(u, clock, wo, tech, "test", "set-up")
        outcome = await accept(u, clock, seq, tech, channel="sms")
        assert outcome.ok, outcome.message
        await u.commit()


def span(row: WorkOrderRow) -> tuple[datetime, datetime]:
    assert row.planned_start is not None and row.planned_end is not None
    return row.planned_start, row.planned_end


async def rows(engine: AsyncEngine) -> dict[int, WorkOrderRow]:
    async with AsyncSession(engine) as s:
        return {r.seq: r for r in await s.scalars(select(WorkOrderRow))}


async def timeline(engine: AsyncEngine, seq: int) -> list[str]:
    async with AsyncSession(engine) as s:
        wo = (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()
        found = await s.scalars(
            select(TimelineRow.text)
            .where(TimelineRow.work_order_id == wo.id)
            .order_by(TimelineRow.id)
        )
        return list(found)


async def live_offer_tech(engine: AsyncEngine, seq: int) -> str | None:
    async with AsyncSession(engine) as s:
        wo = (await s.scalars(select(WorkOrderRow).where(WorkOrderRow.seq == seq))).one()
        return (
            await s.scalars(
                select(OfferRow.technician_id).where(
                    OfferRow.work_order_id == wo.id, OfferRow.status == "live"
                )
            )
        ).first()


# Plumbing in central Austin: T02 Derek Olsen (central, south) and T08 Luis Castillo.
PLUMBING = [("C012", "S027"), ("C008", "S020"), ("C003", "S008")]


async def test_sickness_moves_the_unstarted_jobs_to_another_technician(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    seqs = [
        await new_job(uow, clock, c, s, "plumbing", "P3", f"drip {i}")
        for i, (c, s) in enumerate(PLUMBING)
    ]
    for seq in seqs:
        await book(uow, clock, seq, "T02")
    before = await rows(engine)
    assert [before[s].plan_position for s in seqs] == [0, 1, 2] or sorted(
        before[s].plan_position or 0 for s in seqs
    ) == [0, 1, 2]
    clock.advance(timedelta(hours=1))
    async with uow() as u:
        events = await report_sick(u, clock, "T02", actor="D01", note="goes home")
        await u.commit()
    after = await rows(engine)
    for seq in seqs:
        assert after[seq].technician_id is None
        assert after[seq].status in ("offered", "ready")
        assert await live_offer_tech(engine, seq) in (None, "T08")
        lines = await timeline(engine, seq)
        assert "assigned → ready: T02 is off sick (goes home)" in lines
    await_tech = {seq: await live_offer_tech(engine, seq) for seq in seqs}
    offered = [e for e in events if isinstance(e, OfferMade)]
    assert offered and {e.technician_id for e in offered} == {"T08"}
    # T08's visits don't overlap.
    t08 = sorted(span(r) for r in after.values() if r.seq in seqs and await_tech[r.seq] == "T08")
    assert all(a[1] <= b[0] for a, b in pairwise(t08))


async def test_an_overrun_shifts_the_day_and_drops_what_no_longer_fits(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    seqs = [
        await new_job(uow, clock, c, s, "plumbing", "P3", f"drip {i}")
        for i, (c, s) in enumerate(PLUMBING)
    ]
    for seq in seqs:
        await book(uow, clock, seq, "T02")
    before = await rows(engine)
    order = sorted(seqs, key=lambda s: before[s].plan_position or 0)
    async with uow() as u:  # T02 is driving to the first job: it is fixed in place
        wo = await u.work_orders.get(order[0], lock=True)
        assert wo is not None
        wo.transition(Status.EN_ROUTE, clock.now(), actor="T02")
        await u.work_orders.save(wo)
        await u.commit()
    async with uow() as u:
        events = await report_late(u, clock, "T02", 420, actor="T02")
        await u.commit()
    after = await rows(engine)
    first = order[0]
    start, end = span(after[first])
    assert end - start == timedelta(minutes=60 + 420)
    assert end - span(before[first])[1] > timedelta(hours=4)
    assert "running 420 min late" in await timeline(engine, first)
    # T02's shift ends at 16:00: what came after the first job no longer fits and goes back
    # to the engine, which offers it to T08.
    for seq in order[1:]:
        assert after[seq].technician_id is None
        assert "assigned → ready: T02 is running late" in await timeline(engine, seq)
        assert await live_offer_tech(engine, seq) == "T08"
    assert any(isinstance(e, WindowMoved) for e in events)


async def emergency_for_a_booked_morning(
    uow: UowFactory, clock: FixedClock
) -> tuple[list[int], int]:
    """T03 is the only fire-safety technician today (T09 is on leave). Her morning is
    booked with planned electrical work in tight windows when a sprinkler goes off at a
    silver customer (P1 within 3 hours). The planned jobs and the emergency, not assigned."""
    eight = datetime.fromisoformat("2026-11-30T08:00:00-06:00")
    slots = [
        Wants(eight, eight + timedelta(minutes=30)),
        Wants(eight + timedelta(minutes=90), eight + timedelta(minutes=120)),
    ]
    sites = [("C001", "S001"), ("C001", "S003")]  # open from early morning, in her territory
    planned = [
        await new_job(uow, clock, c, s, "electrical", "P4", f"outlet {i}", slot)
        for i, ((c, s), slot) in enumerate(zip(sites, slots, strict=True))
    ]
    for seq in planned:
        await book(uow, clock, seq, "T03")
    emergency = await new_job(
        uow, clock, "C004", "S012", "fire_safety", "P1", "sprinkler going off in the lobby"
    )
    return planned, emergency


async def test_an_emergency_bumps_lower_priority_work_and_replans_it(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    planned, emergency = await emergency_for_a_booked_morning(uow, clock)
    async with uow() as u:
        events = await assign(u, clock, emergency)
        await u.commit()
    assert await live_offer_tech(engine, emergency) == "T03"
    after = await rows(engine)
    bumped = [s for s in planned if after[s].technician_id is None]
    assert bumped, "at least one planned job gave way"
    for seq in bumped:
        assert f"assigned → ready: bumped for WO-{emergency}" in await timeline(engine, seq)
    assert any(
        line.startswith("emergency bump: T03 drops") for line in await timeline(engine, emergency)
    )
    async with AsyncSession(engine) as s:
        kinds = list(await s.scalars(select(DecisionRow.kind).order_by(DecisionRow.id)))
    assert "bump" in kinds
    assert any(isinstance(e, OfferMade) and e.technician_id == "T03" for e in events)
    # The emergency is planned within its SLA (3 h for a silver P1).
    due = after[emergency].sla_due_at
    assert due is not None
    assert span(after[emergency])[0] <= due


# Every booking locks the technician, then rewrites the planned times of the jobs in their
# day. A change that locked one of those jobs first, then waited for the technician,
# deadlocked with such a booking under load on PostgreSQL: each held what the other waited
# for. So each change below, with the technician held elsewhere, must wait holding none of
# the jobs.


async def test_a_bump_locks_the_technician_before_the_jobs_it_displaces(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    need_row_locks(engine)
    planned, emergency = await emergency_for_a_booked_morning(uow, clock)

    async def bump() -> None:
        async with uow() as u:
            await assign(u, clock, emergency)
            await u.commit()

    await waits_holding_none_of(engine, bump(), "T03", planned)
    assert await live_offer_tech(engine, emergency) == "T03"
    assert any(
        line.startswith("emergency bump: T03 drops") for line in await timeline(engine, emergency)
    )


async def test_an_acceptance_locks_the_technician_before_the_job(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    need_row_locks(engine)
    seq = await new_job(uow, clock, "C001", "S001", "electrical", "P4", "outlet")
    async with uow() as u:
        wo = await u.work_orders.get(seq, lock=True)
        assert wo is not None
        await offer_to(u, clock, wo, "T03", "test", "set-up")
        await u.commit()
    outcome = await outcome_holding_none_of(
        engine, uow, lambda u: accept(u, clock, seq, "T03", channel="sms"), "T03", [seq]
    )
    assert outcome.ok, outcome.message
    assert (await rows(engine))[seq].technician_id == "T03"


async def test_a_dispatchers_assignment_locks_the_technician_before_the_job(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    need_row_locks(engine)
    seq = await new_job(uow, clock, "C001", "S001", "electrical", "P4", "outlet")
    outcome = await outcome_holding_none_of(
        engine,
        uow,
        lambda u: assign_to(u, clock, seq, "T03", actor="dispatcher:D01", channel="telegram"),
        "T03",
        [seq],
    )
    assert outcome.ok, outcome.message
    assert (await rows(engine))[seq].technician_id == "T03"


async def test_a_dispatchers_bump_locks_the_technician_holding_the_job_before_it(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    """`/bump` of a job in T03's day: the job goes back to the engine, which offers it to
    T03 again as an emergency; T03 is locked before the job."""
    need_row_locks(engine)
    seq = await new_job(uow, clock, "C001", "S001", "fire_safety", "P3", "smoke detector")
    await book(uow, clock, seq, "T03")
    outcome = await outcome_holding_none_of(
        engine,
        uow,
        lambda u: bump(u, clock, seq, actor="dispatcher:D01", channel="sms"),
        "T03",
        [seq],
    )
    assert outcome.ok, outcome.message
    after = (await rows(engine))[seq]
    assert after.priority == "P1"
    assert await live_offer_tech(engine, seq) == "T03"


async def test_a_customers_new_problem_leaves_the_job_asked_about_alone_once_taken(
    product: Product, engine: AsyncEngine, uow: UowFactory, clock: FixedClock
) -> None:
    """A stranger is asked for their name; meanwhile a dispatcher puts the job in T11's day.
    Their next text, a new problem, books a technician: it must not hold that job, in T11's
    day, while it waits for one."""
    need_row_locks(engine)
    stranger = "+15125550162"
    await product.sms(
        stranger, "my ac unit is buzzing loudly at 2612 Barton Hills Dr, Austin TX 78704"
    )
    async with uow() as u:
        outcome = await assign_to(u, clock, 1001, "T11", actor="dispatcher:D01", channel="sms")
        await u.commit()
    assert outcome.ok, outcome.message
    answered: list[int] = []

    async def new_problem() -> None:
        status, _ = await product.sms(
            stranger, "another problem: the second ac unit is leaking water on the floor"
        )
        answered.append(status)

    await waits_holding_none_of(engine, new_problem(), None, [1001])
    assert answered == [200]
    after = await rows(engine)
    assert sorted(after) == [1001, 1002]
    assert (after[1001].status, after[1001].technician_id) == ("assigned", "T11")


def need_row_locks(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no row locks to take in an order")


async def waits_holding_none_of(
    engine: AsyncEngine, change: Coroutine[Any, Any, None], tech: str | None, seqs: list[int]
) -> None:
    """Runs `change` while another transaction holds `tech` (None: every technician): once
    it waits, every job of `seqs` can be locked at once (FOR UPDATE NOWAIT fails,
    lock_not_available, on a row it holds); then the technicians are let go and the change
    runs to its end."""
    async with engine.connect() as holder:
        await holder.execute(
            text("SELECT id FROM technicians WHERE id = coalesce(:id, id) FOR UPDATE"),
            {"id": tech},
        )
        running = asyncio.create_task(change)
        await waiting_for_a_lock(engine, running)
        async with engine.connect() as probe:
            locked = await probe.execute(
                text("SELECT seq FROM work_orders WHERE seq = ANY(:seqs) FOR UPDATE NOWAIT"),
                {"seqs": seqs},
            )
            assert sorted(locked.scalars()) == sorted(seqs)
            await probe.rollback()
        await holder.rollback()
    await running


async def outcome_holding_none_of(
    engine: AsyncEngine,
    uow: UowFactory,
    change: Callable[[SqlUnitOfWork], Awaitable[Outcome]],
    tech: str | None,
    seqs: list[int],
) -> Outcome:
    """`change` in a unit of work of its own, committed, run by `waits_holding_none_of`;
    the one outcome it gave."""
    outcomes: list[Outcome] = []

    async def run() -> None:
        async with uow() as u:
            outcomes.append(await change(u))
            await u.commit()

    await waits_holding_none_of(engine, run(), tech, seqs)
    [outcome] = outcomes
    return outcome


async def waiting_for_a_lock(engine: AsyncEngine, task: asyncio.Task[None]) -> None:
    """Returns once a session of the test's database waits for a row lock (the task's); fails
    if the task ends first, or if no session waits within half a minute."""
    async with engine.connect() as watch:
        for _ in range(600):
            waiting = await watch.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            await watch.rollback()
            if waiting:
                return
            assert not task.done(), "the change did not wait for the technician held elsewhere"
            await asyncio.sleep(0.05)
    raise AssertionError("the change never waited for the technician held elsewhere")


async def test_a_job_of_equal_priority_is_never_bumped(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    start = datetime.fromisoformat("2026-11-30T08:00:00-06:00")
    morning = Wants(start, start + timedelta(hours=3))
    first = await new_job(
        uow, clock, "C003", "S009", "fire_safety", "P1", "alarm panel trouble", morning
    )
    await book(uow, clock, first, "T03")
    second = await new_job(uow, clock, "C004", "S012", "fire_safety", "P1", "sprinkler going off")
    async with uow() as u:
        await assign(u, clock, second)
        await u.commit()
    after = await rows(engine)
    assert after[first].technician_id == "T03"
    assert after[first].status == "assigned"
