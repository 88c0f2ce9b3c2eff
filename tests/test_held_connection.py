"""On SQLite a process's units of work take turns on one connection and begin and end their
transactions on sqlite3 itself (storage.held). They must still be transactions: one at a
time, rolled back unless committed, the ORM's writes in the same one, nothing left open for
the next unit of work to join."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.core import connection
from storage.db import WAL_AUTOCHECKPOINT, make_engine, session_factory
from storage.held import held_for
from storage.migrate import upgrade
from storage.sqlite_inline import InlineConnection
from storage.tables import SequenceRow
from storage.uow import SqlUnitOfWork


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'held.db'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


async def _value(engine: AsyncEngine, name: str) -> int | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT value FROM sequences WHERE name = :n"), {"n": name})
        ).first()
    return None if row is None else int(row[0])


async def _insert(uow: SqlUnitOfWork, name: str, value: int) -> None:
    conn = await connection(uow.session)
    await conn.execute(insert(SequenceRow), {"name": name, "value": value})


async def test_units_of_work_take_turns_and_the_next_sees_the_last_ones_commit(
    sqlite_engine: AsyncEngine,
) -> None:
    sessions = session_factory(sqlite_engine)
    entered = asyncio.Event()
    seen: list[int | None] = []

    async def second() -> None:
        async with SqlUnitOfWork(sessions) as uow:
            entered.set()
            found = await uow.session.scalar(
                select(SequenceRow.value).where(SequenceRow.name == "turns")
            )
            seen.append(found)

    async with SqlUnitOfWork(sessions) as first:
        held = first._held
        assert held is not None, "SQLite: the held connection"
        await _insert(first, "turns", 1)
        waiting = asyncio.create_task(second())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not entered.is_set(), "the second waits for its turn"
        await first.commit()
    await waiting
    assert seen == [1], "it ran after the first committed, and saw its row"


async def test_a_unit_of_work_left_without_commit_is_rolled_back_orm_writes_included(
    sqlite_engine: AsyncEngine,
) -> None:
    sessions = session_factory(sqlite_engine)
    async with SqlUnitOfWork(sessions) as uow:
        await _insert(uow, "core", 1)
        uow.session.add(SequenceRow(name="orm", value=2))
        await uow.session.flush()  # the ORM joins the transaction sqlite3 has
        held = uow._held
        assert held is not None and held.in_transaction()
    assert held is not None and not held.in_transaction()
    assert await _value(sqlite_engine, "core") is None
    assert await _value(sqlite_engine, "orm") is None
    async with SqlUnitOfWork(sessions) as uow:
        await _insert(uow, "core", 3)
        uow.session.add(SequenceRow(name="orm", value=4))  # flushed by the commit
        await uow.commit()
    assert await _value(sqlite_engine, "core") == 3
    assert await _value(sqlite_engine, "orm") == 4


async def test_a_transaction_left_open_is_not_joined_by_the_next_unit_of_work(
    sqlite_engine: AsyncEngine,
) -> None:
    held = await held_for(sqlite_engine)
    assert held is not None
    await held.take()
    conn = await held.begin()  # a unit of work cancelled before it could roll back
    await conn.execute(insert(SequenceRow), {"name": "stale", "value": 1})
    held.give_back()
    async with SqlUnitOfWork(session_factory(sqlite_engine)) as uow:
        await _insert(uow, "fresh", 2)
        await uow.commit()
    assert await _value(sqlite_engine, "fresh") == 2
    assert await _value(sqlite_engine, "stale") is None, "the stale one was rolled back"


async def test_a_unit_of_work_inside_another_goes_through_the_pool(
    sqlite_engine: AsyncEngine,
) -> None:
    sessions = session_factory(sqlite_engine)
    async with SqlUnitOfWork(sessions) as outer:
        assert outer._held is not None
        async with SqlUnitOfWork(sessions) as inner:  # waiting for its turn would never end
            assert inner._held is None
            await _insert(inner, "inner", 1)
            await inner.commit()
        await _insert(outer, "outer", 2)
        await outer.commit()
    assert await _value(sqlite_engine, "inner") == 1
    assert await _value(sqlite_engine, "outer") == 2


async def test_dispose_closes_the_held_connection(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'dispose.db'}")
    await upgrade(engine)
    held = await held_for(engine)
    assert held is not None
    await engine.dispose()
    assert held.conn.closed
    assert held.inline._connection is None, "sqlite3's connection closed with it"


async def test_postgres_goes_through_the_pool(engine: AsyncEngine) -> None:
    held = await held_for(engine)
    assert (held is None) == (engine.dialect.name == "postgresql")


async def test_both_connections_checkpoint_the_wal_every_4000_pages(
    sqlite_engine: AsyncEngine,
) -> None:
    held = await held_for(sqlite_engine)
    assert held is not None
    async with sqlite_engine.connect() as other:  # the pool's other connection
        driver = (await other.get_raw_connection()).driver_connection
        assert isinstance(driver, InlineConnection)
        for raw in (held.inline._conn, driver._conn):  # asked of sqlite3, with no transaction
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()
            assert pages == (WAL_AUTOCHECKPOINT,) == (4000,)
