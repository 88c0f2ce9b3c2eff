"""Statements built once go the short way (storage.core): compiled once, straight to the
sqlite3 connection or to asyncpg's. What comes back must be what SQLAlchemy's own execution
gives, value for value and type for type; what cannot be prepared must still run (through
SQLAlchemy); errors must be SQLAlchemy's; listeners must still see every statement; a
statement sent the short way first must be inside the transaction, not committed on its own.
Writes sent `later` wait on PostgreSQL and go as one statement before the transaction's next
statement, the ORM's queries or its commit, in order per table, and go with a rollback.
Last, an SMS that opens a work order sends its statements the short way on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from storage.core import Rows, connection, prepare
from storage.db import session_factory
from storage.types import UTCDateTime
from tests.channel_app import Product
from tests.databases import statements
from webhooks.app import SERVICES

META = MetaData()
THINGS = Table(
    "core_things",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
    Column("at", UTCDateTime(), nullable=True),
    Column("data", JSON, nullable=True),
    Column("flag", Boolean, default=False),
    Column("n", Integer, default=7),
    Column("made", JSON, default=dict),  # computed at run time: not prepared
)
INSERT = insert(THINGS).returning(THINGS.c.id)
PLAIN_INSERT = insert(THINGS)
BY_ID = select(THINGS).where(THINGS.c.id == bindparam("id"))
NAMED_AB = (
    select(THINGS.c.id)
    .where(THINGS.c.name.in_(["a", "b"]), THINGS.c.n >= bindparam("least"))
    .order_by(THINGS.c.id)
)
NAMED_ANY = select(THINGS.c.id).where(THINGS.c.name.in_(bindparam("names", expanding=True)))
OTHERS = Table("core_others", META, Column("id", Integer, primary_key=True), Column("n", Integer))
RENAME = update(THINGS).where(THINGS.c.id == bindparam("row_id")).values(name=bindparam("to"))
AUSTIN = timezone(timedelta(hours=-6))


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    async with session_factory(engine)() as s:
        yield s
    async with engine.begin() as conn:
        await conn.run_sync(META.drop_all)


def _thing(name: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "made": {"by": "test"}, **more}


async def test_rows_read_the_short_way_are_what_sqlalchemy_reads(session: AsyncSession) -> None:
    conn = await connection(session)
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=AUSTIN)
    new_id = (
        await conn.execute(INSERT, _thing("a", at=at, data={"k": [1, "x", None]}, flag=True))
    ).scalar_one()
    ours = (await conn.execute(BY_ID, {"id": new_id})).one()
    theirs = (await conn.conn.execute(BY_ID, {"id": new_id})).one()
    assert tuple(ours) == tuple(theirs)
    assert [type(v) for v in ours] == [type(v) for v in theirs]
    assert ours.at == at and ours.at.tzinfo == UTC  # stored and read back as UTC
    assert ours.data == {"k": [1, "x", None]} and ours.flag is True
    assert ours.n == 7  # the column's default, left out of the insert


async def test_an_insert_leaving_out_a_scalar_default_gets_it(session: AsyncSession) -> None:
    conn = await connection(session)
    await conn.execute(PLAIN_INSERT, [_thing("a"), _thing("b")])
    await conn.execute(PLAIN_INSERT, _thing("c", n=1))
    rows = (await conn.conn.execute(select(THINGS.c.name, THINGS.c.flag, THINGS.c.n))).all()
    assert sorted(tuple(r) for r in rows) == [("a", False, 7), ("b", False, 7), ("c", False, 1)]


async def test_an_in_list_the_statement_holds_and_one_given_at_run_time(
    session: AsyncSession,
) -> None:
    conn = await connection(session)
    for name, n in (("a", 1), ("b", 5), ("c", 9), ("a", 9)):
        await conn.execute(PLAIN_INSERT, _thing(name, n=n))
    held = await conn.execute(NAMED_AB, {"least": 5})
    assert [r.id for r in held] == [2, 4]
    given = await conn.execute(NAMED_ANY, {"names": ["c", "b"]})
    assert sorted(r[0] for r in given) == [2, 3]
    given = await conn.execute(NAMED_ANY, {"names": ["a"]})  # another length: other SQL
    assert sorted(r[0] for r in given) == [1, 4]


async def test_what_is_prepared_and_what_goes_through_sqlalchemy(session: AsyncSession) -> None:
    dialect = (await connection(session)).dialect
    assert prepare(BY_ID, dialect, ("id",)) is not None
    assert prepare(NAMED_AB, dialect, ("least",)) is not None
    # An IN list given with the parameters, a default computed at run time: not prepared.
    assert prepare(NAMED_ANY, dialect, ("names",)) is None
    assert prepare(PLAIN_INSERT, dialect, ("name",)) is None
    assert prepare(PLAIN_INSERT, dialect, ("name", "made")) is not None


async def test_several_rows_updated_and_the_count(session: AsyncSession) -> None:
    conn = await connection(session)
    for name in ("a", "b", "c"):
        await conn.execute(PLAIN_INSERT, _thing(name))
    one = await conn.execute(RENAME, {"row_id": 2, "to": "B"})
    assert one.rowcount == 1
    none = await conn.execute(RENAME, {"row_id": 99, "to": "Z"})
    assert none.rowcount == 0 and none.all() == [] and none.first() is None
    await conn.execute(RENAME, [{"row_id": 1, "to": "A"}, {"row_id": 3, "to": "C"}])
    await conn.execute(RENAME, [])  # nothing to write: nothing written, no error
    names = await conn.execute(select(THINGS.c.name).order_by(THINGS.c.id))
    assert [r.name for r in names] == ["A", "B", "C"]
    assert await conn.scalar(BY_ID, {"id": 99}) is None


async def test_errors_are_sqlalchemys_and_leave_the_transaction_usable(
    session: AsyncSession,
) -> None:
    conn = await connection(session)
    await conn.execute(PLAIN_INSERT, _thing("a", id=1))
    with pytest.raises(IntegrityError):
        await conn.execute(PLAIN_INSERT, _thing("again", id=1))
    if conn.dialect.name == "sqlite":  # PostgreSQL aborts the transaction, as it should
        assert (await conn.execute(BY_ID, {"id": 1})).one().name == "a"


async def test_listeners_see_every_statement(engine: AsyncEngine, session: AsyncSession) -> None:
    with statements(engine) as seen:
        conn = await connection(session)
        await conn.execute(BY_ID, {"id": 1})
    assert seen[-1].startswith("SELECT core_things.id")
    if conn.dialect.name == "sqlite":
        assert seen[0] == "BEGIN IMMEDIATE"


async def test_a_statement_sent_first_the_short_way_is_in_the_transaction(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """On PostgreSQL SQLAlchemy's adapter begins its transaction on the first statement it
    sends; the short way must begin it too, or its writes would commit on their own."""
    conn = await connection(session)
    await conn.execute(PLAIN_INSERT, _thing("a", id=1))
    seen = await conn.conn.execute(select(THINGS.c.name))  # the ORM's side of the same one
    assert [r.name for r in seen] == ["a"]
    await session.rollback()
    async with engine.connect() as other:
        assert (await other.execute(select(THINGS.c.id))).all() == []
    conn = await connection(session)  # a new transaction: begun again
    await conn.execute(PLAIN_INSERT, _thing("b", id=2))
    await session.commit()
    async with engine.connect() as other:
        assert (await other.execute(select(THINGS.c.name))).scalars().all() == ["b"]


async def test_a_statement_sent_alone_commits_as_it_runs_on_postgresql(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """`alone` (the inbound message stored before it is handled): on PostgreSQL, sent before
    any other statement of the transaction, it runs outside one and is committed even if
    the session then rolls back; what follows it begins a transaction as usual. On SQLite it
    changes nothing: the rollback takes it back."""
    postgres = engine.dialect.name == "postgresql"
    conn = await connection(session)
    await conn.execute(PLAIN_INSERT, _thing("alone", id=1), alone=True)
    await conn.execute(PLAIN_INSERT, _thing("after", id=2))
    await session.rollback()
    async with engine.connect() as other:
        names = (await other.execute(select(THINGS.c.name))).scalars().all()
    assert names == (["alone"] if postgres else [])


async def _names(engine: AsyncEngine) -> list[str]:
    """What another connection sees committed."""
    async with engine.connect() as other:
        return list((await other.execute(select(THINGS.c.name).order_by(THINGS.c.id))).scalars())


async def test_writes_sent_later_go_as_one_statement_before_the_next_one(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """On PostgreSQL the writes sent `later` wait, and go to the server as one statement
    (one round trip) when the transaction next sends one; on SQLite each runs at once."""
    postgres = engine.dialect.name == "postgresql"
    conn = await connection(session)
    await conn.execute(BY_ID, {"id": 0})  # the transaction begun
    with statements(engine) as seen:
        await conn.later(PLAIN_INSERT, _thing("a", data={"k": 1}))
        await conn.later(update(OTHERS).values(n=bindparam("n")), {"n": 5})
        await conn.later(PLAIN_INSERT, [_thing("b", data=None), _thing("c", data=None)])
        await conn.later(PLAIN_INSERT, _thing("d", data=None))
        assert len(seen) == (0 if postgres else 4)
        rows = (
            await conn.execute(select(THINGS.c.name, THINGS.c.data).order_by(THINGS.c.id))
        ).all()
    # The rows of one table in the order they were sent, ids included.
    assert [tuple(r) for r in rows] == [("a", {"k": 1}), ("b", None), ("c", None), ("d", None)]
    if postgres:
        assert len(seen) == 2 and seen[0].startswith("WITH w0 AS (INSERT INTO core_things")
        assert seen[0].count("INSERT INTO core_things") == 1 and seen[0].count("), (") == 3
        assert "UPDATE core_others" in seen[0]
    await session.commit()
    assert await _names(engine) == ["a", "b", "c", "d"]


async def test_writes_waiting_go_before_the_orms_statements_and_the_commit(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """What the ORM session sends itself (a query, a flush, the commit) does not pass
    through storage.core, and must still find the writes waiting written."""
    conn = await connection(session)
    await conn.later(PLAIN_INSERT, _thing("a", id=1))
    assert (await session.execute(select(THINGS.c.name))).scalars().all() == ["a"]
    await conn.later(PLAIN_INSERT, _thing("b", id=2))
    assert (await session.scalars(select(THINGS.c.name).order_by(THINGS.c.id))).all() == [
        "a",
        "b",
    ]
    await conn.later(PLAIN_INSERT, _thing("c", id=3))
    await session.commit()
    assert await _names(engine) == ["a", "b", "c"]


async def test_writes_waiting_go_with_a_rollback(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    conn = await connection(session)
    await conn.execute(PLAIN_INSERT, _thing("kept", id=1))
    await session.commit()
    conn = await connection(session)
    await conn.later(PLAIN_INSERT, _thing("dropped", id=2))
    await conn.later(RENAME, {"row_id": 1, "to": "renamed"})
    await session.rollback()
    conn = await connection(session)  # the next transaction does not send them
    await conn.execute(PLAIN_INSERT, _thing("next", id=3))
    await session.commit()
    assert await _names(engine) == ["kept", "next"]


async def test_writes_to_one_table_keep_their_order(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """The parts of one PostgreSQL statement all see the rows as they were before it: an
    update waiting beside the insert of its row would find no row, and two updates of one
    row would not both apply. So such a write sends the others first."""
    conn = await connection(session)
    await conn.later(PLAIN_INSERT, _thing("a", id=1))
    await conn.later(RENAME, {"row_id": 1, "to": "b"})
    await conn.later(RENAME, {"row_id": 1, "to": "c"})
    await conn.later(PLAIN_INSERT, _thing("d", id=2))
    await session.commit()
    assert await _names(engine) == ["c", "d"]


async def test_an_error_in_a_waiting_write_comes_from_the_commit(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    conn = await connection(session)
    await conn.execute(PLAIN_INSERT, _thing("a", id=1))
    await conn.later(PLAIN_INSERT, _thing("b", id=2))
    if engine.dialect.name == "sqlite":
        with pytest.raises(IntegrityError):  # sent at once: the error comes at once
            await conn.later(PLAIN_INSERT, _thing("again", id=1))
        return
    await conn.later(PLAIN_INSERT, _thing("again", id=1))
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()
    assert await _names(engine) == []


async def _statements_of_sms(
    product: Product, phone: str, body: str
) -> tuple[list[str], list[str]]:
    """The statements one SMS sends: (the short way, through SQLAlchemy). SQLAlchemy's
    execution hands its listeners an execution context; the short way hands them None."""
    engine = product.client.app[SERVICES].engine
    assert engine is not None
    long_way: list[str] = []
    short_way: list[str] = []

    def note(_c: Any, _cur: Any, statement: str, _p: Any, context: Any, _m: Any) -> None:
        (short_way if context is None else long_way).append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        status, _ = await product.sms(phone, body)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
    assert status == 200
    return short_way, long_way


async def test_an_sms_request_sends_its_statements_the_short_way(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were a hot statement to fall back (built per call, an IN list given with the
    parameters, an ORM flush), it would show here. On PostgreSQL the message is stored
    alone, outside a transaction: one transaction begun a request, not two."""
    await product.sms("+15125550126", "the kitchen walk-in cooler is reading 45, please check")
    begun: list[object] = []
    start: Any = AsyncAdapt_asyncpg_connection._start_transaction  # untyped in SQLAlchemy

    async def counted(adapter: AsyncAdapt_asyncpg_connection) -> None:
        begun.append(adapter)
        await start(adapter)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", counted)
    short_way, long_way = await _statements_of_sms(
        product, "+15125550126", "another problem: the toilet in the lobby keeps running all night"
    )
    assert len(begun) == (1 if product.engine.dialect.name == "postgresql" else 0)
    assert await product.count("work_orders") == 2
    assert long_way == []
    # PostgreSQL's BEGIN is asyncpg's own, which no listener sees.
    begins = 2 if product.engine.dialect.name == "sqlite" else 0
    assert short_way.count("BEGIN IMMEDIATE") == begins
    # The sender's identity is read with the rate count, the first read of the handling; on
    # PostgreSQL their conversation and open work orders too, and not again.
    [first_read] = [s for s in short_way if s.startswith("SELECT")][:1]
    assert "count(*)" in first_read and "FROM identities" in first_read
    if product.engine.dialect.name == "sqlite":
        assert "FROM conversations" not in first_read
        assert len(short_way) >= 11
        return
    assert "FROM conversations" in first_read and "FROM work_orders" in first_read
    assert not any("FROM conversations" in s for s in short_way if s is not first_read)
    # The work order's number comes from the sequence in its insert, not a statement of its own.
    [insert] = [s for s in short_way if s.startswith("INSERT INTO work_orders")]
    assert "VALUES (nextval('work_order_numbers'" in insert
    assert not any("nextval" in s for s in short_way if s is not insert)
    # The writes whose results nothing reads wait, and go as one statement, the last.
    *before, last = short_way
    assert not any(s.startswith("WITH") for s in before)
    assert last.startswith("WITH w0 AS (UPDATE inbound_messages SET processed_at")
    assert "INSERT INTO timeline_events" in last


