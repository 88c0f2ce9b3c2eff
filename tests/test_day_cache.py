"""The day's bookings as the engine reads them are always the database's, though each process
keeps the days it read: every change to a booking (made in this process or another, through
our code or straight in SQL) moves `day_version` (migration 0010's triggers on SQLite, at
once; 0012's on PostgreSQL, when the change commits), and a change to a job on nobody's day (a
flag, a new request) does not, so the kept day serves. On PostgreSQL a transaction is served a
kept day only by the version its first statement read (the inbound message's count), and only
while it has changed nobody's day itself."""

from __future__ import annotations

import importlib.util
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.planning import Booking
from dispatch.workorder import HELD, Status
from storage.assignment_repo import DONE
from storage.day_version import OFF_DAY, changes_day
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


@pytest.mark.parametrize("name", ["0010_day_version", "0012_day_version_postgres"])
def test_the_triggers_know_every_status_the_day_read_skips(name: str) -> None:
    """The triggers name the statuses that keep a job off every day; the day read names the
    ones it reads. Together they must be every status, with none in both; and a new work
    order marks its transaction by the same statuses (storage.day_version.OFF_DAY)."""
    path = Path(__file__).resolve().parents[1] / f"storage/migrations/versions/{name}.py"
    spec = importlib.util.spec_from_file_location("day_version_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    off_day = set(re.findall(r"'(\w+)'", migration.OFF_DAY))
    on_day = {s.value for s in HELD} | {Status.OFFERED.value} | set(DONE)
    assert off_day.isdisjoint(on_day)
    assert off_day | on_day == {s.value for s in Status}
    assert off_day == OFF_DAY


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


# --- the kept day in a message's transaction (both databases; PostgreSQL's own way) --------

SENDER = "+15125550126"


class DayReads:
    """Counts the day reads (the bookings' query) sent on an engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: object, _cursor: object, sql: str, *_: object) -> None:
        if "LEFT OUTER JOIN offers" in sql and "FROM work_orders" in sql:
            self.count += 1


async def _counted(uow: SqlUnitOfWork) -> None:
    """A message's first statement: the sender's count, the stamps with it."""
    await uow.inbound.count_since("sms", SENDER, DEMO_NOW - timedelta(minutes=1))


async def _day_in_message(p: Product, of: frozenset[str] | None = None) -> dict[int, Booking]:
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        await _counted(uow)
        bookings, _ = await uow.assignments.day(DAY_START, DAY_END, of=of)
    return {b.wo.seq: b for b in bookings}


async def test_a_message_is_served_the_kept_day_until_a_change_commits(
    product: Product, database_url: str
) -> None:
    p = product
    await p.sms(SENDER, "walk-in cooler at Manchaca is warm, reading 45")
    reads = DayReads(p.engine)
    first = await _day_in_message(p)
    assert 1001 in first and reads.count == 1
    assert await _day_in_message(p) == first and reads.count == 1, "kept: not read again"
    tech = first[1001].technician_id
    mine = await _day_in_message(p, frozenset({tech}))
    assert mine[1001] == first[1001]
    assert await _day_in_message(p, frozenset({tech})) == mine

    await _elsewhere(database_url, "UPDATE work_orders SET extra_minutes = 45 WHERE seq = 1001")
    before = reads.count
    assert (await _day_in_message(p))[1001].wo.extra_minutes == 45 and reads.count == before + 1
    assert (await _day_in_message(p, frozenset({tech})))[1001].wo.extra_minutes == 45
    # A flag on a job on nobody's day (a new request from a VIP) keeps the day.
    _, twiml = await p.sms("(512) 555-0120", "the ice machine at the Lamar kitchen is leaking")
    assert "WO-1002" in twiml
    before = reads.count
    assert (await _day_in_message(p))[1001].wo.extra_minutes == 45
    assert reads.count == before


async def test_a_message_that_changed_a_day_reads_it_afresh(
    product: Product, database_url: str
) -> None:
    """Its own change is in its day (on PostgreSQL the version moves only at its commit),
    and a day read with it is kept for nobody: it rolled back."""
    p = product
    await p.sms(SENDER, "walk-in cooler at Manchaca is warm, reading 45")
    assert (await _day_in_message(p))[1001].wo.extra_minutes == 0
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        await _counted(uow)
        await uow.session.execute(
            text("UPDATE work_orders SET extra_minutes = 99 WHERE seq = 1001")
        )
        bookings, _ = await uow.assignments.day(DAY_START, DAY_END)
        assert {b.wo.seq: b for b in bookings}[1001].wo.extra_minutes == 99
        await uow.rollback()
    assert (await _day_in_message(p))[1001].wo.extra_minutes == 0
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:  # an offer withdrawn
        await _counted(uow)
        await uow.session.execute(text("UPDATE offers SET status = 'withdrawn'"))
        bookings, _ = await uow.assignments.day(DAY_START, DAY_END)
        assert 1001 not in {b.wo.seq for b in bookings}
        await uow.rollback()


# PostgreSQL's alone: SQLite has one writer, so nobody commits while a transaction is open.
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@ON_POSTGRES
async def test_a_message_begun_before_a_change_sees_it_once_it_locks_a_technician(
    product: Product, database_url: str
) -> None:
    """PostgreSQL: a transaction begun before another's change commits may be served the day
    as it was when it began; once it locks a technician to book them, every day it reads is
    read afresh, so a choice made again after a slot was taken is made on the day as it is."""
    p = product
    await p.sms(SENDER, "walk-in cooler at Manchaca is warm, reading 45")
    await _day_in_message(p)  # kept
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        await _counted(uow)
        await _elsewhere(database_url, "UPDATE work_orders SET extra_minutes = 30 WHERE seq = 1001")
        bookings, _ = await uow.assignments.day(DAY_START, DAY_END)
        assert {b.wo.seq: b for b in bookings}[1001].wo.extra_minutes == 0, "as it began"
        await uow.assignments.lock_technician("T01")
        bookings, _ = await uow.assignments.day(DAY_START, DAY_END)
        assert {b.wo.seq: b for b in bookings}[1001].wo.extra_minutes == 30
        await uow.rollback()
    assert (await _day_in_message(p))[1001].wo.extra_minutes == 30


@ON_POSTGRES
async def test_changes_to_days_from_two_transactions_at_once_both_commit(
    product: Product, database_url: str
) -> None:
    """PostgreSQL moves the version at COMMIT under the row's lock: two transactions that
    both changed a booking take turns there, and neither fails."""
    p = product
    await p.sms(SENDER, "walk-in cooler at Manchaca is warm, reading 45")
    start = await _version(p)
    one, two = make_engine(database_url), make_engine(database_url)
    try:
        async with one.connect() as a, two.connect() as b:
            await a.execute(text("UPDATE work_orders SET extra_minutes = 5 WHERE seq = 1001"))
            await b.execute(text("UPDATE offers SET expires_at = expires_at"))
            await a.commit()
            moved = await _version(p)
            await b.commit()
    finally:
        await one.dispose()
        await two.dispose()
    assert start is not None and moved is not None
    assert len({start, moved, await _version(p)}) == 3


def test_what_marks_a_transaction_as_having_changed_a_day() -> None:
    assert changes_day("UPDATE offers SET status=$1 WHERE offers.id = $2")
    assert changes_day("INSERT INTO offers (work_order_id) VALUES ($1)")
    assert changes_day("DELETE FROM offers WHERE id = 1")
    assert changes_day("UPDATE work_orders SET status=$1::VARCHAR WHERE work_orders.id = $2")
    assert changes_day("delete from work_orders where seq = 3")
    assert changes_day(
        "WITH w0 AS (INSERT INTO decisions (work_order_id) VALUES ($1) RETURNING decisions.id),"
        " w1 AS (UPDATE work_orders SET flag_reason=$2 WHERE work_orders.id = $3)"
        " INSERT INTO timeline_events (work_order_id) VALUES ($4)"
    )
    # A new work order is marked by its insert only when it lands on someone's day
    # (WorkOrderRepository.add); reading, locking and other tables never are.
    assert not changes_day("INSERT INTO work_orders (seq, status) VALUES ($1, $2)")
    assert not changes_day("SELECT work_orders.id FROM work_orders WHERE seq = $1 FOR UPDATE")
    assert not changes_day("SELECT technicians.available FROM technicians FOR UPDATE")
    assert not changes_day("UPDATE inbound_messages SET processed_at=$1")
    assert not changes_day("UPDATE work_orders_archive SET x = 1")
