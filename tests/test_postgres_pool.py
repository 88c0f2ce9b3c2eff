"""PostgreSQL's pooled connections: one the server has closed is not handed to a request."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.db import make_engine
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
