"""SQLite with the statements run on the event loop's thread, for SQLAlchemy's asyncio engine.

`InlineConnection` is aiosqlite's connection with the thread used only for what can wait;
`InlineDbapi` is the DBAPI that SQLAlchemy's aiosqlite dialect is given (create_async_engine's
`module`): the same dialect, with cursors that run a statement and fetch its rows in one
await instead of one await per cursor call.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_, in_greenlet

BUSY_TIMEOUT_MS = 30000  # how long a statement waits for another process's lock
WRITER_POLL_S = 0.001  # how often a waiting process tries the advisory writer lock


def _is_begin(args: Sequence[Any]) -> bool:
    return bool(args) and isinstance(args[0], str) and args[0].lstrip()[:5].upper() == "BEGIN"


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
        """aiosqlite's own calls (connect, close, its cursors): inline when they can be."""
        done, result = self._try_inline(fn, *args, **kwargs)
        if done:
            return result
        return await self._on_thread(fn, *args, **kwargs)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` with the sqlite3 connection, from SQLAlchemy's side (its greenlet):
        inline when it can be, otherwise on the thread, awaited from the greenlet."""
        done, result = self._try_inline(fn, *args)
        if done:
            return result
        return await_(self._on_thread(fn, *args))

    def _try_inline(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """Run it here and now, unless something is still pending on the thread (it would
        be two threads on one sqlite3 connection) or it is a BEGIN that would have to wait
        for another process: (False, None) then, and the caller sends it to the thread."""
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        with self._queued_lock:
            if self._queued:
                return False, None
        if _is_begin(args):
            if not self._take_writer(wait=False):
                return False, None
            try:
                return self._begin_now(fn, *args, **kwargs)
            except BaseException:
                self._release_writer()
                raise
        try:
            return True, fn(*args, **kwargs)
        finally:
            self._release_writer()

    async def _on_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """On aiosqlite's thread; every later call queues behind it there until it is done.
        A BEGIN first waits there for the advisory lock."""
        begin = _is_begin(args)
        with self._queued_lock:
            self._queued += 1

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


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, on a plain sqlite3 cursor. A statement and its rows are
    one await (SQLAlchemy's asyncio layer wants one a statement), which runs inline and
    does not suspend unless it must; making and closing the cursor are plain calls. With
    aiosqlite's cursor it took four awaits (cursor, execute, fetchall, close), each a switch
    out of SQLAlchemy's greenlet and back: a small select took 50 µs, now 39, and an SMS
    request 24.6 M instructions in the web process, now 23.7 (`python -m tests.bench
    instructions`)."""

    __slots__ = ()
    _awaitable_cursor_close = False  # closing it is one more call, not an await
    _connection: InlineConnection  # type: ignore[assignment]
    _cursor: sqlite3.Cursor  # type: ignore[assignment]

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        self._adapt_connection = adapt_connection
        connection = adapt_connection._connection
        assert isinstance(connection, InlineConnection)
        self._connection = connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()
        try:
            self._cursor = connection.call(connection._conn.cursor)
        except Exception as error:
            adapt_connection._handle_exception(error)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._connection._execute(self._run, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def _run(self, operation: Any, parameters: Any) -> Any:
        cursor = self._cursor
        if parameters is None:
            result = cursor.execute(operation)
        else:
            result = cursor.execute(operation, parameters)
        if cursor.description:
            self._rows = deque(cursor.fetchall())
        return result

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            run = self._cursor.executemany
            return await_(self._connection._execute(run, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def close(self) -> None:
        self._rows.clear()
        if self._connection._connection is not None and in_greenlet():
            self._connection.call(self._cursor.close)
        # Outside a greenlet (the garbage collector's), sqlite3 closes it when it goes.


class InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = InlineCursor
    _connection: InlineConnection  # type: ignore[assignment]

    def commit(self) -> None:
        self._end(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._end(sqlite3.Connection.rollback)

    def _end(self, how: Callable[[sqlite3.Connection], None]) -> None:
        if self._connection._connection is not None:
            try:
                self._connection.call(how, self._connection._conn)
            except Exception as error:
                self._handle_exception(error)


class InlineDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite dialect's DBAPI, connecting through `async_creator` (InlineConnection)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> InlineAdaptedConnection:
        creator = kw.pop("async_creator_fn")
        return InlineAdaptedConnection(self, await_(creator(*arg, **kw)))
