"""Core statements on the session's own connection, without the ORM session in between.

The hot paths run statements built once at import (Core inserts, updates and selects of
columns). Sent through `AsyncSession.execute`, each also pays for the ORM's execution
machinery (about 30 µs of 75 for a small select on SQLite); sent on the connection the
session holds for its transaction, it does not. Same connection, same transaction: the
ORM's own writes are flushed explicitly by the repositories before anything reads them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

_KEY = "callout.connection"  # Session.info: (transaction, its connection)


async def connection(session: AsyncSession) -> AsyncConnection:
    """The connection of the session's current transaction (begun here if need be)."""
    sync = session.sync_session
    held = sync.info.get(_KEY)
    if held is not None and held[0] is sync.get_transaction() and held[0] is not None:
        conn: AsyncConnection = held[1]
        return conn
    conn = await session.connection()
    sync.info[_KEY] = (sync.get_transaction(), conn)
    return conn


def database_key(session: AsyncSession) -> str:
    """Which database the session talks to, as a key for what a process keeps per database
    (the company, the day): two engines on one database share it."""
    return session.get_bind().engine.url.render_as_string(hide_password=False)
