"""Core statements on the session's own connection, without the ORM session in between.

The hot paths run statements built once at import (Core inserts, updates and selects of
columns). Sent through `AsyncSession.execute`, each also pays for the ORM's execution
machinery; sent on the connection the session holds for its transaction, it does not. Same
connection, same transaction: the ORM's own writes are flushed explicitly by the
repositories before anything reads them.

A statement built once is also compiled once (`Prepared`): its SQL, where each parameter
comes from, the types' bind and result processors. It then goes straight to the driver's
connection the transaction holds:

- SQLite: the sqlite3 connection, inline on the loop's thread, as every statement there
  runs (`storage.sqlite_inline`). Through SQLAlchemy's `AsyncConnection.execute` a small
  select cost about 64 µs of CPU, most of it the execution context and the result object
  built around the statement; this way about 6.
- PostgreSQL: asyncpg's connection, as SQLAlchemy's adapter would send it (its transaction
  begun on first use, the statement prepared once in the adapter's cache, asyncpg's errors
  translated as the adapter does), without the greenlet, the execution context and the
  result object in between.

A statement it cannot prepare (one whose IN list comes with the parameters, an insert
relying on a default computed at run time, a result whose processing depends on the type
PostgreSQL answers with) goes through SQLAlchemy as before.

A write whose result nobody looks at and which the transaction does not read back at once
(a decision, a work order's new columns, a message queued, the timeline) may be sent
`later`: on PostgreSQL it waits, and the writes waiting go to the server together as one
statement (a WITH of data-modifying statements) before the transaction's next statement,
query or commit. Each round trip to the server costs both sides CPU on the same two cores;
a new work order's last five writes were five of them. On SQLite, where a statement is a
call into the library, it runs at once.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, Label, event, exc, null
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.util import await_only

from storage.sqlite_inline import InlineConnection

_KEY = "callout.connection"  # Session.info: (transaction, its connection)
HELD = "callout.held"  # Session.info: the connection its unit of work holds (storage.held)
# Several rows' parameters come as a list: tested with isinstance(list), which costs a
# fraction of an ABC's check (Sequence), three times a statement.
Many = list[Any]  # of Mapping[str, Any]: a list is invariant in its items
Params = Mapping[str, Any] | Many | None


class Rows:
    """A statement's rows (all fetched) and its row count: the part of SQLAlchemy's Result
    the repositories use, the same whichever way the statement went."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise (exc.NoResultFound if not self._rows else exc.MultipleResultsFound)(
                f"expected one row, got {len(self._rows)}"
            )
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise exc.MultipleResultsFound(f"expected at most one row, got {len(self._rows)}")
        return self.scalar()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement compiled once for a dialect with a given set of parameter names."""

    sql: str
    # Per placeholder, in order: the parameter's name (None: a value the statement holds,
    # `fixed`) and its bind processor.
    names: tuple[str | None, ...]
    fixed: tuple[Any, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    row: Callable[[Sequence[Any]], Any] | None  # None: the statement returns no rows
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, processor)

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, value, bind in zip(self.names, self.fixed, self.binds, strict=True):
            if name is not None:
                value = params[name]
            out.append(value if bind is None or value is None else bind(value))
        return tuple(out)

    def rows(self, raw: list[Any]) -> list[Any]:
        make = self.row
        if make is None:
            return []
        if not self.results:
            return [make(r) for r in raw]
        out = []
        for r in raw:
            values = list(r)
            for i, process in self.results:
                values[i] = process(values[i])
            out.append(make(values))
        return out


# The statement is kept beside what it compiled to, so that its id() is not reused while
# cached, and checked, in case the id of one gone before is.
_PREPARED: dict[tuple[int, str, tuple[str, ...]], tuple[ClauseElement, Prepared | None]] = {}
_MAX_PREPARED = 2000  # statements built per call would fill it: cleared when it does


def prepare(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> Prepared | None:
    """The statement compiled for `dialect` and parameters `keys`, or None when it needs
    SQLAlchemy's execution at run time. Cached by the statement's identity: meant for
    statements built once at import."""
    key = (id(statement), dialect.name, keys)
    found = _PREPARED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    if len(_PREPARED) >= _MAX_PREPARED:
        _PREPARED.clear()
    made = _compile(statement, dialect, keys)
    _PREPARED[key] = (statement, made)
    return made


def _compile(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> Prepared | None:
    plain = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(plain, SQLCompiler)
    if plain.update_prefetch or plain.literal_execute_params:
        return None  # Python-side onupdate, or values rendered into the SQL at run time
    defaulted: dict[str, Any] = {}  # an insert's columns left out: their scalar defaults
    for column in plain.insert_prefetch:
        default = column.default
        if default is None or not default.is_scalar:
            return None  # a default computed at run time
        defaulted[column.key] = default.arg  # type: ignore[attr-defined]
    if any(b.expanding and (b.key in keys or b.value is None) for b in plain.binds.values()):
        return None  # an IN list given with the parameters: its SQL differs each time
    compiled: SQLCompiler = plain
    if any(b.expanding for b in plain.binds.values()):
        # An IN list the statement holds: rendered as one placeholder a value. The
        # compiler wants a value for every parameter then; the ones given at run time
        # stay placeholders whatever it is given here.
        source = statement.params(dict.fromkeys(keys)) if keys else statement
        expanded_compile = source.compile(
            dialect=dialect, column_keys=list(keys), compile_kwargs={"render_postcompile": True}
        )
        assert isinstance(expanded_compile, SQLCompiler)
        compiled = expanded_compile
    if compiled.positiontup is None:
        return None
    processors = cast(dict[str, Callable[[Any], Any]], compiled._bind_processors)
    names: list[str | None] = []
    fixed: list[Any] = []
    given = set(keys)
    expanded = compiled._post_compile_expanded_state
    if expanded is not None:
        defaults = dict(expanded.parameters)
        processors = {**processors, **cast(dict[str, Any], expanded.processors)}
    else:
        defaults = dict(compiled.construct_params(_check=False))
    for name in compiled.positiontup:
        bind = compiled.binds.get(name)
        param = bind.key if bind is not None else name
        if param in given:
            names.append(param)
            fixed.append(None)
        else:
            names.append(None)
            fixed.append(defaulted[name] if name in defaulted else defaults.get(name))
    binds = tuple(processors.get(name) for name in compiled.positiontup)
    # A fixed value is processed once, here.
    fixed_done = tuple(
        v if n is not None or b is None or v is None else b(v)
        for n, v, b in zip(names, fixed, binds, strict=True)
    )
    binds = tuple(b if n is not None else None for n, b in zip(names, binds, strict=True))
    row = None
    results: list[tuple[int, Callable[[Any], Any]]] = []
    columns = compiled._result_columns
    if columns:
        row = namedtuple("Row", [c.keyname for c in columns], rename=True)._make  # type: ignore[attr-defined]
        for i, c in enumerate(columns):
            try:
                process = c.type._cached_result_processor(dialect, None)
            except (TypeError, exc.InvalidRequestError):
                # A processor chosen by the column's type on the wire (PostgreSQL's numbers):
                # known only once the statement has run, so SQLAlchemy runs it.
                return None
            if process is not None:
                results.append((i, process))
    sql, kept = compiled.string, list(range(len(names)))
    if dialect.name == "postgresql":
        sql, kept = _written_in(sql, names, fixed_done)
    return Prepared(
        sql,
        tuple(names[i] for i in kept),
        tuple(fixed_done[i] for i in kept),
        tuple(binds[i] for i in kept),
        row,
        tuple(results),
    )


_PLACEHOLDER = re.compile(r"\$(\d+)\b")
_PLAIN_TEXT = re.compile(r"[\w.:\- ]*")


def _written_in(sql: str, names: list[str | None], fixed: tuple[Any, ...]) -> tuple[str, list[int]]:
    """PostgreSQL: the values a statement holds (a status it asks for, a LIMIT) written into
    its SQL instead of sent as parameters. A prepared statement's plan is made once for
    every value of its parameters (a generic plan) or again at each execution (a custom
    one); a status sent as a parameter leaves the generic plan blind to which rows it
    picks, and the day's read (`storage.assignment_repo`) was planned afresh each time,
    1.5 ms of the server's CPU an execution against 0.4 ms for the whole execution with its
    statuses written in. Plain text and integers only; anything else stays a parameter.
    Returns the SQL and the positions of the parameters it still has."""
    kept: list[int] = []
    written: dict[int, str] = {}
    for i, (name, value) in enumerate(zip(names, fixed, strict=True)):
        literal = None if name is not None else _literal(value)
        if literal is None:
            kept.append(i)
            written[i + 1] = f"${len(kept)}"
        else:
            written[i + 1] = literal
    return _PLACEHOLDER.sub(lambda m: written[int(m.group(1))], sql), kept


def _literal(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(int(value))  # an IntEnum's number, not its name
    if isinstance(value, str) and _PLAIN_TEXT.fullmatch(value):
        return f"'{value}'"
    return None


_MAX_WAITING_ARGS = 10_000  # asyncpg sends at most 32,767 arguments a statement
Write = Insert | Update | Delete
_AFTER_VALUES = re.compile(r"(?: RETURNING [\w., ]+)?")


def _values_span(sql: str) -> tuple[int, int] | None:
    """Where an insert's one row of values is in its SQL (its parenthesis included), if the
    SQL is a plain INSERT ... VALUES (...) with at most a RETURNING of columns after it."""
    start = sql.find(" VALUES (")
    end = sql.rfind(")") + 1
    if start < 0 or end <= start or not _AFTER_VALUES.fullmatch(sql, end):
        return None
    return start + len(" VALUES "), end


@dataclass(slots=True)
class _Waiting:
    """A write sent `later` that has not gone yet: one statement, or one insert's rows."""

    sql: str
    rows: list[tuple[Any, ...]]
    joinable: bool  # a plain insert's (_values_span): more rows may join its VALUES list


