"""The database server as the product meets it: PostgreSQL's pooled connections (one the
server has closed is not handed to a request) and the settings it warns about at start."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import IDLE_PING_S, IDLE_SINCE, make_engine
from storage.migrate import server_warnings
from tests.databases import need_postgres


@pytest.mark.postgres
async def test_a_connection_the_server_closed_is_replaced_before_a_request_uses_it(
    postgres_ready: tuple[str | None, str],
) -> None:
    """A restart or a terminated backend leaves closed connections in each process's pool.
    The next unit of work gets a new one, without the pre-ping round trips it used to cost."""
    problem, url = postgres_ready
    need_postgres(problem)
    engine = make_engine(url)
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None  # back in the pool, open
        async with admin.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(500):  # the loop reads the server's goodbye and the closed socket
            if driver.is_closed():
                break
            await asyncio.sleep(0.01)
        assert driver.is_closed()
        async with engine.begin() as conn:
            again = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
    finally:
        await engine.dispose()
        await admin.dispose()


@pytest.mark.postgres
async def test_only_a_connection_idle_for_long_is_pinged_before_use(
    postgres_ready: tuple[str | None, str],
) -> None:
    """A connection can die without its socket closing (a firewall's idle timeout): one idle
    for IDLE_PING_S is pinged at checkout, as the pool's pre-ping did for every checkout.
    One just used is not: the ping's round trips were six of a request's ~27."""
    problem, url = postgres_ready
    need_postgres(problem)
    engine = make_engine(url)
    sent: list[str] = []
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver, info = raw.driver_connection, raw.info
        assert driver is not None
        # asyncpg's query logger sees transaction control and the ping's ";", not the
        # statements SQLAlchemy prepares: a unit of work shows as BEGIN and its end.
        driver.add_query_logger(lambda record: sent.append(record.query))
        async with engine.connect() as conn:  # just checked in: no ping
            await conn.execute(text("SELECT 1"))
        assert sent == ["BEGIN;", "ROLLBACK;"], sent
        sent.clear()
        info[IDLE_SINCE] -= IDLE_PING_S + 1  # as if idle that long
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 2"))
        assert sent == ["BEGIN;", ";", "ROLLBACK;", "BEGIN;", "ROLLBACK;"], sent
    finally:
        await engine.dispose()


async def _autovacuum_off(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return str((await conn.execute(text("SHOW autovacuum"))).scalar_one()) == "off"


async def test_a_server_without_autovacuum_is_named_at_start(
    caplog: pytest.LogCaptureFixture,
    engine: AsyncEngine,
    client: TestClient[web.Request, web.Application],
) -> None:
    """Statistics never refreshed make every request's day read dearer as the database
    grows: the web process says so when it starts. SQLite has nothing to say; PostgreSQL
    warns exactly when the server reports autovacuum off (this machine's does)."""
    warned = [
        r.getMessage()
        for r in caplog.get_records("setup")
        if r.levelno == logging.WARNING and "autovacuum" in r.getMessage()
    ]
    expected = engine.dialect.name == "postgresql" and await _autovacuum_off(engine)
    assert (
        warned
        == (await server_warnings(engine))
        == (
            [
                "PostgreSQL runs with autovacuum off: table statistics go stale and requests slow "
                "down as the database grows; turn it on (the server's default) or run ANALYZE "
                "regularly"
            ]
            if expected
            else []
        )
    )
