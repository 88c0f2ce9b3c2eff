"""A new request costs the same after a year of finished work as on the first day.

Every request reads the day's bookings, the customer's open work orders and the chats of the
staff it tells. Read through an index that a year of history does not grow, that costs the
same on day 300 as on day 1; read through one that it does (status alone, technician
alone), it visits every finished job ever. Work is counted, not timed: SQLite's virtual
machine instructions (a progress handler on the app's connection) for the whole request,
then for the worker's next pass (timers, stranded messages, the outbox), the same request
before and after 5,000 finished work orders, 3,000 more customers' chats, 5,000 handled
messages and 5,000 sent ones are added. PostgreSQL has no such counter: there the request's
SELECTs are run again under EXPLAIN ANALYZE and the rows each plan node touched (returned,
filtered out or rechecked) are added up, before and after the same history. Last, the
Telegram pacing count of the outbox, on its own, before and after a year of sent messages.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import open_senders
from bot.timers import sweep
from dispatch.clock import FixedClock
from storage.db import session_factory
from storage.outbox_repo import OutboxRepository
from storage.tables import OfferRow, OutboxRow, TechnicianRow, WorkOrderRow
from tests.channel_app import Product
from tests.history import History, add_history
from webhooks.app import SERVICES
from webhooks.outbox import deliver_due
from webhooks.worker import retake_stranded

KNOWN = "+15125550126"  # Bluebonnet Senior Living (C007), a demo customer
TEXT = "Good morning, the kitchen walk-in at Manchaca is reading 45, can someone check it today"
STEP = 10  # instructions per progress-handler call
TECHNICIANS = [f"T{n:02d}" for n in range(1, 13)]
CUSTOMERS = ["C001", "C002", "C007"]  # demo customers, KNOWN's among them
M = TypeVar("M")


class Steps:
    """Counts the SQLite instructions run on the app's connection while armed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.armed = False
        event.listen(engine.sync_engine, "checkout", self._attach)

    def _attach(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        raw = dbapi_conn.driver_connection._connection  # aiosqlite's sqlite3.Connection
        raw.set_progress_handler(self._tick, STEP)

    def _tick(self) -> int:
        if self.armed:
            self.count += 1
        return 0  # go on

    async def of(self, product: Product) -> tuple[int, int]:
        """Instructions for the request, then for the worker's next pass after it: timers,
        stranded messages and the outbox's delivery."""
        self.count, self.armed = 0, True
        try:
            status, _ = await product.sms(KNOWN, TEXT)
            request, self.count = self.count, 0
            services = product.client.app[SERVICES]
            await sweep(services.bot_uows, services.bot_deps())
            await retake_stranded(services)
            assert services.sessions is not None
            async with open_senders(product.settings) as senders:
                assert await deliver_due(services.sessions, senders, product.clock) > 0
        finally:
            self.armed = False
        assert status == 200
        return request * STEP, self.count * STEP


async def _finish_everything(engine: AsyncEngine, product: Product) -> None:
    """The request's work order becomes yesterday's finished job: the next identical text
    opens a new one and finds the same day."""
    yesterday = product.clock.now() - timedelta(days=1)
    async with engine.begin() as conn:
        await conn.execute(
            update(WorkOrderRow).values(
                status="invoiced", planned_start=yesterday, planned_end=yesterday
            )
        )
        await conn.execute(update(OfferRow).values(status="withdrawn"))


async def _history(engine: AsyncEngine, product: Product) -> None:
    await _finish_everything(engine, product)
    async with engine.connect() as conn:  # the staff's and KNOWN's numbers got SMS all year
        phones = list(await conn.scalars(select(TechnicianRow.phone)))
    await add_history(
        engine, product.clock.now(), TECHNICIANS, CUSTOMERS, recipients=[*phones, KNOWN]
    )
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))  # what autovacuum does to a year-old database


async def _before_and_after(
    product: Product, engine: AsyncEngine, measure: Callable[[], Awaitable[M]]
) -> tuple[M, M]:
    """The same request measured on a day without history and on one with a year of it;
    a first one before them builds the company cache and the intake model."""
    await measure()
    await _finish_everything(engine, product)
    before = await measure()
    await _history(engine, product)
    after = await measure()
    assert await product.count("work_orders") == 5_003  # each opened a work order
    return before, after


