"""Engines and sessions: SQLite (WAL, foreign keys on) by default, PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
from sqlalchemy import event, exc, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

DEFAULT_URL = "sqlite+aiosqlite:///callout.db"
BUSY_TIMEOUT_MS = 30000  # how long a statement waits for another process's lock
WRITER_POLL_S = 0.001  # how often a waiting process tries the advisory writer lock


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        # One connection per process: SQLite has one writer at a time anyway, and waiting for
        # the pooled connection is an asyncio wait, where waiting on SQLite's lock is its busy
        # handler sleeping up to 100 ms at a time (that capped a web process at ~20 req/s).
        # Other processes take turns with this one through the writer lock (InlineConnection).
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
            pool_size=1,
            max_overflow=0,
            pool_timeout=300,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # SQLite's own transaction handling in pysqlite defers BEGIN; emit it ourselves so
        # that a read-then-write transaction takes the write lock up front (no lost upgrades).
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=10)
    event.listen(engine.sync_engine, "checkin", _idle_from_now)
    event.listen(engine.sync_engine, "checkout", _drop_if_closed)
    return engine


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


class InlineConnection(aiosqlite.Connection):
    """aiosqlite, with the statements run on the event loop's thread.

    aiosqlite hands every call (cursor, execute, fetch, close: three or four a statement) to
    its own thread and back. Against a local file a statement takes microseconds and the hop
    about 0.2 ms, most of a request's time. The process has one connection (see make_engine)
    used by one task at a time, so nothing is gained by the thread. The one call that can
    wait is BEGIN IMMEDIATE, for another process's write lock: it still goes to the thread,
    so the loop keeps serving while it waits. Connecting and closing use the thread as well.

    sqlite3 must never be used from two threads at once: while anything sent to the thread
    has not finished (a BEGIN whose waiting task was cancelled, say), every later call queues
    behind it on the thread instead of running inline.

    Processes on one file (the Procfile's web and worker, or two web processes) also take
    an advisory lock on `<database>-writer` (flock) for each transaction, from BEGIN until it
    ends. A process that finds it taken waits for it on the thread, trying it every
    millisecond, where SQLite's busy handler sleeps 1 to 100 ms between tries: that sleeping
    cost a web process beside a worker a p99 of 169-381 ms at 100 requests a second (22-75 ms
    with the lock). SQLite's own lock still decides; a writer that does not take the
    advisory lock (the sqlite3 shell) is waited for with busy_timeout, as before. The kernel
    drops the lock with its process, however that process ends.
    """

    def __init__(
        self,
        connector: Callable[[], sqlite3.Connection],
        iter_chunk_size: int,
        *,
        writer_lock: str | None = None,
    ) -> None:
        super().__init__(connector, iter_chunk_size)
        self._queued = 0  # calls handed to the thread and not finished there
        self._queued_lock = threading.Lock()
        self._writer_fd: int | None = None
        if writer_lock is not None:
            # Where it cannot be made, SQLite cannot make its -wal file either.
            self._writer_fd = os.open(writer_lock, os.O_RDWR | os.O_CREAT, 0o600)
        self._writing = False  # this connection holds the advisory lock

    def _take_writer(self, *, wait: bool) -> bool:
        """The advisory writer lock; False when another process has it. With `wait` (on
        aiosqlite's thread) it tries every millisecond for as long as busy_timeout, then
        gives up and lets BEGIN wait on SQLite's own lock: a process stuck in a transaction
        gets the same "database is locked" as before, not a wait without end."""
        if self._writer_fd is None or self._writing:
            return True
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                fcntl.flock(self._writer_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait or time.monotonic() > deadline:
                    return False
                time.sleep(WRITER_POLL_S)
                continue
            self._writing = True
            return True

    def _release_writer(self) -> None:
        """Let the lock go once no transaction is open (after COMMIT, ROLLBACK, a failed
        BEGIN or the close): checked after every call, so it cannot outlive the transaction."""
        if not self._writing or self._writer_fd is None:
            return
        conn = self._connection
        try:
            open_now = conn is not None and conn.in_transaction
        except sqlite3.ProgrammingError:  # closed
            open_now = False
        if not open_now:
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)
            self._writing = False

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._writer_fd is not None:
                os.close(self._writer_fd)  # lets the lock go too
                self._writer_fd, self._writing = None, False

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        begin = bool(args) and isinstance(args[0], str) and args[0].lstrip()[:5].upper() == "BEGIN"
        with self._queued_lock:
            idle = self._queued == 0
        if idle and begin and self._take_writer(wait=False):
            try:
                began, result = self._begin_now(fn, *args, **kwargs)
            except BaseException:
                self._release_writer()
                raise
            if began:
                return result
        with self._queued_lock:
            threaded = begin or self._queued > 0
            if threaded:
                self._queued += 1
        if not threaded:
            try:
                return fn(*args, **kwargs)
            finally:
                self._release_writer()

        def run() -> Any:
            try:
                if begin and not self._take_writer(wait=True):
                    # Another of our processes has held its transaction for busy_timeout
                    # already: answer "database is locked" now, not after a second wait.
                    with self._no_busy_wait():
                        return fn(*args, **kwargs)
                return fn(*args, **kwargs)
            finally:
                self._release_writer()
                with self._queued_lock:
                    self._queued -= 1

        return await super()._execute(run)  # type: ignore[no-untyped-call]

    def _begin_now(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """BEGIN here when the write lock is free (the usual case: one hop to the thread
        and back saved per transaction); False when another process holds it, and the
        caller waits for it on the thread as before. busy_timeout 0 makes SQLite answer at
        once instead of sleeping on the loop's thread."""
        try:
            with self._no_busy_wait():
                return True, fn(*args, **kwargs)
        except sqlite3.OperationalError as err:
            if err.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            return False, None

    @contextmanager
    def _no_busy_wait(self) -> Iterator[None]:
        conn = self._connection
        assert conn is not None
        conn.execute("PRAGMA busy_timeout=0")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener below start transactions
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