class Connection:
    """The transaction's connection, with statements built once sent the short way; see the
    module's docstring."""

    __slots__ = ("_args", "_inline", "_pg", "_waiting", "conn", "dialect", "sent")

    def __init__(
        self,
        conn: AsyncConnection,
        inline: InlineConnection | None,
        pg: AsyncAdapt_asyncpg_connection | None = None,
    ) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self._inline = inline
        self._pg = pg
        # PostgreSQL: the writes sent `later` not sent yet, by the table each writes, and
        # how many arguments they have.
        self._waiting: dict[str, _Waiting] = {}
        self._args = 0
        # The statements handed to this connection so far (execute, later): a repository
        # that was answered by another's statement can tell whether anything ran since.
        self.sent = 0

    async def execute(
        self, statement: ClauseElement, params: Params = None, *, alone: bool = False
    ) -> Rows:
        """With `alone`, the statement is committed on its own: on PostgreSQL one run before
        any other of the transaction runs outside one, committed as it runs, without a BEGIN
        and a COMMIT (two round trips of the server's), and the unit of work's next
        statements begin the transaction (`outside_transaction` tells which happened). On
        SQLite it changes nothing: the unit of work's commit commits it."""
        many = isinstance(params, list)
        if many and not params:
            return Rows([], 0)  # no rows to write (SQLAlchemy would run it without values)
        self.sent += 1
        if self._waiting:
            await self.send_waiting()
        if self._inline is not None or self._pg is not None:
            first = params[0] if isinstance(params, list) else params
            keys = tuple(first) if first else ()
            prepared = prepare(statement, self.dialect, keys)
            if prepared is not None:
                return await self._run(prepared, params or {}, many=many, alone=alone)
        result = await self.conn.execute(cast(Executable, statement), params)
        return Rows(list(result.all()) if result.returns_rows else [], result.rowcount)

    async def scalar(self, statement: ClauseElement, params: Params = None) -> Any:
        return (await self.execute(statement, params)).scalar()

    def outside_transaction(self) -> bool:
        """On PostgreSQL, True while the server has no transaction of this unit of work
        open: what ran `alone` so far ran outside one and is committed, whatever the unit of
        work does next. Always False on SQLite, where the unit of work's commit commits it."""
        adapter: Any = self._pg  # its transaction is private
        return adapter is not None and adapter._transaction is None

    async def later(self, statement: Write, params: Mapping[str, Any] | Many) -> None:
        """A write whose rows and count nobody looks at, sent with the other writes waiting
        as one statement before the transaction's next statement, query or commit
        (PostgreSQL; on SQLite now). Its errors come from the statement that sends it.

        The parts of one statement run in no set order, and all see the rows as they were
        before it: so a write waits beside no other write to its table (an update would
        not find the row inserted beside it, two updates of one row would not both apply,
        two inserts' ids would not come in the order they were sent), except the rows of
        the same insert, which join its list of values in order."""
        rows = params if isinstance(params, list) else [params]
        if self._pg is None or not rows:
            await self.execute(statement, params)
            return
        self.sent += 1
        prepared = prepare(statement, self.dialect, tuple(rows[0]))
        insert = isinstance(statement, Insert)
        span = _values_span(prepared.sql) if prepared is not None and insert else None
        width = len(prepared.names) if prepared is not None else 0
        if (
            prepared is None
            or (len(rows) > 1 and span is None)
            or len(rows) * width > _MAX_WAITING_ARGS
        ):
            await self.execute(statement, params)  # sends the writes waiting first
            return
        args = [prepared.args(r) for r in rows]
        table = str(getattr(statement.table, "name", statement.table))  # a Table's, an alias's
        waiting = self._waiting.get(table)
        if waiting is not None and waiting.sql == prepared.sql and waiting.joinable:
            waiting.rows += args  # more rows of the same insert
        else:
            if waiting is not None:
                await self.send_waiting()
            self._waiting[table] = _Waiting(prepared.sql, args, span is not None)
        self._args += len(rows) * width
        if self._args > _MAX_WAITING_ARGS:
            await self.send_waiting()

    async def send_waiting(self) -> None:
        """The writes sent `later`, to the server now, as one statement."""
        waiting, self._waiting, self._args = self._waiting, {}, 0
        if not waiting:
            return
        assert self._pg is not None  # only PostgreSQL's writes wait
        parts = waiting.values()
        sql = together(tuple((w.sql, len(w.rows), len(w.rows[0])) for w in parts))
        args = tuple(a for w in parts for r in w.rows for a in r)
        sync = self.conn.sync_connection
        if sync is not None:
            announce(sync, sql, args)
        await _run_asyncpg(self._pg, self.dialect, sql, args, False)

    async def _run(
        self,
        prepared: Prepared,
        params: Mapping[str, Any] | Many,
        *,
        many: bool,
        alone: bool = False,
    ) -> Rows:
        if isinstance(params, list):
            args: Any = [prepared.args(p) for p in params]
        else:
            args = prepared.args(params)
        sync = self.conn.sync_connection
        if sync is not None:
            announce(sync, prepared.sql, args, many=many)
        if self._pg is not None:
            raw, count = await _run_asyncpg(
                self._pg, self.dialect, prepared.sql, args, many, alone=alone
            )
            return Rows(prepared.rows(raw), count)
        inline = self._inline
        assert inline is not None
        try:
            raw, count = await inline._execute(_run_sqlite, inline._conn, prepared.sql, args, many)
        except sqlite3.Error as err:
            raise driver_error(err, prepared.sql, args, self.dialect) from err
        return Rows(prepared.rows(raw), count)


