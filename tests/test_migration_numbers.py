"""Migrations build exactly the models' tables; since 0007 work order numbers go on from where
the counter row left them, on both databases, and concurrent transactions on PostgreSQL get
distinct numbers without waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from storage import billing_tables, board_tables
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.sequences import next_value
from storage.tables import Base
from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    need_postgres,
    postgres_problem,
    unique_postgres_url,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (no schema) of each kind, dropped after."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/numbers.db"
        return
    need_postgres(await asyncio.to_thread(postgres_problem))  # a loop runs: no session fixture
    url = unique_postgres_url("callout_numbers")
    await create_postgres_database(url)
    yield url
    await drop_postgres_database(url)


async def test_numbers_go_on_from_the_counter_after_the_upgrade(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        await upgrade(engine, "0006")
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO sequences (name, value) VALUES ('work_order', 1499)")
            )
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as s:
            first = await next_value(s, "work_order")
            second = await next_value(s, "work_order")
            await s.commit()
        assert (first, second) == (1500, 1501)
    finally:
        await engine.dispose()


async def test_a_fresh_database_starts_at_1001(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as s:
            assert await next_value(s, "work_order") == 1001
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_open_transactions_do_not_wait_for_each_other_on_postgresql(
    empty_url: str,
) -> None:
    if not empty_url.startswith("postgresql"):
        pytest.skip("the native sequence is PostgreSQL's; SQLite has one writer at a time")
    engine = make_engine(empty_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as a, sessions() as b:
            # a holds its number in an open transaction; b still gets one at once
            # (with a counter row b would block on a's row lock until a commits).
            first = await next_value(a, "work_order")
            second = await asyncio.wait_for(next_value(b, "work_order"), 30)
            await b.commit()
            await a.rollback()
        assert {first, second} == {1001, 1002}
    finally:
        await engine.dispose()


async def test_the_migrations_build_exactly_the_tables_of_the_models(empty_url: str) -> None:
    """Alembic's own comparison: no table, column, index or constraint differs."""
    models = {billing_tables.InvoiceLinkRow.__tablename__, board_tables.BoardLinkRow.__tablename__}
    assert models <= set(Base.metadata.tables), "every model module is registered"
    engine = make_engine(empty_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert differences == []
    finally:
        await engine.dispose()


async def test_the_partial_indexes_are_partial_as_the_models_say(empty_url: str) -> None:
    """Alembic's comparison does not look at an index's WHERE: the migrated database's own
    definitions must carry each model index's condition (migration 0011)."""
    partial = {
        str(index.name): str(index.dialect_options["sqlite"]["where"])
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if index.dialect_options["sqlite"]["where"] is not None
    }
    assert set(partial) == {
        "ix_outbox_external_id",
        "ix_outbox_recipient_sent",
        "ix_outbox_channel_sent",
        "ix_outbox_in_flight",
        "ix_inbound_unprocessed",
    }
    engine = make_engine(empty_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                query = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            else:
                query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            rows: list[Any] = list(await conn.exec_driver_sql(query))
        made: dict[str, str | None] = {str(row[0]): row[1] for row in rows}
        for name, condition in partial.items():
            definition = " ".join(str(made[name]).split()).lower()
            assert " where " in definition, (name, definition)
            # PostgreSQL writes it back its own way ("status = ANY (ARRAY[...])"): the column.
            assert condition.split()[0] in definition.split(" where ", 1)[1], (name, definition)
        others = set(made) - set(partial)
        assert not [n for n in others if n and " where " in " ".join(str(made[n]).split()).lower()]
    finally:
        await engine.dispose()
