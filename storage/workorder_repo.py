"""Work orders: rows ↔ the `WorkOrder` aggregate, with its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.ports import OPEN_LIMIT
from dispatch.workorder import OPEN, Flag, Photo, Status, TimelineEvent, Wants, WorkOrder
from storage import tables as t
from storage.sequences import next_value


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
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rows: dict[int, t.WorkOrderRow] = {}  # seq -> row, for save()
        # The whole timeline of work orders created or read whole in this transaction, and
        # which of them it holds locked (a row it inserted counts): a second get() of the
        # same work order (the engine after intake, the notifier after the engine) needs no
        # query. Every timeline write goes through _append_events, so this cannot go stale.
        self._timelines: dict[int, list[TimelineEvent]] = {}
        self._locked: set[int] = set()
        self._created: set[int] = set()  # inserted by this unit of work

    async def next_seq(self) -> int:
        return await next_value(self.session, "work_order")

    async def add(self, wo: WorkOrder) -> None:
        row = t.WorkOrderRow(seq=wo.seq)
        _copy_into(row, wo)
        self.session.add(row)
        await self.session.flush()
        self._rows[wo.seq] = row
        self._timelines[wo.seq] = wo.timeline[: len(wo.timeline) - len(wo.new_events)]
        self._locked.add(wo.seq)
        self._created.add(wo.seq)
        await self._append_events(row.id, wo)

    async def get(self, seq: int, *, lock: bool = False) -> WorkOrder | None:
        known = self._rows.get(seq)
        timeline = self._timelines.get(seq)
        if known is not None and timeline is not None and (not lock or seq in self._locked):
            return _domain(known, list(timeline))
        row = (
            await self.session.scalars(_LOCKED_BY_SEQ if lock else _BY_SEQ, {"seq": seq})
        ).first()
        if row is None:
            return None
        self._rows[seq] = row
        events = await self.session.scalars(_TIMELINE, {"id": row.id})
        timeline = [_event(e) for e in events]
        self._timelines[seq] = timeline
        if lock:
            self._locked.add(seq)
        return _domain(row, list(timeline))

    def created_here(self, seq: int) -> bool:
        return seq in self._created

    def forget_locks(self) -> None:
        """The transaction ended: its locks are gone and others may write again."""
        self._timelines.clear()
        self._locked.clear()
        self._created.clear()

    async def save(self, wo: WorkOrder) -> None:
        row = self._rows.get(wo.seq)
        if row is None:
            raise KeyError(f"{wo.number} was not loaded through this repository")
        _copy_into(row, wo)
        await self._append_events(row.id, wo)

    async def row_id(self, seq: int) -> int | None:
        row = self._rows.get(seq)
        if row is not None:
            return row.id
        return (
            await self.session.scalars(select(t.WorkOrderRow.id).where(t.WorkOrderRow.seq == seq))
        ).first()

    async def find(
        self, where: WorkOrderFilter, *, after_seq: int | None, limit: int
    ) -> list[WorkOrder]:
        query = _filtered(select(t.WorkOrderRow), where).order_by(t.WorkOrderRow.seq).limit(limit)
        if after_seq is not None:
            query = query.where(t.WorkOrderRow.seq > after_seq)
        rows = list((await self.session.scalars(query)).all())
        by_id: dict[int, list[t.TimelineRow]] = {r.id: [] for r in rows}
        if rows:
            events = await self.session.scalars(
                select(t.TimelineRow)
                .where(t.TimelineRow.work_order_id.in_(by_id))
                .order_by(t.TimelineRow.id)
            )
            for e in events:
                by_id[e.work_order_id].append(e)
        return [to_domain(r, by_id[r.id]) for r in rows]

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
        """The customer's open work orders (at most 50, oldest first), or those of `only`."""
        statuses = tuple(s.value for s in (OPEN if only is None else only) if s in OPEN)
        where = WorkOrderFilter(customer_id=customer_id, statuses=statuses)
        return await self.find(where, after_seq=None, limit=OPEN_LIMIT)

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
        """One INSERT for the new events (a bulk statement: the ORM unit of work cost more
        than the insert itself); the session flushes the work order's own changes first."""
        rows = [
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
        if rows:
            await self.session.execute(insert(t.TimelineRow), rows)
        await self.session.flush()


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


def _copy_into(row: t.WorkOrderRow, wo: WorkOrder) -> None:
    row.status = wo.status.value
    row.priority = wo.priority
    row.skill_id = wo.skill
    row.description = wo.description
    row.customer_id = wo.customer_id
    row.site_id = wo.site_id
    row.equipment_id = wo.equipment_id
    row.technician_id = wo.technician_id
    row.created_at = wo.created_at
    row.sla_due_at = wo.sla_due_at
    row.wants_start = wo.wants.start if wo.wants else None
    row.wants_end = wo.wants.end if wo.wants else None
    row.source_channel = wo.source_channel
    row.extra_minutes = wo.extra_minutes
    row.flag_reason = wo.flag.reason if wo.flag else None
    row.flagged_at = wo.flag.at if wo.flag else None


_BY_SEQ = select(t.WorkOrderRow).where(t.WorkOrderRow.seq == bindparam("seq"))
_LOCKED_BY_SEQ = _BY_SEQ.with_for_update()
_TIMELINE = (
    select(t.TimelineRow)
    .where(t.TimelineRow.work_order_id == bindparam("id"))
    .order_by(t.TimelineRow.id)
)


def _event(e: t.TimelineRow) -> TimelineEvent:
    return TimelineEvent(
        at=e.at, kind=e.kind, actor=e.actor, channel=e.channel, text=e.text, data=e.data
    )


def to_domain(row: t.WorkOrderRow, events: list[t.TimelineRow]) -> WorkOrder:
    return _domain(row, [_event(e) for e in events])


def _domain(row: t.WorkOrderRow, timeline: list[TimelineEvent]) -> WorkOrder:
    wants = None
    if row.wants_start is not None and row.wants_end is not None:
        wants = Wants(row.wants_start, row.wants_end)
    flag = None
    if row.flag_reason is not None and row.flagged_at is not None:
        flag = Flag(row.flag_reason, row.flagged_at)
    return WorkOrder(
        seq=row.seq,
        customer_id=row.customer_id,
        description=row.description,
        created_at=row.created_at,
        priority=row.priority,
        skill=row.skill_id,
        site_id=row.site_id,
        equipment_id=row.equipment_id,
        status=Status(row.status),
        sla_due_at=row.sla_due_at,
        wants=wants,
        technician_id=row.technician_id,
        source_channel=row.source_channel,
        flag=flag,
        extra_minutes=row.extra_minutes,
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