Shape = tuple[tuple[str, int, int], ...]  # per write waiting: its SQL, rows, arguments a row


@functools.lru_cache(maxsize=512)  # the shapes a process meets are few
def together(shape: Shape) -> str:
    """PostgreSQL: the SQL of several writes as one statement, each but the last in a WITH
    (run whether or not anything reads them), an insert's rows as one VALUES list in their
    order, the placeholders numbered on. Made once per shape."""
    pieces: list[str] = []
    base = 0
    for sql, rows, width in shape:
        if rows > 1:
            span = _values_span(sql)
            assert span is not None  # checked when the rows joined
            start, end = span
            values = ", ".join(_numbered_from(sql[start:end], i * width) for i in range(rows))
            sql = sql[:start] + values + sql[end:]
        pieces.append(_numbered_from(sql, base))
        base += rows * width
    *first, last = pieces
    if not first:
        return last
    withs = ", ".join(f"w{i} AS ({p})" for i, p in enumerate(first))
    return f"WITH {withs} {last}"


def _numbered_from(sql: str, base: int) -> str:
    def number(m: re.Match[str]) -> str:
        return f"${int(m[1]) + base}"

    return _PLACEHOLDER.sub(number, sql) if base else sql


def null_columns(columns: Iterable[ColumnElement[Any]], prefix: str = "") -> list[Label[Any]]:
    """A NULL of each column's type under its name (prefixed): the other rows' columns in a
    UNION that reads several kinds of row in one statement."""
    return [sql_cast(null(), c.type).label(prefix + str(c.key)) for c in columns]


