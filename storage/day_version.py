"""Which day a transaction may take from the kept ones on PostgreSQL: the version it read
first, and whether it has changed anyone's day since (migration 0012).

The version moves when a change to a booking commits, so a transaction does not see its own
change in it. It may reuse a kept day only while it has made none: every statement sent on a
PostgreSQL engine passes `_note_changes`, which marks the transaction when the statement
writes offers or updates or deletes work orders (a new work order is marked by its insert,
WorkOrderRepository.add, only when it lands on someone's day). Locking a technician to book
them marks it too, so a choice that failed on the fresh day is made again on a fresh day.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.workorder import Status
from storage import tables as t

DAY_VERSION = "day_version"
# The version, read on its own (SQLite, at each day read) or as a column of another
# statement: the first query of a message's transaction (the sender's rate count) brings
# it along, as it brings the company's stamp.
DAY_VERSION_READ = select(t.SequenceRow.value).where(t.SequenceRow.name == DAY_VERSION)
DAY_VERSION_COLUMN = DAY_VERSION_READ.scalar_subquery()
# What keeps a work order off every technician's day (the day read skips it): the statuses
# migration 0012's triggers name (tests/test_day_cache.py checks they agree).
OFF_DAY = frozenset(
    s.value for s in (Status.NEW, Status.NEEDS_INFO, Status.READY, Status.ON_HOLD, Status.CANCELLED)
)
_NOTED = "callout.day_version"  # Session.info: (transaction, version) read with the count
_CHANGED = "callout.day_changed"  # the connection's info: the transaction that changed a day

# A write to offers, or an update or delete of work orders, anywhere in the statement (the
# writes sent together come as one WITH statement). Not `SELECT ... FOR UPDATE`.
_CHANGE = re.compile(
    r"\b(?:INSERT\s+INTO|DELETE\s+FROM)\s+offers\b|\bUPDATE\s+(?:offers|work_orders)\s+SET\b"
    r"|\bDELETE\s+FROM\s+work_orders\b",
    re.IGNORECASE,
)


def note_day_version(session: AsyncSession, value: int | None) -> None:
    """The day version, read by the current transaction's first statement."""
    sync = session.sync_session
    sync.info[_NOTED] = (sync.get_transaction(), value)


def noted_day_version(session: AsyncSession, conn: SyncConnection | None) -> int | None:
    """The version noted in this transaction, if it has changed nobody's day since; else
    None (read the day afresh)."""
    sync = session.sync_session
    noted = sync.info.get(_NOTED)
    if noted is None or noted[0] is not sync.get_transaction() or noted[1] is None:
        return None
    if conn is None or conn.info.get(_CHANGED) is conn.get_transaction():
        return None
    return int(noted[1])


def mark_day_changed(conn: SyncConnection | None) -> None:
    """This transaction changed (or is about to change) someone's day."""
    if conn is not None:
        conn.info[_CHANGED] = conn.get_transaction()


@functools.lru_cache(maxsize=1024)  # the statements a process sends are few
def changes_day(sql: str) -> bool:
    return _CHANGE.search(sql) is not None


def _note_changes(
    conn: SyncConnection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    if changes_day(statement):
        mark_day_changed(conn)


def watch(engine: AsyncEngine) -> None:
    """Mark the transactions that change a day on this PostgreSQL engine."""
    event.listen(engine.sync_engine, "before_cursor_execute", _note_changes)