def _app_engine(product: Product) -> AsyncEngine:
    engine = product.client.app[SERVICES].engine
    assert engine is not None
    return engine


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_new_request_costs_the_same_after_a_year_of_history(
    product: Product, engine: AsyncEngine
) -> None:
    steps = Steps(_app_engine(product))
    (before, worker_before), (after, worker_after) = await _before_and_after(
        product, engine, lambda: steps.of(product)
    )
    # A year of history may cost a few index levels more, never a visit per past job.
    assert after < before * 1.15, (before, after)
    assert worker_after < worker_before * 1.15, (worker_before, worker_after)


class Selects:
    """The SELECTs the app sends while armed, as the driver got them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.armed = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _m: Any) -> None:
        if self.armed and statement.lstrip().upper().startswith("SELECT"):
            self.sent.append((statement, params))

    async def of(self, product: Product, engine: AsyncEngine) -> dict[str, int]:
        """Rows touched per statement by one request's reads."""
        self.sent, self.armed = [], True
        try:
            status, _ = await product.sms(KNOWN, TEXT)
        finally:
            self.armed = False
        assert status == 200
        touched: dict[str, int] = {}
        async with engine.connect() as conn:
            for statement, params in self.sent:
                explained = await conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params
                )
                plan = explained.scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                key = " ".join(statement.split())
                touched[key] = touched.get(key, 0) + _rows(plan[0]["Plan"])
            await conn.rollback()  # EXPLAIN ANALYZE of a FOR UPDATE took its locks
        return touched


def _rows(node: dict[str, Any]) -> int:
    own = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
    for removed in ("Rows Removed by Filter", "Rows Removed by Index Recheck"):
        own += int(node.get(removed, 0))
    return own + sum(_rows(child) for child in node.get("Plans", []))


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_on_postgresql_a_request_reads_no_more_rows_after_a_year_of_history(
    product: Product, engine: AsyncEngine
) -> None:
    selects = Selects(_app_engine(product))
    before, after = await _before_and_after(product, engine, lambda: selects.of(product, engine))
    assert before.keys() == after.keys()
    # A different plan or a few more index pages may touch some rows more; reading the past
    # would touch thousands (the work order reads: 12 rows before, 10,017 after, without 0009).
    grew = {k[:80]: (before[k], n) for k, n in after.items() if n > before[k] + 100}
    assert not grew, grew


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_telegram_pacing_counts_the_last_second_without_reading_the_year(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    """Telegram's pacing counts the channel's sends of the last second and the messages in
    flight, each once; a year of sent messages on the channel does not make it dearer."""
    now = clock.now()
    sessions = session_factory(engine)
    async with engine.begin() as conn:
        await conn.execute(
            insert(OutboxRow),
            [
                {  # sent half a second ago
                    "channel": "telegram",
                    "recipient": "1001",
                    "kind": "text",
                    "payload": {},
                    "created_at": now,
                    "due_at": now,
                    "status": "sent",
                    "sent_at": now - timedelta(milliseconds=500),
                    "claimed_until": None,
                },
                {  # claimed by a worker and being sent
                    "channel": "telegram",
                    "recipient": "1002",
                    "kind": "text",
                    "payload": {},
                    "created_at": now,
                    "due_at": now,
                    "status": "sending",
                    "sent_at": None,
                    "claimed_until": now + timedelta(seconds=60),
                },
            ],
        )
    steps = Steps(engine)

    async def count() -> tuple[int, int]:
        async with sessions() as session:
            steps.count, steps.armed = 0, True
            try:
                active = await OutboxRepository(session).count_active(
                    "telegram", now, timedelta(seconds=1)
                )
            finally:
                steps.armed = False
        return active, steps.count * STEP

    active_before, cost_before = await count()
    await add_history(engine, now, [], [], History(work_orders=0, identities=0, messages=0))
    active_after, cost_after = await count()
    assert active_before == active_after == 2
    assert cost_after < cost_before * 1.15 + 50, (cost_before, cost_after)
