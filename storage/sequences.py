"""Human numbers handed out one at a time, safe across processes."""

from __future__ import annotations

import secrets

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.core import connection
from storage.tables import SequenceRow

FIRST = {"work_order": 1001}
NATIVE = {"work_order": "work_order_numbers"}  # PostgreSQL sequences (migration 0007)


async def next_value(session: AsyncSession, name: str) -> int:
    """The next number of `name`; the row lock (PostgreSQL) or write lock (SQLite) serializes it.

    Work order numbers on PostgreSQL come from a native sequence instead: no lock held until
    commit, so concurrent requests don't queue behind each other (a rollback leaves a gap)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and name in NATIVE:
        native = await (await connection(session)).scalar(_NATIVE_NEXT, {"sequence": NATIVE[name]})
        return int(native or 0)
    # One statement: create the counter at its first value, or count on under its row lock.
    value = await (await connection(session)).scalar(
        _NEXT_PG if postgres else _NEXT_SQLITE, {"name": name, "value": FIRST.get(name, 1)}
    )
    assert value is not None
    return int(value)


async def read(session: AsyncSession, name: str) -> int | None:
    """The current value of `name`, None when it was never set."""
    value = await (await connection(session)).scalar(_READ, {"name": name})
    return None if value is None else int(value)


async def stamp(session: AsyncSession, name: str) -> int:
    """Set `name` to a new random value: a version stamp that a fresh database can never
    repeat, so a cache keyed by it cannot confuse two databases behind the same URL."""
    value = secrets.randbits(31)  # the column is a 32-bit INTEGER
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(SequenceRow).values(name=name, value=value)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["name"], set_={"value": value})
    )
    return value


_NEXT_SQLITE, _NEXT_PG = (
    dialect.insert(SequenceRow)
    .values(name=bindparam("name"), value=bindparam("value"))
    .on_conflict_do_update(index_elements=["name"], set_={"value": SequenceRow.value + 1})
    .returning(SequenceRow.value)
    for dialect in (sqlite, postgresql)
)
_NATIVE_NEXT = select(func.nextval(bindparam("sequence")))
_READ = select(SequenceRow.value).where(SequenceRow.name == bindparam("name"))
