"""The day's bookings as the engine reads them are always the database's, though SQLite keeps
the last day read per process: every change to a booking (made in this process or another,
through our code or straight in SQL) moves `day_version` (migration 0010's triggers), and a
change to a job on nobody's day (a flag, a new request) does not, so the kept day serves."""

from __future__ import annotations

import importlib.util
import re
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from dispatch.planning import Booking
from dispatch.workorder import HELD, Status
from storage.assignment_repo import DONE
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product
from tests.conftest import DEMO_NOW

# The demo day in Austin, as the engine asks for it (company midnight to midnight).
DAY_START = datetime.fromisoformat("2026-11-30T00:00:00-06:00")
DAY_END = DAY_START + timedelta(days=1)
TRIGGERS = {
    "day_version_wo_insert",
    "day_version_wo_update",
    "day_version_wo_delete",
    "day_version_offer_insert",
    "day_version_offer_update",
    "day_version_offer_delete",
}


async def _day(p: Product) -> dict[int, Booking]:
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        bookings, _ = await uow.assignments.day(DAY_START, DAY_END)
    return {b.wo.seq: b for b in bookings}


async def _version(p: Product) -> int | None:
    async with p.engine.connect() as conn:
        found = await conn.scalar(text("SELECT value FROM sequences WHERE name = 'day_version'"))
    return None if found is None else int(found)


async def _elsewhere(url: str, *statements: str, **params: str) -> None:
    """Another process's change: its own engine and connection, committed."""
    other = make_engine(url)
    try:
        async with other.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement), params)
    finally:
        await other.dispose()


async def test_every_change_to_a_booking_is_in_the_next_day_read(
    product: Product, database_url: str
) -> None:
    p = product
    assert p.clock.now() == DEMO_NOW  # 07:00 in Austin: technicians are on shift
    _, twiml = await p.sms("+15125550126", "walk-in cooler at Manchaca is warm, reading 45")
    assert "WO-1001" in twiml
    first = await _day(p)
    assert 1001 in first and first[1001].wo.status.value == "offered"
    offered_to = first[1001].technician_id
    assert await _day(p) == first, "nothing changed: the same day"

    # The offer withdrawn and the job back in the queue, by another process in plain SQL.
    await _elsewhere(
        database_url,
        "UPDATE offers SET status = 'withdrawn' WHERE status = 'live'",
        "UPDATE work_orders SET status = 'ready', plan_position = NULL WHERE seq = 1001",
    )
    assert 1001 not in await _day(p)

    # Assigned straight to someone else: on their day now.
    other = "T07" if offered_to != "T07" else "T01"
    await _elsewhere(
        database_url,
        "UPDATE work_orders SET status = 'assigned', technician_id = :tech WHERE seq = 1001",
        tech=other,
    )
    after = await _day(p)
    assert after[1001].technician_id == other and after[1001].wo.status.value == "assigned"

    # A change to a job on the day that keeps its status (more time needed) is seen too.
    await _elsewhere(database_url, "UPDATE work_orders SET extra_minutes = 45 WHERE seq = 1001")
    assert (await _day(p))[1001].wo.extra_minutes == 45

    # Done today: off the bookings, counted for the technician.
    await _elsewhere(database_url, "UPDATE work_orders SET status = 'completed' WHERE seq = 1001")
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        bookings, done = await uow.assignments.day(DAY_START, DAY_END)
    assert 1001 not in {b.wo.seq for b in bookings} and done == {other: 1}


async def test_a_day_read_after_a_change_that_rolled_back_is_not_served_later(
    product: Product, database_url: str
) -> None:
    """A transaction changes a booking, reads the day (its own change in it) and rolls back:
    the version it read was never committed, and no later change may take it."""
    p = product
    await p.sms("+15125550126", "walk-in cooler at Manchaca is warm, reading 45")
    assert (await _day(p))[1001].wo.extra_minutes == 0
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        await uow.session.execute(
            text("UPDATE work_orders SET extra_minutes = 99 WHERE seq = 1001")
        )
        bookings, _ = await uow.assignments.day(DAY_START, DAY_END)
        assert {b.wo.seq: b for b in bookings}[1001].wo.extra_minutes == 99
        await uow.rollback()
    await _elsewhere(database_url, "UPDATE work_orders SET extra_minutes = 15 WHERE seq = 1001")
    assert (await _day(p))[1001].wo.extra_minutes == 15