def announce(conn: SyncConnection, sql: str, args: Any, *, many: bool = False) -> None:
    """Tell the engine's `before_cursor_execute` listeners of a statement sent the short way
    (with no cursor or execution context), as SQLAlchemy tells them of its own."""
    if conn._has_events or conn.engine._has_events:
        conn.dispatch.before_cursor_execute(conn, None, sql, args, None, many)


def driver_error(err: sqlite3.Error, sql: str, args: Any, dialect: Dialect) -> BaseException:
    """sqlite3's error as SQLAlchemy would have raised it (IntegrityError and the like)."""
    return exc.DBAPIError.instance(sql, args, err, sqlite3.Error, dialect=dialect)


def _run_sqlite(conn: sqlite3.Connection, sql: str, args: Any, many: bool) -> tuple[list[Any], int]:
    cursor = conn.executemany(sql, args) if many else conn.execute(sql, args)
    try:
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.rowcount
    finally:
        cursor.close()


_STATUS = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")


async def _run_asyncpg(
    adapted: AsyncAdapt_asyncpg_connection,
    dialect: Dialect,
    sql: str,
    args: Any,
    many: bool,
    *,
    alone: bool = False,
) -> tuple[list[Any], int]:
    """The statement on asyncpg as SQLAlchemy's adapter sends it (`AsyncAdapt_asyncpg_cursor`):
    the adapter's transaction begun if it has not been (unless `alone`: see
    Connection.execute; the adapter's commit and rollback do nothing while it has none), the
    statement prepared once per connection in the adapter's own cache, asyncpg's error
    translated to the DBAPI's and then to SQLAlchemy's."""
    adapter: Any = adapted  # its private methods are untyped
    async with adapted._execute_mutex:
        try:
            if adapter._transaction is None and not alone:
                await adapter._start_transaction()
            stale = getattr(dialect, "_invalidate_schema_cache_asof", 0)
            statement, _ = await adapter._prepare(sql, stale)
            if many:
                await statement.executemany(args)
                return [], -1
            rows: list[Any] = await statement.fetch(*args)
            status = _STATUS.match(statement.get_statusmsg() or "")
        except Exception as err:
            try:
                adapter._handle_exception(err)  # raises the DBAPI's error
            except Exception as translated:
                raise _pg_error(translated, sql, args, dialect) from err
            raise
    return rows, int(status.group(1)) if status else -1


