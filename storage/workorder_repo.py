"""Work orders: rows ↔ the `WorkOrder` aggregate, with its timeline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Subquery,
    bindparam,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from dispatch.ports import OPEN_LIMIT
from dispatch.workorder import (
    OPEN,
    UNNUMBERED,
    Flag,
    Photo,
    Status,
    TimelineEvent,
    Wants,
    WorkOrder,
)
from storage import tables as t
from storage.core import connection, null_columns
from storage.day_version import OFF_DAY, mark_day_changed
from storage.sequences import NATIVE, next_value


@dataclass(frozen=True, slots=True)
class WorkOrderFilter:
    status: str | None = None
    priority: str | None = None
    technician_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    customer_id: str | None = None
    statuses: tuple[str, ...] | None = None


class WorkOrderRepository:
    """Work orders through Core statements built once (the ORM's unit of work cost more than
    the statements themselves): a work order read or written here is remembered as the
    column values the database holds, so save() writes only what changed, or nothing."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rows: dict[int, _Saved] = {}  # seq -> the row as written or read, for save()
        # The whole timeline of work orders created or read whole in this transaction, and
        # which of them it holds locked (a row it inserted counts): a second get() of the
        # same work order (the engine after intake, the notifier after the engine) needs no
        # query. Every timeline write goes through _append_events, so this cannot go stale.
        self._timelines: dict[int, list[TimelineEvent]] = {}
        self._locked: set[int] = set()
        self._created: set[int] = set()  # inserted by this unit of work
        # Timeline rows not written yet: they go in as one INSERT when the transaction
        # commits (see _write_pending) or before this repository reads the timeline.
        self._pending: list[dict[str, Any]] = session.sync_session.info.setdefault(_PENDING, [])
        # The open work orders of a customer, read by another statement of the unit of work
        # (found_open) and not asked for yet: the customer, the orders, and the connection's
        # statement count then.
        self._open_found: tuple[str | None, list[WorkOrder], int] | None = None

    async def next_seq(self) -> int:
        return await next_value(self.session, "work_order")

    async def add(self, wo: WorkOrder) -> None:
        """Insert a new work order; one whose seq is UNNUMBERED gets the next number. On
        PostgreSQL that is the native sequence's, taken in the insert itself (one round trip
        to the server instead of two); on SQLite the counter row's, as next_seq() gives."""
        await self.session.flush()  # a walk-in customer or site added through the ORM
        values = _values(wo)
        conn = await connection(self.session)
        if wo.seq == UNNUMBERED and conn.dialect.name == "postgresql":
            row = (await conn.execute(_INSERT_NUMBERED, values)).one()
            row_id, wo.seq = row.id, int(row.seq)
        else:
            if wo.seq == UNNUMBERED:
                wo.seq = await self.next_seq()
            row_id = (await conn.execute(_INSERT, {"seq": wo.seq, **values})).scalar_one()
        if wo.status.value not in OFF_DAY:
            mark_day_changed(conn.conn.sync_connection)  # on someone's day from the start
        self._rows[wo.seq] = _Saved(int(row_id), values)
        self._timelines[wo.seq] = wo.timeline[: len(wo.timeline) - len(wo.new_events)]
        self._locked.add(wo.seq)
        self._created.add(wo.seq)
        await self._append_events(int(row_id), wo)

    async def get(self, seq: int, *, lock: bool = False) -> WorkOrder | None:
        known = self._rows.get(seq)
        timeline = self._timelines.get(seq)
        if known is not None and timeline is not None and (not lock or seq in self._locked):
            return _from_values(seq, known.values, list(timeline))
        await self.write_events()
        row = (
            await (await connection(self.session)).execute(
                _LOCKED_BY_SEQ if lock else _BY_SEQ, {"seq": seq}
            )
        ).first()
        if row is None:
            return None
        saved = self._remember(row)
        events = await (await connection(self.session)).execute(_TIMELINE, {"id": saved.id})
        timeline = [_event(e) for e in events]
        self._timelines[seq] = timeline
        if lock:
            self._locked.add(seq)
        return _from_values(seq, saved.values, list(timeline))

    def created_here(self, seq: int) -> bool:
        return seq in self._created

    async def write_events(self) -> None:
        """Write the timeline rows saved so far (commit does it too): on PostgreSQL they go
        with the transaction's next statement, which a read of the timeline is."""
        if self._pending:
            rows = list(self._pending)
            self._pending.clear()
            await (await connection(self.session)).later(_INSERT_EVENTS, rows)

    def forget_locks(self, *, rolled_back: bool = False) -> None:
        """The transaction ended: its locks are gone and others may write again; timeline
        rows it did not write are dropped with it (a rollback). After a rollback the rows
        as last written are not what the database holds: save() must not compare with them."""
        if rolled_back:
            self._rows.clear()
        self._pending.clear()
        self._timelines.clear()
        self._locked.clear()
        self._created.clear()

    async def save(self, wo: WorkOrder) -> None:
        saved = self._rows.get(wo.seq)
        if saved is None:
            raise KeyError(f"{wo.number} was not loaded through this repository")
        values = _values(wo)
        changed = {k: v for k, v in values.items() if saved.values[k] != v}
        if changed:
            conn = await connection(self.session)
            # A row this transaction holds locked may wait to be written (storage.core):
            # nobody else can write it meanwhile, and reads of it here come from _rows.
            write = conn.later if wo.seq in self._locked else conn.execute
            await write(_UPDATE_BY_ID, {"row_id": saved.id, **changed})
            saved.values.update(changed)
        await self._append_events(saved.id, wo)

    async def row_id(self, seq: int) -> int | None:
        saved = self._rows.get(seq)
        if saved is not None:
            return saved.id
        found = (await (await connection(self.session)).execute(_ID_BY_SEQ, {"seq": seq})).scalar()
        return None if found is None else int(found)

    async def find(
        self, where: WorkOrderFilter, *, after_seq: int | None, limit: int
    ) -> list[WorkOrder]:
        query = _filtered(select(_TABLE), where).order_by(_TABLE.c.seq).limit(limit)
        if after_seq is not None:
            query = query.where(_TABLE.c.seq > after_seq)
        return await self._with_timelines(list((await self.session.execute(query)).all()))

    async def _with_timelines(self, rows: list[Row[Any]]) -> list[WorkOrder]:
        by_id: dict[int, list[TimelineEvent]] = {r.id: [] for r in rows}
        await self.write_events()
        if rows:
            events = await self.session.execute(
                select(_TIMELINE_TABLE)
                .where(_TIMELINE_TABLE.c.work_order_id.in_(by_id))
                .order_by(_TIMELINE_TABLE.c.id)
            )
            for e in events:
                by_id[e.work_order_id].append(_event(e))
        return [_from_values(r.seq, _row_values(r), by_id[r.id]) for r in rows]

    def _remember(self, row: Row[Any]) -> _Saved:
        saved = _Saved(int(row.id), _row_values(row))
        self._rows[int(row.seq)] = saved
        return saved

    async def add_photo(
        self,
        seq: int,
        *,
        path: str,
        content_type: str,
        size: int,
        sha256: str,
        sent_by: str,
        channel: str,
        at: datetime,
    ) -> Photo:
        row_id = await self.row_id(seq)
        if row_id is None:
            raise KeyError(f"no work order {seq}")
        row = t.PhotoRow(
            work_order_id=row_id,
            path=path,
            content_type=content_type,
            bytes=size,
            sha256=sha256,
            sent_by=sent_by,
            channel=channel,
            created_at=at,
        )
        self.session.add(row)
        await self.session.flush()
        return _photo(row)

    async def photos(self, seq: int) -> list[Photo]:
        rows = await self.session.scalars(
            select(t.PhotoRow)
            .join(t.WorkOrderRow)
            .where(t.WorkOrderRow.seq == seq)
            .order_by(t.PhotoRow.id)
        )
        return [_photo(r) for r in rows]

    async def open_for_customer(
        self, customer_id: str, *, only: tuple[Status, ...] | None = None
    ) -> list[WorkOrder]:
        """The customer's open work orders (at most 50, oldest first), or those of `only`,
        without their timelines: every message of a customer asks, to decide where it goes
        (a sign-off, a follow-up, a new request); the one it changes is read with get()."""
        if only is None:  # a statement built once
            conn = await connection(self.session)
            found, self._open_found = self._open_found, None
            if found is not None and found[0] == customer_id and found[2] == conn.sent:
                return list(found[1])  # read with the sender's count, and nothing ran since
            rows: Sequence[Any] = (await conn.execute(_OPEN_OF, {"customer": customer_id})).all()
        else:
            statuses = tuple(s.value for s in only if s in OPEN)
            where = WorkOrderFilter(customer_id=customer_id, statuses=statuses)
            query = _filtered(select(_TABLE), where).order_by(_TABLE.c.seq).limit(OPEN_LIMIT)
            rows = (await self.session.execute(query)).all()
        return [_from_values(r.seq, _row_values(r), []) for r in rows]

    async def found_open(self, customer_id: str | None, rows: Iterable[Row[Any]]) -> None:
        """What open_for_customer(customer_id) would have read, as the rows of the subquery
        open_orders_of makes (its columns prefixed), read by another statement of the unit
        of work just now: the next open_for_customer answers from them, if it asks for the
        same customer and no statement has run on the connection since."""
        orders = [
            _from_values(r.w_seq, {n: getattr(r, OPEN_PREFIX + n) for n in DOMAIN_COLUMNS}, [])
            for r in sorted(rows, key=lambda r: int(r.w_seq))
        ]
        conn = await connection(self.session)
        self._open_found = (customer_id, orders, conn.sent)

    async def open_pm_equipment(self) -> set[str]:
        """Equipment that already has an open preventive-maintenance work order."""
        w = t.WorkOrderRow
        rows = await self.session.scalars(
            select(w.equipment_id).where(
                w.source_channel == "pm",
                w.status.in_([s.value for s in OPEN]),
                w.equipment_id.is_not(None),
            )
        )
        return {r for r in rows if r is not None}

    async def _append_events(self, row_id: int, wo: WorkOrder) -> None:
        """The new events join the rows to write: one INSERT per transaction, not one per
        save (intake, the engine's flag or offer and the notifier each add some)."""
        self._pending += [
            {
                "work_order_id": row_id,
                "at": e.at,
                "kind": e.kind,
                "actor": e.actor,
                "channel": e.channel,
                "text": e.text,
                "data": e.data,
            }
            for e in wo.new_events
        ]
        timeline = self._timelines.get(wo.seq)
        if timeline is not None:
            timeline.extend(wo.new_events)
        wo.new_events.clear()


