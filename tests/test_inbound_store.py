"""An inbound message is stored and committed before it is handled, so that a handler that
fails or dies leaves it for the error path or the sweep. On PostgreSQL the store commits as
it runs (outside a transaction), and a message without media is then handled in the same
unit of work: one connection from the pool a message, not two. On SQLite the store is
committed by a unit of work of its own, as before. Both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import texts
from bot.inbound import ATTEMPTS
from dispatch.ports import Contention
from storage.db import session_factory
from storage.tables import InboundRow
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product
from tests.databases import given_up_so_far, work_orders_given_up
from webhooks.app import SERVICES

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


async def test_stored_apart_only_where_the_store_commits_as_it_runs(engine: AsyncEngine) -> None:
    """PostgreSQL: the first statement of a unit of work, run alone, is committed whatever
    the unit of work does next, a rollback included. Run after another statement, it is in
    the transaction. SQLite: always in the transaction, which the rollback takes back."""
    postgres = engine.dialect.name == "postgresql"
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions) as uow:
        assert await uow.inbound.store("sms", "SM-first", "+15125550126", "{}", NOW, alone=True)
        assert uow.inbound.stored_apart is postgres
        await uow.inbound.count_since("sms", "+15125550126", NOW - timedelta(minutes=1))
        await uow.rollback()
    async with SqlUnitOfWork(sessions) as uow:
        await uow.inbound.count_since("sms", "+15125550126", NOW - timedelta(minutes=1))
        assert await uow.inbound.store("sms", "SM-after", "+15125550126", "{}", NOW, alone=True)
        assert uow.inbound.stored_apart is False
        await uow.rollback()
    async with engine.connect() as conn:
        kept = (await conn.execute(select(InboundRow.external_id))).scalars().all()
    assert kept == (["SM-first"] if postgres else [])


async def test_an_sms_takes_one_connection_from_the_pool(product: Product) -> None:
    """Stored and handled in one unit of work on PostgreSQL: one checkout where there were
    two (the store's, then the handling's). SQLite's units of work take turns on the
    connection the process holds, with no checkout at all."""
    engine = product.client.app[SERVICES].engine
    assert engine is not None
    await product.sms("+15125550126", "the kitchen walk-in cooler is reading 45, please check")
    checkouts: list[object] = []

    def note(_dbapi: Any, record: Any, _proxy: Any) -> None:
        checkouts.append(record)

    event.listen(engine.sync_engine.pool, "checkout", note)
    try:
        status, _ = await product.sms(
            "+15125550126", "another problem: the toilet in the lobby keeps running all night"
        )
    finally:
        event.remove(engine.sync_engine.pool, "checkout", note)
    assert status == 200 and await product.count("work_orders") == 2
    assert len(checkouts) == (1 if engine.dialect.name == "postgresql" else 0)


_REFUSE = {
    "postgresql": [
        "CREATE FUNCTION refuse_work_order() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'work orders refused'; END $$",
        "CREATE TRIGGER refuse_work_order BEFORE INSERT ON work_orders"
        " FOR EACH ROW EXECUTE FUNCTION refuse_work_order()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse_work_order BEFORE INSERT ON work_orders"
        " BEGIN SELECT RAISE(ABORT, 'work orders refused'); END",
    ],
}
_ALLOW = {
    "postgresql": [
        "DROP TRIGGER refuse_work_order ON work_orders",
        "DROP FUNCTION refuse_work_order()",
    ],
    "sqlite": ["DROP TRIGGER refuse_work_order"],
}


async def _run(engine: AsyncEngine, statements: list[str]) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_a_message_whose_handling_fails_is_kept_and_answered(product: Product) -> None:
    """The database refuses the work order the text would open. The handling's transaction
    rolls back; the message stays stored (on PostgreSQL it was handled in the unit of work
    that stored it), is marked processed with the error, and the customer is told."""
    dialect = product.engine.dialect.name
    await _run(product.engine, _REFUSE[dialect])
    try:
        status, twiml = await product.sms("+15125550126", "the kitchen sink is clogged again")
    finally:
        await _run(product.engine, _ALLOW[dialect])
    assert status == 200
    assert texts.sorry() in twiml
    async with product.engine.connect() as conn:
        rows = (
            await conn.execute(select(InboundRow.sender, InboundRow.processed_at, InboundRow.error))
        ).all()
    [(sender, processed_at, error)] = rows
    assert sender == "+15125550126" and processed_at is not None
    assert error is not None and "work orders refused" in error
    assert await product.count("work_orders") == 0


async def _sms_given_up(product: Product, times: int) -> tuple[int, str, int]:
    """A new problem texted while PostgreSQL gives the first `times` work-order inserts up:
    the status, the TwiML, and how many times the handling tried."""
    async with work_orders_given_up(product.engine, times):
        status, twiml = await product.sms("+15125550126", "the kitchen sink is clogged again")
        tries = await given_up_so_far(product.engine)
    return status, twiml, tries


async def _inbound(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(InboundRow.processed_at, InboundRow.error))
        return list(rows.all())


async def test_a_handling_given_up_for_a_concurrent_one_runs_again(product: Product) -> None:
    """Under load two messages' assignments can lock the same technicians and work orders in
    turn, and PostgreSQL then gives one transaction up (a deadlock). The message is stored;
    its handling runs again, and the customer gets the work order, not an apology."""
    status, twiml, tries = await _sms_given_up(product, 1)
    assert status == 200 and texts.sorry() not in twiml and "service address" in twiml
    assert tries == 2  # given up once, then handled
    assert await product.count("work_orders") == 1
    [(processed_at, error)] = await _inbound(product.engine)
    assert processed_at is not None and error is None


async def test_a_handling_given_up_every_time_is_answered_after_its_attempts(
    product: Product,
) -> None:
    """Given up at every attempt: after ATTEMPTS the message is kept with the error and the
    customer told, as for any handling that fails."""
    status, twiml, tries = await _sms_given_up(product, 100)
    assert status == 200 and texts.sorry() in twiml
    assert tries == ATTEMPTS
    assert await product.count("work_orders") == 0
    [(processed_at, error)] = await _inbound(product.engine)
    assert processed_at is not None and error is not None and "deadlock detected" in error


async def test_a_real_deadlock_is_contention(product: Product) -> None:
    """Two units of work lock two technicians in opposite orders: PostgreSQL finds the
    deadlock and gives one up, which its unit of work reports as Contention (the error the
    handling is run again for); the other goes on and commits."""
    if product.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: two transactions cannot deadlock")
    async with product.engine.connect() as conn:
        first, second = (
            await conn.execute(text("SELECT id FROM technicians ORDER BY id LIMIT 2"))
        ).scalars()
    sessions = session_factory(product.engine)
    both_hold_one = asyncio.Barrier(2)

    async def lock(one: str, then: str) -> str:
        try:
            async with SqlUnitOfWork(sessions) as uow:
                await uow.assignments.lock_technician(one)
                await both_hold_one.wait()
                await uow.assignments.lock_technician(then)
                await uow.commit()
        except Contention:
            return "given up"
        return "committed"

    outcomes = await asyncio.gather(lock(first, second), lock(second, first))
    assert sorted(outcomes) == ["committed", "given up"]