def _pg_error(err: Exception, sql: str, args: Any, dialect: Dialect) -> BaseException:
    dbapi = dialect.loaded_dbapi
    if not isinstance(err, dbapi.Error):
        return err
    return exc.DBAPIError.instance(sql, args, err, dbapi.Error, dialect=dialect)


class Turn(Protocol):
    """A unit of work's turn on its process's SQLite connection (storage.held.Held)."""

    core: Connection

    def in_transaction(self) -> bool: ...

    async def begin(self) -> Connection: ...


def _send_waiting(session: Session) -> None:
    """Before the ORM's own statements and before a commit, the writes waiting on the
    session's transaction go first. These hooks run inside the async session's greenlet,
    where awaiting is allowed."""
    held = session.info.get(_KEY)
    if held is not None and held[1]._waiting and held[0] is session.get_transaction():
        await_only(held[1].send_waiting())


@event.listens_for(Session, "do_orm_execute")
def _before_query(state: ORMExecuteState) -> None:
    _send_waiting(state.session)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush: UOWTransaction, _objects: object) -> None:
    _send_waiting(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _send_waiting(session)


async def connection(session: AsyncSession) -> Connection:
    """The connection of the session's current transaction (begun here if need be)."""
    sync = session.sync_session
    turn: Turn | None = sync.info.get(HELD)
    if turn is not None:  # SQLite: the transaction on sqlite3 itself (storage.held)
        return turn.core if turn.in_transaction() else await turn.begin()
    held = sync.info.get(_KEY)
    if held is not None and held[0] is sync.get_transaction() and held[0] is not None:
        conn: Connection = held[1]
        return conn
    raw = await session.connection()
    inline = pg = None
    if raw.sync_connection is not None:
        # Connected and begun: reading the pooled connection needs no await.
        pooled = raw.sync_connection.connection
        if isinstance(pooled.driver_connection, InlineConnection):
            inline = pooled.driver_connection
        elif isinstance(pooled.dbapi_connection, AsyncAdapt_asyncpg_connection):
            pg = pooled.dbapi_connection
    made = Connection(raw, inline, pg)
    sync.info[_KEY] = (sync.get_transaction(), made)
    return made


def database_key(session: AsyncSession) -> str:
    """Which database the session talks to, as a key for what a process keeps per database
    (the company, the day): two engines on one database share it. Rendered once an engine
    (its URL does not change): asked several times a request, rendering cost about 1% of
    one on PostgreSQL (py-spy, 2026-12-05)."""
    engine = session.get_bind().engine
    key = _DATABASE_KEYS.get(engine)
    if key is None:
        key = _DATABASE_KEYS[engine] = engine.url.render_as_string(hide_password=False)
    return key


_DATABASE_KEYS: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()
