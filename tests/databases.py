"""Real databases for tests: a fresh SQLite file per test, and the local PostgreSQL server.

PostgreSQL tests are skipped with a visible reason when no server answers, and fail under
CI=true, where the server must be there.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.billing_tables
import storage.board_tables  # noqa: F401  (their tables are truncated between tests too)
from storage.db import make_engine
from storage.migrate import upgrade
from storage.tables import Base

POSTGRES_URL = os.environ.get(
    "CALLOUT_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_problem() -> str | None:
    """None when the server answers, else why not."""

    async def probe() -> None:
        engine = make_engine(POSTGRES_URL)
        try:
            async with engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 5)
        finally:
            await engine.dispose()

    try:
        asyncio.run(asyncio.wait_for(probe(), 10))
    except Exception as err:  # any failure to connect means "not available"
        return f"PostgreSQL at {POSTGRES_URL} did not answer: {type(err).__name__}: {err}"
    return None


def session_database_url() -> str:
    """This test session's own database on the server: parallel test runs don't collide."""
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/callout_test_{os.getpid()}"


async def _admin(sql: str) -> None:
    engine = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def need_postgres(problem: str | None) -> None:
    """Skip the test, with the reason, when the server is not there; under CI=true fail."""
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true needs PostgreSQL: {problem}")
    pytest.skip(problem)


async def create_postgres_database(url: str) -> None:
    """An empty database at `url` on the server (dropped first if it is left over)."""
    await drop_postgres_database(url)
    await _admin(f'CREATE DATABASE "{url.rpartition("/")[2]}"')


def unique_postgres_url(prefix: str) -> str:
    """A database name no other test run on the server uses (several people, CI)."""
    return f"{POSTGRES_URL.rpartition('/')[0]}/{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


async def fresh_postgres_database() -> str:
    """Create this session's database and run the real migrations on it."""
    url = session_database_url()
    await create_postgres_database(url)
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


async def drop_postgres_database(url: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


async def truncate_postgres(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await conn.execute(text("ALTER SEQUENCE work_order_numbers RESTART WITH 1001"))


@asynccontextmanager
async def work_orders_given_up(engine: AsyncEngine, times: int) -> AsyncIterator[None]:
    """PostgreSQL gives the first `times` work-order inserts up as a deadlock would (SQLSTATE
    40P01), while inside. The count is the sequence `given_up` (a rollback does not take it
    back): `given_up_so_far` reads it. Skips the test on SQLite, which has no such thing."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no transaction is given up for another")
    install = (
        "CREATE SEQUENCE given_up",
        "CREATE FUNCTION give_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF nextval('given_up') <= {int(times)} THEN"
        " RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF;"
        " RETURN NEW; END $$",
        "CREATE TRIGGER give_up BEFORE INSERT ON work_orders"
        " FOR EACH ROW EXECUTE FUNCTION give_up()",
    )
    take_back = (
        "DROP TRIGGER give_up ON work_orders",
        "DROP FUNCTION give_up()",
        "DROP SEQUENCE given_up",
    )
    async with engine.begin() as conn:
        for statement in install:
            await conn.execute(text(statement))
    try:
        yield
    finally:
        async with engine.begin() as conn:
            for statement in take_back:
                await conn.execute(text(statement))


async def given_up_so_far(engine: AsyncEngine) -> int:
    """How many work-order inserts `work_orders_given_up` has seen."""
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT last_value FROM given_up"))).scalar_one())


async def sqlite_template(folder: Path) -> Path:
    """A migrated SQLite file, made once and copied for each test (migrations take ~0.5 s)."""
    path = folder / "template.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()  # closing the last connection folds the WAL into the file
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def copy_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements the engine's listeners are told of meanwhile, SQLAlchemy's and the
    short way's (storage.core) alike, whitespace folded."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