_PENDING = "callout.pending_timeline"  # Session.info key: rows _append_events queued


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Timeline rows queued in this transaction go in before it commits (runs inside the
    async session's greenlet, so a blocking execute is fine here)."""
    rows = session.info.get(_PENDING)
    if rows:
        pending = list(rows)
        rows.clear()
        session.connection().execute(_INSERT_EVENTS, pending)


async def write_pending_events(session: AsyncSession) -> None:
    """For readers of timeline_events outside this repository, mid-transaction: the rows
    go before the reader's statement (on PostgreSQL with the other writes waiting)."""
    rows = session.sync_session.info.get(_PENDING)
    if rows:
        pending = list(rows)
        rows.clear()
        await (await connection(session)).later(_INSERT_EVENTS, pending)


@dataclass(slots=True)
class _Saved:
    id: int
    values: dict[str, Any]  # the domain's columns, as the database holds them


_TABLE = t.Base.metadata.tables["work_orders"]
_TIMELINE_TABLE = t.Base.metadata.tables["timeline_events"]
DOMAIN_COLUMNS = (  # the columns a WorkOrder is made of, besides id and seq
    "status",
    "priority",
    "skill_id",
    "description",
    "customer_id",
    "site_id",
    "equipment_id",
    "technician_id",
    "created_at",
    "sla_due_at",
    "wants_start",
    "wants_end",
    "source_channel",
    "extra_minutes",
    "flag_reason",
    "flagged_at",
)
_BY_SEQ = select(_TABLE).where(_TABLE.c.seq == bindparam("seq"))
_LOCKED_BY_SEQ = _BY_SEQ.with_for_update()
_ID_BY_SEQ = select(_TABLE.c.id).where(_TABLE.c.seq == bindparam("seq"))
_TIMELINE = (
    select(_TIMELINE_TABLE)
    .where(_TIMELINE_TABLE.c.work_order_id == bindparam("id"))
    .order_by(_TIMELINE_TABLE.c.id)
)


def _open_of(customer: ColumnElement[Any], *columns: ColumnElement[Any]) -> Select[Any]:
    """A customer's open work orders, the oldest first, at most OPEN_LIMIT."""
    return (
        select(*columns)
        .where(
            _TABLE.c.customer_id == customer,
            _TABLE.c.status.in_(sorted(s.value for s in OPEN)),
        )
        .order_by(_TABLE.c.seq)
        .limit(OPEN_LIMIT)
    )


_OPEN_OF = _open_of(bindparam("customer"), *_TABLE.c)
OPEN_PREFIX = "w_"  # open_orders_of's columns: the table's, prefixed
NO_OPEN_ORDER = null_columns(_TABLE.c, OPEN_PREFIX)


def open_orders_of(customer: ColumnElement[Any]) -> Subquery:
    """_OPEN_OF for the customer an expression names, its columns prefixed (OPEN_PREFIX):
    for another repository's statement to read along with its own (found_open)."""
    return _open_of(customer, *(c.label(OPEN_PREFIX + c.name) for c in _TABLE.c)).subquery()


_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_INSERT_NUMBERED = (
    insert(_TABLE)
    .values(seq=func.nextval(NATIVE["work_order"]))
    .returning(_TABLE.c.id, _TABLE.c.seq)
)
# The SET clause is the parameters given, other than row_id: only the changed columns.
_UPDATE_BY_ID = update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
_INSERT_EVENTS = insert(_TIMELINE_TABLE)


def _values(wo: WorkOrder) -> dict[str, Any]:
    return {
        "status": wo.status.value,
        "priority": wo.priority,
        "skill_id": wo.skill,
        "description": wo.description,
        "customer_id": wo.customer_id,
        "site_id": wo.site_id,
        "equipment_id": wo.equipment_id,
        "technician_id": wo.technician_id,
        "created_at": wo.created_at,
        "sla_due_at": wo.sla_due_at,
        "wants_start": wo.wants.start if wo.wants else None,
        "wants_end": wo.wants.end if wo.wants else None,
        "source_channel": wo.source_channel,
        "extra_minutes": wo.extra_minutes,
        "flag_reason": wo.flag.reason if wo.flag else None,
        "flagged_at": wo.flag.at if wo.flag else None,
    }


def _row_values(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DOMAIN_COLUMNS}


def _filtered(query: Select[t.WorkOrderRow], f: WorkOrderFilter) -> Select[t.WorkOrderRow]:
    w = t.WorkOrderRow
    if f.status is not None:
        query = query.where(w.status == f.status)
    if f.priority is not None:
        query = query.where(w.priority == f.priority)
    if f.technician_id is not None:
        query = query.where(w.technician_id == f.technician_id)
    if f.customer_id is not None:
        query = query.where(w.customer_id == f.customer_id)
    if f.statuses is not None:
        query = query.where(w.status.in_(f.statuses))
    if f.created_from is not None:
        query = query.where(w.created_at >= f.created_from)
    if f.created_to is not None:
        query = query.where(w.created_at < f.created_to)
    return query


def _event(e: Any) -> TimelineEvent:
    return TimelineEvent(
        at=e.at, kind=e.kind, actor=e.actor, channel=e.channel, text=e.text, data=e.data
    )


def to_domain(row: Any, events: list[Any]) -> WorkOrder:
    """A work order from a row (ORM object or Core row) and its timeline rows."""
    return _from_values(row.seq, _row_values(row), [_event(e) for e in events])


def _from_values(seq: int, v: dict[str, Any], timeline: list[TimelineEvent]) -> WorkOrder:
    wants = None
    if v["wants_start"] is not None and v["wants_end"] is not None:
        wants = Wants(v["wants_start"], v["wants_end"])
    flag = None
    if v["flag_reason"] is not None and v["flagged_at"] is not None:
        flag = Flag(v["flag_reason"], v["flagged_at"])
    return WorkOrder(
        seq=seq,
        customer_id=v["customer_id"],
        description=v["description"],
        created_at=v["created_at"],
        priority=v["priority"],
        skill=v["skill_id"],
        site_id=v["site_id"],
        equipment_id=v["equipment_id"],
        status=Status(v["status"]),
        sla_due_at=v["sla_due_at"],
        wants=wants,
        technician_id=v["technician_id"],
        source_channel=v["source_channel"],
        flag=flag,
        extra_minutes=v["extra_minutes"],
        timeline=timeline,
    )


def _photo(row: t.PhotoRow) -> Photo:
    return Photo(
        id=row.id,
        path=row.path,
        content_type=row.content_type,
        size=row.bytes,
        sent_by=row.sent_by,
        channel=row.channel,
        at=row.created_at,
    )