async def test_a_job_on_nobodys_day_leaves_the_kept_day_alone(
    product: Product, database_url: str
) -> None:
    p = product
    await p.sms("+15125550126", "walk-in cooler at Manchaca is warm, reading 45")
    if not database_url.startswith("sqlite"):
        assert await _version(p) is None, "no triggers on PostgreSQL: the day is read every time"
        return
    offered = await _version(p)
    assert offered is not None, "the offer moved it"
    # A VIP's request is flagged for a dispatcher, not offered: a new work order and a flag,
    # nobody's day changes.
    _, twiml = await p.sms("(512) 555-0120", "the ice machine at the Lamar kitchen is leaking")
    assert "WO-1002" in twiml
    async with p.engine.connect() as conn:
        flag = await conn.scalar(text("SELECT flag_reason FROM work_orders WHERE seq = 1002"))
    assert flag is not None and flag.startswith("vip")
    assert await _version(p) == offered
    # A change to the offered job counts, even one the day read does not show.
    await _elsewhere(
        database_url, "UPDATE work_orders SET description = 'warm, 47 now' WHERE seq = 1001"
    )
    moved = await _version(p)
    assert moved != offered
    await _elsewhere(database_url, "UPDATE work_orders SET status = 'cancelled' WHERE seq = 1002")
    assert await _version(p) == moved, "ready to cancelled: on nobody's day before or after"


async def test_the_triggers_are_there_after_every_migration(tmp_path: Path) -> None:
    """A later batch_alter_table on work_orders or offers recreates the table on SQLite and
    drops its triggers: the day would then be kept after a change. Re-create them after."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/head.db")
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            found = set(
                (
                    await conn.execute(
                        text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                    )
                ).scalars()
            )
        assert found >= TRIGGERS
    finally:
        await engine.dispose()


def test_the_triggers_know_every_status_the_day_read_skips() -> None:
    """The triggers name the statuses that keep a job off every day; the day read names the
    ones it reads. Together they must be every status, with none in both."""
    path = Path(__file__).resolve().parents[1] / "storage/migrations/versions/0010_day_version.py"
    spec = importlib.util.spec_from_file_location("day_version_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    off_day = set(re.findall(r"'(\w+)'", migration.OFF_DAY))
    on_day = {s.value for s in HELD} | {Status.OFFERED.value} | set(DONE)
    assert off_day.isdisjoint(on_day)
    assert off_day | on_day == {s.value for s in Status}


async def test_a_read_for_some_technicians_has_all_of_theirs(
    product: Product, database_url: str
) -> None:
    """`day(..., of=...)`, the later-day search's read: every booking of those technicians,
    held or offered; on PostgreSQL (no kept day) nobody else's."""
    p = product
    await p.sms("+15125550126", "walk-in cooler at Manchaca is warm, reading 45")
    offered_to = (await _day(p))[1001].technician_id
    other = "T07" if offered_to != "T07" else "T01"
    await p.sms("(512) 555-0140", "Rooftop unit at building A is blowing warm air again")
    await _elsewhere(
        database_url,
        "UPDATE work_orders SET status = 'assigned', technician_id = :tech,"
        " planned_start = '2026-11-30 15:00:00' WHERE seq = 1002",
        tech=other,
    )
    everyone = await _day(p)
    assert everyone[1001].technician_id == offered_to and everyone[1002].technician_id == other
    for of in (offered_to, other):
        async with SqlUnitOfWork(session_factory(p.engine)) as uow:
            bookings, _ = await uow.assignments.day(DAY_START, DAY_END, of=frozenset({of}))
        theirs = {b.wo.seq for b in bookings if b.technician_id == of}
        assert theirs == {s for s, b in everyone.items() if b.technician_id == of}
        if not database_url.startswith("sqlite"):
            assert {b.technician_id for b in bookings} == {of}