async def test_a_job_put_off_to_a_later_day_reads_those_days_the_short_way(
    product: Product,
) -> None:
    """After hours a job that can wait is planned on a later day: the engine reads those
    days' bookings of the technicians who could take it. On PostgreSQL they come as one
    array, not an IN list whose SQL differs with its length (parsed and planned afresh at
    each request, more of the server's time than the read itself)."""
    await product.sms("+15125550126", "the kitchen walk-in cooler is reading 45, please check")
    product.clock.advance(timedelta(hours=10, minutes=50))  # Monday 17:50: shifts are over
    short_way, long_way = await _statements_of_sms(
        product, "+15125550131", "kitchen faucet keeps dripping, no rush"
    )
    assert long_way == []
    offered = [s for s in short_way if s.startswith("INSERT INTO offers")]
    assert len(offered) == 1  # planned on Tuesday: the later-day read ran
    if product.engine.dialect.name == "postgresql":
        [later] = [s for s in short_way if "= ANY (" in s]
        assert later.startswith("SELECT work_orders.id")
        # The offer's messages, the message handled and the timeline go as one statement.
        [together] = [s for s in short_way if s.startswith("WITH")]
        assert together is short_way[-1]
        for part in (
            "INSERT INTO outbox",
            "UPDATE inbound_messages",
            "INSERT INTO timeline_events",
        ):
            assert part in together


