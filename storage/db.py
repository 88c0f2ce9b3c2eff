"""Engines and sessions: SQLite (WAL, foreign keys on) by default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import aiosqlite
from sqlalchemy import event, exc, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from storage import day_version
from storage.core import announce, driver_error
from storage.sqlite_inline import BUSY_TIMEOUT_MS, InlineConnection, InlineDbapi

DEFAULT_URL = "sqlite+aiosqlite:///callout.db"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, echo: bool = False, pool_size: int | None = None) -> AsyncEngine:
    """The engine for `url`. `pool_size`: on PostgreSQL, the connections the process keeps
    (POOL_SIZE unless given); SQLite's are fixed (below)."""
    if is_sqlite(url):
        # Two connections per process: one held for the units of work, which take turns on
        # it (storage.held), and one for the rest (the outbox worker's sessions, health
        # checks). SQLite has one writer at a time anyway; the two, and other processes,
        # take turns through the writer lock (InlineConnection), not SQLite's busy handler
        # sleeping up to 100 ms at a time (that capped a web process at ~20 req/s).
        database = make_url(url).database or ":memory:"

        async def connect() -> aiosqlite.Connection:
            return await InlineConnection(
                lambda: sqlite3.connect(database, timeout=30, check_same_thread=False),
                64,
                writer_lock=None if database == ":memory:" else f"{database}-writer",
            )

        engine = create_async_engine(
            url,
            echo=echo,
            async_creator=connect,
            module=InlineDbapi(),
            pool_size=2,
            max_overflow=0,
            pool_timeout=300,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # SQLite's own transaction handling in pysqlite defers BEGIN; emit it ourselves so
        # that a read-then-write transaction takes the write lock up front (no lost upgrades).
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=POOL_SIZE if pool_size is None else pool_size,
        max_overflow=0,
        connect_args={"server_settings": {"plan_cache_mode": PLAN_CACHE_MODE}},
    )
    event.listen(engine.sync_engine, "checkin", _idle_from_now)
    event.listen(engine.sync_engine, "checkout", _drop_if_closed)
    day_version.watch(engine)
    return engine


# PostgreSQL: the connections a process keeps (DATABASE_POOL_SIZE), all of them: the pool
# used to keep 10 and open 10 more for a burst, closing each of those as it came back, and
# each new connection costs a server process, asyncpg's look at the server's types (13 ms
# of the server's time) and every statement prepared and planned afresh. And only a few: a
# unit of work that finds them all busy waits in the process for one, cheaply, where one
# more connection is one more server process taking turns on the same cores with the
# others (with 40, likely each with its caches cold when its turn came). Two web
# processes on a 2-core machine, the same climb in turn (tests/bench/HISTORY.md, twentieth
# stop): with 6 each the best rates were 321.7, 340.1, 353.8, 279.2, 265.0, 317.8 and
# 324.7 a second, with 20 each 293.1, 299.7, 303.8, 211.7 and 299.6, with 4 313.5, 299.9
# and 321.4; the server's CPU a request at 400 offered about 1.5-1.7 ms with 6 against
# 1.9-2.1 with 20. Four processes (2 web, 2 worker) hold 24, well within the server's
# default 100.
POOL_SIZE = 6

# Each statement is prepared once per connection and planned once, not at every run
# (PostgreSQL's `plan_cache_mode`). Left to choose, the server compares the generic plan's
# cost with the average cost of the custom plans it made so far, and a connection opened
# while the tables were small keeps that average low for good: as the tables grow, the
# generic plan always looks dearer and every run is planned again. The day's read was
# planned at each of a request's two or three runs (0.45 to 0.7 ms of the server's time
# each, against 0.09 generic). The statements' constants are written in (storage.core) and
# their parameters (a day's bounds, a customer, technicians) don't change the best plan.
PLAN_CACHE_MODE = "force_generic_plan"
MAX_POOL_SIZE = 100  # DATABASE_POOL_SIZE's bound: the server's default max_connections

IDLE_PING_S = 30.0  # a pooled connection idle longer than this is pinged before use
IDLE_SINCE = "callout.idle_since"  # the pool entry's info: when it was last checked in


def _idle_from_now(_dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info[IDLE_SINCE] = time.monotonic()


def _drop_if_closed(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has closed (a restart, a terminated
    backend) is replaced before it is used. asyncpg sees the server close the socket while
    the connection sits in the pool, so asking it costs nothing. The pool's pre-ping asked
    the server on every checkout instead: three round trips (BEGIN, a statement, ROLLBACK),
    two checkouts a request. Only a connection idle for IDLE_PING_S is pinged now: what can
    die without its socket closing (a firewall's or a proxy's idle timeout) has sat idle,
    and a busy process's connections are never idle that long."""
    driver = record.driver_connection
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the database closed this connection")
    idle_since = record.info.get(IDLE_SINCE)
    if idle_since is not None and time.monotonic() - idle_since > IDLE_PING_S:
        try:
            dbapi_conn.ping()
        except Exception as err:
            raise exc.DisconnectionError("the database did not answer a ping") from err


# Pages written to the WAL before a commit copies them back to the database (SQLite's
# default is 1,000). Each of those checkpoints ends with two fsyncs, which the committing
# request waits for on the loop's thread: 1.2 ms each on the fourteenth stop's machine,
# 0.14 ms of a request's 3.3 on average. At 4,000, a quarter as many checkpoints, each a
# little longer (2.1 ms a fsync), half as many pages copied (a hot page is copied once per
# checkpoint, however often it was written): about 0.05 ms a request less waiting, and a
# WAL file of up to 16 MB. 10,000 gained little more and waited up to 24 ms at a time.
WAL_AUTOCHECKPOINT = 4000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener below start transactions
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """BEGIN IMMEDIATE, straight to the driver like the statements built once
    (storage.core): through `exec_driver_sql` it was a whole execution context, twice a
    request. Listeners still see it."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, InlineConnection):
        conn.exec_driver_sql(BEGIN)
        return
    if driver._conn.in_transaction:
        # A unit of work's held connection, begun on sqlite3 (storage.held): SQLAlchemy's
        # transaction (the ORM's, a statement it runs itself) joins that one.
        return
    announce(conn, BEGIN, ())
    try:
        driver.call(driver._conn.execute, BEGIN)
    except sqlite3.Error as err:
        raise driver_error(err, BEGIN, (), conn.dialect) from err


BEGIN = "BEGIN IMMEDIATE"


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
