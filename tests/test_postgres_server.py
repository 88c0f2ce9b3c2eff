"""The database server as the product meets it: PostgreSQL's pooled connections (one the
server has closed is not handed to a request, none opened and closed for a burst), the
plans of its prepared statements, and the settings it warns about at start."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import URL, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from storage.db import IDLE_PING_S, IDLE_SINCE, PLAN_CACHE_MODE, POOL_SIZE, make_engine
from storage.migrate import server_warnings
from tests.databases import need_postgres
from webhooks.app import SERVICES, init_app
from webhooks.config import Settings


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


@pytest.mark.postgres
async def test_a_statement_prepared_on_small_tables_is_not_planned_again_at_every_run(
    postgres_ready: tuple[str | None, str],
) -> None:
    """A connection lives while its tables grow. Left to choose, PostgreSQL keeps comparing
    the generic plan's cost with the average of the custom plans it made, cheap ones from
    when the table was small included, and plans every run afresh for good. The engine's
    connections use the generic plan from the first run: planned once, whatever the
    table's size. (Without the setting this run counts 25 custom plans.)"""
    problem, url = postgres_ready
    need_postgres(problem)
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(
                "CREATE TEMP TABLE plans (status text, planned_start timestamptz);"
                "CREATE INDEX ON plans (status, planned_start)"
            )
            day = await driver.prepare(
                "SELECT * FROM plans WHERE status IN ('assigned', 'working')"
                " AND (planned_start IS NULL OR planned_start >= $1 AND planned_start < $2)"
            )
            start = datetime(2026, 11, 30, 6, tzinfo=UTC)
            for _ in range(6):
                await day.fetch(start, start + timedelta(days=1))
            await driver.execute(
                "INSERT INTO plans SELECT (ARRAY['assigned', 'working', 'ready'])[1 + g % 3],"
                " timestamptz '2026-11-01' + g * interval '10 minutes'"
                " FROM generate_series(1, 20000) g; ANALYZE plans"
            )
            for _ in range(20):
                rows = await day.fetch(start, start + timedelta(days=1))
            assert len(rows) == 96  # two thirds of a day's 144 ten-minute slots
            plans = await driver.fetchrow(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE 'SELECT * FROM plans%'"
            )
            assert plans is not None
            assert (plans["generic_plans"], plans["custom_plans"]) == (26, 0)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_server_on_the_same_machine_is_reached_over_its_unix_socket(
    postgres_ready: tuple[str | None, str],
) -> None:
    """`DATABASE_URL=postgresql+asyncpg://user@/db?host=DIR`, as the README shows for a
    server on the same machine: the engine connects through the socket in DIR (no TCP: the
    server sees no client address) with the engine's own session settings."""
    problem, url = postgres_ready
    need_postgres(problem)
    tcp = make_engine(url)
    try:
        async with tcp.connect() as conn:
            folders = (await conn.execute(text("SHOW unix_socket_directories"))).scalar_one()
            port = (await conn.execute(text("SHOW port"))).scalar_one()
    finally:
        await tcp.dispose()
    here = [f.strip() for f in str(folders).split(",") if f.strip()]
    folder = next((f for f in here if Path(f, f".s.PGSQL.{port}").exists()), None)
    if folder is None:  # the server runs elsewhere (another machine, a container)
        pytest.skip(f"no socket of the server at {url} on this machine (it has {folders!r})")
    tcp_url = make_url(url)
    socket_url = URL.create(
        tcp_url.drivername,
        tcp_url.username,
        tcp_url.password,
        port=int(port),
        database=tcp_url.database,
        query={"host": folder},
    )
    engine = make_engine(socket_url.render_as_string(hide_password=False))
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT inet_client_addr() IS NULL, current_setting('plan_cache_mode')")
                )
            ).one()
        assert tuple(row) == (True, PLAN_CACHE_MODE)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_burst_opens_no_connection_that_is_closed_after_it(
    postgres_ready: tuple[str | None, str],
) -> None:
    """A burst of requests used to open connections beyond the pool's ten and close each
    as it came back: a server process, the driver's look at the types and every statement
    prepared again, each time. The pool keeps all it opens: two bursts of POOL_SIZE units
    of work at once use the same POOL_SIZE connections."""
    problem, url = postgres_ready
    need_postgres(problem)
    engine = make_engine(url)
    pids: set[int] = set()

    async def one(barrier: asyncio.Barrier) -> None:
        async with engine.connect() as conn:
            pids.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await barrier.wait()  # all of them checked out at once

    try:
        for _ in range(2):
            barrier = asyncio.Barrier(POOL_SIZE)
            await asyncio.gather(*(one(barrier) for _ in range(POOL_SIZE)))
        assert len(pids) == POOL_SIZE
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


@pytest.mark.postgres
async def test_units_of_work_beyond_the_pool_wait_for_its_connections(
    postgres_ready: tuple[str | None, str],
) -> None:
    """A process keeps `pool_size` connections and no more: more units of work at once than
    that queue in the process for one (cheap), rather than each taking a server process of
    its own that the two cores then share with the rest."""
    problem, url = postgres_ready
    need_postgres(problem)
    engine = make_engine(url, pool_size=3)
    pids: list[int] = []
    held = 0
    most = 0

    async def one() -> None:
        nonlocal held, most
        async with engine.connect() as conn:
            held += 1
            most = max(most, held)
            pids.append((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            await asyncio.sleep(0.01)  # hold it while the others ask
            held -= 1

    try:
        await asyncio.gather(*(one() for _ in range(12)))
        assert len(pids) == 12, "every unit of work ran"
        assert most == 3 and len(set(pids)) == 3
    finally:
        await engine.dispose()


async def test_the_web_process_keeps_the_pool_its_settings_name(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    """DATABASE_POOL_SIZE reaches the web process's engine on PostgreSQL; SQLite's two
    connections a process are fixed (storage.db)."""
    settings = Settings(
        database_url=database_url, media_dir=tmp_path / "media", database_pool_size=4
    )
    app = init_app(settings, worker=False)
    async with TestClient(TestServer(app)):
        made = app[SERVICES].engine
        assert made is not None and isinstance(made.pool, QueuePool)
        assert made.pool.size() == (4 if engine.dialect.name == "postgresql" else 2)