def test_rows_is_what_the_repositories_use() -> None:
    """The part of SQLAlchemy's Result the repositories call, with its errors."""
    two = Rows([(1, "a"), (2, "b")], 2)
    assert two.first() == (1, "a") and two.scalar() == 1 and list(two) == two.all()
    with pytest.raises(MultipleResultsFound):
        two.one()
    with pytest.raises(MultipleResultsFound):
        two.scalar_one_or_none()
    empty = Rows([], 0)
    assert empty.scalar() is None and empty.scalar_one_or_none() is None
    with pytest.raises(NoResultFound):
        empty.scalar_one()


def test_on_postgresql_the_values_a_statement_holds_are_written_into_its_sql() -> None:
    """So that PostgreSQL's plan for the prepared statement sees them (a status it asks for):
    plain text and integers written in, what is given at run time and any other text (a
    quote in it) left parameters, numbered again from $1."""
    held = (
        select(THINGS.c.id)
        .where(
            THINGS.c.name.in_(["a", "b"]),
            THINGS.c.n >= bindparam("least"),
            THINGS.c.name != "it's",
        )
        .limit(5)
    )
    postgres = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1/none").dialect
    prepared = prepare(held, postgres, ("least",))
    assert prepared is not None
    assert "IN ('a'::VARCHAR, 'b'::VARCHAR)" in prepared.sql
    assert "LIMIT 5" in prepared.sql
    assert "core_things.n >= $1" in prepared.sql and "core_things.name != $2" in prepared.sql
    assert "$3" not in prepared.sql
    assert prepared.args({"least": 3}) == (3, "it's")
    on_sqlite = prepare(held, sqlite_dialect(), ("least",))
    assert on_sqlite is not None and "'a'" not in on_sqlite.sql  # SQLite: unchanged
