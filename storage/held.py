"""SQLite: the connection a process's units of work take turns on, with their transactions
begun and ended on sqlite3 itself.

Through SQLAlchemy a unit of work's empty transaction (the session begun, the pool's
connection checked out, BEGIN IMMEDIATE, COMMIT, the connection checked back in) cost about
120 µs of a request's 3.3 ms, twice a request; this way about 28.
So on SQLite each engine keeps one connection of its pool checked out for its units of work
(`Held`); a unit of work waits for its turn on it (an asyncio lock, as it waited for the
pool's one connection before), begins with its first statement and ends with its commit or
rollback, both on sqlite3. The rest of the process (the outbox worker's sessions, health
checks, exports) uses the pool's other connection; the two take turns on SQLite's write lock
through the advisory writer lock, as two processes do (`storage.sqlite_inline`).

The unit of work's session is bound to the held connection, so what goes through the ORM
(an object added and flushed, a statement SQLAlchemy runs itself) lands in the same
transaction: the engine's "begin" listener joins the transaction sqlite3 already has
(`storage.db`), and the unit of work commits through SQLAlchemy whenever SQLAlchemy began.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.util.concurrency import await_, in_greenlet

from storage.core import Connection, announce, driver_error
from storage.db import BEGIN
from storage.sqlite_inline import InlineConnection


class Held:
    """One engine's connection for its units of work, and whose turn it is."""

    def __init__(self, conn: AsyncConnection, inline: InlineConnection) -> None:
        self.conn = conn
        self.inline = inline
        self.core = Connection(conn, inline)
        self.loop = asyncio.get_running_loop()
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[object] | None = None
        self.spare: list[AsyncSession] = []
        self.broken = False

    def mine(self) -> bool:
        """Whether the running task has the turn (a unit of work inside another's)."""
        return self.lock.locked() and self.owner is asyncio.current_task()

    async def take(self) -> None:
        """Wait for the turn. A transaction the last unit of work left open (its task
        cancelled while it rolled back) is rolled back first: it must not be joined."""
        await self.lock.acquire()
        self.owner = asyncio.current_task()
        try:
            if self.in_transaction() or self.conn.in_transaction():
                await self.end(commit=False)
        except BaseException as err:
            self.broken = self.broken or isinstance(err, ValueError)  # closed
            self.give_back()
            raise

    def give_back(self) -> None:
        self.owner = None
        self.lock.release()

    def in_transaction(self) -> bool:
        return bool(self.inline._conn.in_transaction)

    async def begin(self) -> Connection:
        """BEGIN IMMEDIATE on sqlite3 (waiting for another process's write lock off the
        loop's thread, as every BEGIN does), told to the engine's listeners like SQLAlchemy's
        own statements."""
        sync = self.conn.sync_connection
        if sync is not None:
            announce(sync, BEGIN, ())
        await self._run(BEGIN, self.inline._conn.execute, BEGIN)
        return self.core

    async def end(self, *, commit: bool) -> None:
        """COMMIT or ROLLBACK what is open: first what SQLAlchemy began itself (its
        connection's transaction), then sqlite3's."""
        if self.conn.in_transaction():
            if commit:
                await self.conn.commit()
            else:
                await self.conn.rollback()
        if self.in_transaction():
            if commit:
                await self._run("COMMIT", sqlite3.Connection.commit, self.inline._conn)
            else:
                await self._run("ROLLBACK", sqlite3.Connection.rollback, self.inline._conn)

    async def _run(self, sql: str, fn: Callable[..., object], arg: object) -> None:
        try:
            await self.inline._execute(fn, arg)
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError, ValueError):
            self.broken = True  # closed: the next unit of work connects again (held_for)
            raise
        except sqlite3.Error as err:
            raise driver_error(err, sql, (), self.conn.dialect) from err


_HELD: WeakKeyDictionary[Engine, Held] = WeakKeyDictionary()


async def held_for(engine: AsyncEngine) -> Held | None:
    """The engine's held connection (connected on first use), or None where units of work
    go through the pool as before: PostgreSQL, another event loop than the one it was made
    on."""
    sync = engine.sync_engine
    held = _HELD.get(sync)
    if held is not None:
        if held.broken and not held.lock.locked():
            _HELD.pop(sync, None)
            with contextlib.suppress(Exception):  # it is closed already, or as good as
                await _close(held)
        elif held.loop is asyncio.get_running_loop():
            return held
        else:
            return None
    if sync.dialect.name != "sqlite":
        return None
    conn = await engine.connect()
    inline = conn.sync_connection.connection.driver_connection if conn.sync_connection else None
    if not isinstance(inline, InlineConnection):
        await conn.close()
        return None
    if sync in _HELD:  # another task connected meanwhile
        await conn.close()
        return _HELD[sync]
    held = _HELD[sync] = Held(conn, inline)
    return held


async def _close(held: Held) -> None:
    try:
        await held.conn.invalidate()
    finally:
        await held.conn.close()


@event.listens_for(Engine, "engine_disposed")
def _close_on_dispose(engine: Engine) -> None:
    """`await engine.dispose()` closes the held connection too: it is checked out, so the
    pool's disposal alone would leave it (and its thread) open. Runs in SQLAlchemy's
    greenlet, where awaiting is allowed."""
    held = _HELD.pop(engine, None)
    if held is not None and in_greenlet() and held.loop is _running_loop():
        await_(_close(held))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
