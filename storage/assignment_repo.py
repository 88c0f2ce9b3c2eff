"""Offers, decisions and day plans: what the assignment service reads and writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, String, and_, any_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.offers import Offer
from dispatch.planning import Booking, PlannedStop
from dispatch.workorder import HELD, STARTED, Status, Wants, WorkOrder
from storage import tables as t
from storage.company_repo import CompanyRepository, stamp_company
from storage.core import connection, database_key
from storage.day_version import DAY_VERSION_READ, mark_day_changed, noted_day_version
from storage.workorder_repo import DOMAIN_COLUMNS, WorkOrderRepository, to_domain

DONE = (Status.COMPLETED.value, Status.SIGNED_OFF.value, Status.INVOICED.value)


class AssignmentRepository:
    def __init__(
        self, session: AsyncSession, work_orders: WorkOrderRepository, company: CompanyRepository
    ) -> None:
        self.session = session
        self.work_orders = work_orders
        self.company = company
        self._offered: set[int] = set()  # work orders this unit of work made offers for

    # --- the day --------------------------------------------------------------------------

    async def bookings(self, day_start: datetime, day_end: datetime) -> list[Booking]:
        """Work orders holding a place in someone's day: assigned or under way (their
        technician), or offered (the live offer's technician)."""
        rows = await (await connection(self.session)).execute(
            _DAY_FULL, {"start": day_start, "end": day_end}
        )
        return self._day(rows, _whole)[0]

    async def day(
        self, day_start: datetime, day_end: datetime, *, of: frozenset[str] | None = None
    ) -> tuple[tuple[Booking, ...], dict[str, int]]:
        """The bookings and the jobs done per technician of a day, in one query: the
        engine reads them together for every request. Their work orders carry what
        planning reads (no description, flag or timeline): see _for_planning. With `of`,
        at least those technicians' (the later-day search wants a few of them).

        The day read last is kept per process and reused while `day_version` stands: on
        SQLite (moved by triggers on every change to a booking, migration 0010), read here,
        where there is one writer, whose transaction this is, so the version is exact;
        there everyone's day is read, and kept. On PostgreSQL (moved when such a change
        commits, migration 0012) the version the transaction read first, only while it has
        changed nobody's day since (storage.day_version): a transaction a few milliseconds
        old may be served a day as it was when it began, as if it had read the day then;
        booking a technician locks them and reads their day afresh (dispatch.assignment),
        and so does every read after that. There only `of`'s are read.

        A kept day is answered with the same tuple each time: the engine keeps what it
        works out from a tuple of bookings it has seen before (dispatch.planning)."""
        conn = await connection(self.session)
        if conn.dialect.name == "sqlite":
            version = await conn.scalar(DAY_VERSION_READ)
            of = None
        else:
            version = noted_day_version(self.session, conn.conn.sync_connection)
        key = (database_key(self.session), day_start, day_end, of)
        cached = _DAYS.get(key)
        if version is not None and cached is not None and cached[0] == version:
            return cached[1], dict(cached[2])
        if of is not None:
            params = {"start": day_start, "end": day_end, "held_by": sorted(of)}
            rows = await conn.execute(_DAY_OF_SOME, {**params, "offered_to": sorted(of)})
        else:
            rows = await conn.execute(_DAY, {"start": day_start, "end": day_end})
        read, done = self._day(rows, _for_planning)
        bookings = tuple(read)
        if version is not None:  # None: no booking ever changed, or not to be kept
            if len(_DAYS) >= _MAX_DAYS:
                _DAYS.clear()
            _DAYS[key] = (version, bookings, dict(done))
        return bookings, done

    @staticmethod
    def _day(
        rows: Iterable[Any], make: Callable[[Row[Any]], WorkOrder]
    ) -> tuple[list[Booking], dict[str, int]]:
        bookings: list[Booking] = []
        done: Counter[str] = Counter()
        for row in rows:
            offered_to = row.offered_to
            if row.status in _DONE_SET:
                if row.technician_id is not None:
                    done[row.technician_id] += 1
                continue
            tech = offered_to if row.status == Status.OFFERED.value else row.technician_id
            if tech is not None:
                booking = Booking(make(row), tech, row.plan_position, row.planned_start)
                bookings.append(booking)
        return bookings, dict(done)

    async def day_of(
        self, tech_id: str, day_start: datetime, day_end: datetime
    ) -> tuple[list[Booking], int]:
        """day() for one technician: their bookings and how many jobs they did that day."""
        rows = await (await connection(self.session)).execute(
            _DAY_OF, {"start": day_start, "end": day_end, "tech": tech_id}
        )
        bookings, done = self._day(rows, _for_planning)
        return [b for b in bookings if b.technician_id == tech_id], done.get(tech_id, 0)

    async def unavailable(self) -> frozenset[str]:
        return await self.company.unavailable()

    async def set_available(self, tech_id: str, available: bool) -> None:
        await self.session.execute(
            update(t.TechnicianRow).where(t.TechnicianRow.id == tech_id).values(available=available)
        )
        await stamp_company(self.session)  # availability is cached with the company

    async def lock_technician(self, tech_id: str) -> bool:
        """Serialize every change to one technician's day (a row lock on PostgreSQL); whether
        they are available, as the row says once it is ours. Every day read after it is
        read afresh (storage.day_version): a choice made again after a slot was taken meanwhile
        is made on the day as it is now."""
        conn = await connection(self.session)
        available = await conn.scalar(_LOCK_TECHNICIAN, {"id": tech_id})
        mark_day_changed(conn.conn.sync_connection)
        return bool(available)

    async def set_schedule(self, stops: list[PlannedStop]) -> None:
        """Every stop's place and times, in one statement; a stop that keeps them is not
        written (a new job moves only what comes after it)."""
        if not stops:
            return
        params = [
            {"stop_seq": s.seq, "position": s.position, "start": s.start, "end": s.end}
            for s in stops
        ]
        await (await connection(self.session)).execute(_SET_SCHEDULE, params)

    async def clear_schedule(self, seq: int) -> None:
        await self.session.execute(
            update(t.WorkOrderRow)
            .where(t.WorkOrderRow.seq == seq)
            .values(plan_position=None, planned_start=None, planned_end=None)
        )

    async def planned(self, seq: int) -> tuple[datetime, datetime] | None:
        row = (
            await self.session.execute(
                select(t.WorkOrderRow.planned_start, t.WorkOrderRow.planned_end).where(
                    t.WorkOrderRow.seq == seq
                )
            )
        ).first()
        if row is None or row[0] is None or row[1] is None:
            return None
        return row[0], row[1]

    async def held_by(self, tech_id: str) -> list[WorkOrder]:
        """The technician's jobs: under way first, then in plan order."""
        w = t.WorkOrderRow
        held = [s.value for s in HELD] + [Status.ON_HOLD.value]
        seqs = await self.session.scalars(
            select(w.seq)
            .where(w.technician_id == tech_id, w.status.in_(held))
            .order_by(w.plan_position.is_(None), w.plan_position, w.seq)
        )
        orders = [wo for seq in list(seqs) if (wo := await self.work_orders.get(seq)) is not None]
        return sorted(orders, key=lambda wo: wo.status not in STARTED | {Status.ON_HOLD})

    async def last_site_today(
        self, tech_id: str, other_than: int, *, day_start: datetime
    ) -> str | None:
        """The site of the technician's latest job planned today (from `day_start`) that they
        reached: where they set off from next. Yesterday's last site is not today's start."""
        w = t.WorkOrderRow
        return (
            await self.session.scalars(
                select(w.site_id)
                .where(
                    w.technician_id == tech_id,
                    w.seq != other_than,
                    w.status.in_([*DONE, Status.ON_SITE.value, Status.WORKING.value]),
                    w.planned_start >= day_start,
                    w.planned_start < day_start + timedelta(days=1),
                )
                .order_by(w.planned_end.desc().nulls_last())
                .limit(1)
            )
        ).first()

    async def use_stock(self, tech_id: str, sku: str, qty: int) -> int | None:
        """Take parts from the van; None when the technician doesn't carry that part."""
        row = await self.session.get(t.VanStockRow, (tech_id, sku), with_for_update=True)
        if row is None:
            return None
        row.qty = max(0, row.qty - qty)
        await self.session.flush()
        await stamp_company(self.session)  # van stock is part of the cached company
        return row.qty

    async def set_lone_check(self, seq: int, at: datetime | None) -> None:
        await self.session.execute(
            update(t.WorkOrderRow).where(t.WorkOrderRow.seq == seq).values(lone_check_due_at=at)
        )

    async def lone_checks_due(self, now: datetime, limit: int) -> list[int]:
        w = t.WorkOrderRow
        query = (
            select(w.seq)
            .where(
                w.lone_check_due_at <= now,
                w.status.in_([Status.ON_SITE.value, Status.WORKING.value, Status.ON_HOLD.value]),
            )
            .order_by(w.lone_check_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(query))

    # --- offers ---------------------------------------------------------------------------

    async def create_offer(
        self, seq: int, tech_id: str, now: datetime, expires_at: datetime, failover_at: datetime
    ) -> Offer:
        wo_id = await self.work_orders.row_id(seq)
        assert wo_id is not None
        values = {
            "work_order_id": wo_id,
            "technician_id": tech_id,
            "status": "live",
            "created_at": now,
            "expires_at": expires_at,
            "failover_at": failover_at,
        }
        offer_id = await (await connection(self.session)).scalar(_INSERT_OFFER, values)
        self._offered.add(seq)
        return Offer(int(offer_id), seq, tech_id, "live", now, expires_at)

    async def live_offer(self, seq: int) -> Offer | None:
        row = (
            await self.session.execute(
                select(t.OfferRow)
                .join(t.WorkOrderRow, t.OfferRow.work_order_id == t.WorkOrderRow.id)
                .where(t.WorkOrderRow.seq == seq, t.OfferRow.status == "live")
                .with_for_update()
            )
        ).scalar_one_or_none()
        return None if row is None else _offer(row, seq)

    async def offers_of(self, seq: int) -> list[Offer]:
        if self.work_orders.created_here(seq) and seq not in self._offered:
            return []  # a work order this transaction created has no offers yet
        rows = await self.session.scalars(
            select(t.OfferRow)
            .join(t.WorkOrderRow, t.OfferRow.work_order_id == t.WorkOrderRow.id)
            .where(t.WorkOrderRow.seq == seq)
            .order_by(t.OfferRow.id)
        )
        return [_offer(r, seq) for r in rows]

    async def close_offer(
        self, offer_id: int, status: str, now: datetime, reason: str | None
    ) -> None:
        await self.session.execute(
            update(t.OfferRow)
            .where(t.OfferRow.id == offer_id)
            .values(status=status, answered_at=now, reason=reason)
        )

    async def note_decline_reason(self, seq: int, tech_id: str, reason: str) -> bool:
        """The reason a technician gives after declining (their latest declined offer)."""
        offer = (
            await self.session.scalars(
                select(t.OfferRow)
                .join(t.WorkOrderRow, t.OfferRow.work_order_id == t.WorkOrderRow.id)
                .where(
                    t.WorkOrderRow.seq == seq,
                    t.OfferRow.technician_id == tech_id,
                    t.OfferRow.status == "declined",
                )
                .order_by(t.OfferRow.id.desc())
                .limit(1)
            )
        ).first()
        if offer is None:
            return False
        offer.reason = reason
        await self.session.flush()
        return True

    async def due_offers(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        """(offer id, work order seq) of live offers past their expiry, claimed with
        SKIP LOCKED so that two workers never expire the same one."""
        query = (
            select(t.OfferRow.id, t.WorkOrderRow.seq)
            .join(t.WorkOrderRow, t.OfferRow.work_order_id == t.WorkOrderRow.id)
            .where(t.OfferRow.status == "live", t.OfferRow.expires_at <= now)
            .order_by(t.OfferRow.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=t.OfferRow)
        )
        return [(int(a), int(b)) for a, b in (await self.session.execute(query)).all()]

    async def failover_due(self, now: datetime, limit: int) -> list[Offer]:
        """Live offers unanswered past half their timeout: re-sent by SMS once."""
        rows = (
            await self.session.execute(
                select(t.OfferRow, t.WorkOrderRow.seq)
                .join(t.WorkOrderRow, t.OfferRow.work_order_id == t.WorkOrderRow.id)
                .where(t.OfferRow.status == "live", t.OfferRow.failover_at <= now)
                .limit(limit)
                .with_for_update(skip_locked=True, of=t.OfferRow)
            )
        ).all()
        out = []
        for row, seq in rows:
            row.failover_at = None
            out.append(_offer(row, seq))
        return out

    # --- decisions ------------------------------------------------------------------------

    async def add_decision(
        self,
        seq: int,
        at: datetime,
        kind: str,
        actor: str,
        technician_id: str | None,
        data: dict[str, Any],
    ) -> None:
        wo_id = await self.work_orders.row_id(seq)
        assert wo_id is not None
        await (await connection(self.session)).later(
            _INSERT_DECISION,
            {
                "work_order_id": wo_id,
                "at": at,
                "kind": kind,
                "actor": actor,
                "technician_id": technician_id,
                "data": data,
            },
        )

    async def latest_decision(self, seq: int) -> dict[str, Any] | None:
        row = (
            await self.session.scalars(
                select(t.DecisionRow)
                .join(t.WorkOrderRow, t.DecisionRow.work_order_id == t.WorkOrderRow.id)
                .where(t.WorkOrderRow.seq == seq)
                .order_by(t.DecisionRow.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return {"kind": row.kind, "at": row.at, "actor": row.actor, **row.data}


_DONE_SET = frozenset(DONE)
_STATUS = {s.value: s for s in Status}
_INSERT_DECISION = insert(t.Base.metadata.tables["decisions"])
_INSERT_OFFER = insert(t.OfferRow).returning(t.OfferRow.id)
_W = t.WorkOrderRow
_IN_DAY = (_W.planned_start.is_(None)) | (
    (_W.planned_start >= bindparam("start")) & (_W.planned_start < bindparam("end"))
)
_WORK_ORDERS = t.Base.metadata.tables["work_orders"]
_SET_SCHEDULE = (
    update(_WORK_ORDERS)
    .where(_WORK_ORDERS.c.seq == bindparam("stop_seq"))
    .where(
        _WORK_ORDERS.c.plan_position.is_distinct_from(bindparam("position"))
        | _WORK_ORDERS.c.planned_start.is_distinct_from(bindparam("start"))
        | _WORK_ORDERS.c.planned_end.is_distinct_from(bindparam("end"))
    )
    .values(
        plan_position=bindparam("position"),
        planned_start=bindparam("start"),
        planned_end=bindparam("end"),
    )
)
# What DayView.routes and DayView.job read of a booked work order, and what the query needs:
# not the description or the flag.
_UNPLANNED = frozenset({"description", "flag_reason", "flagged_at"})
_PLANNING = [
    _WORK_ORDERS.c[name]
    for name in ("id", "seq", *DOMAIN_COLUMNS, "plan_position", "planned_start")
    if name not in _UNPLANNED
]


def _whole(row: Row[Any]) -> WorkOrder:
    return to_domain(row, [])


def _for_planning(row: Row[Any]) -> WorkOrder:
    """A booked work order as planning sees it: no description, flag or timeline (fewer
    columns to read and convert, for every booking of the day on every request). The same
    row makes the same work order: DayView only reads them, so they are kept per process."""
    key = tuple(row)
    wo = _PLANNED.get(key)
    if wo is None:
        if len(_PLANNED) >= _MAX_PLANNED:
            _PLANNED.clear()
        wo = _PLANNED[key] = _planned(row)
    return wo


_PLANNED: dict[tuple[Any, ...], WorkOrder] = {}
_MAX_PLANNED = 20_000
# (database URL, day start, day end, the technicians read or None for everyone) ->
# (day_version, bookings, done per technician). PostgreSQL's later-day reads are kept per
# set of technicians (a few a skill), hence more than a few days' worth.
_DayKey = tuple[str, datetime, datetime, frozenset[str] | None]
_DAYS: dict[_DayKey, tuple[int, tuple[Booking, ...], dict[str, int]]] = {}
_MAX_DAYS = 64


def _planned(row: Row[Any]) -> WorkOrder:
    wants = None
    if row.wants_start is not None and row.wants_end is not None:
        wants = Wants(row.wants_start, row.wants_end)
    return WorkOrder(
        seq=row.seq,
        customer_id=row.customer_id,
        description="",
        created_at=row.created_at,
        priority=row.priority,
        skill=row.skill_id,
        site_id=row.site_id,
        equipment_id=row.equipment_id,
        status=_STATUS[row.status],
        sla_due_at=row.sla_due_at,
        wants=wants,
        technician_id=row.technician_id,
        source_channel=row.source_channel,
        extra_minutes=row.extra_minutes,
    )


def _day_query(*columns: Any) -> Select[Any]:
    """Held work orders (their technician), offered ones (joined to their live offer's
    technician) and the day's done ones (counted per technician), in one statement."""
    return (
        select(*columns, t.OfferRow.technician_id.label("offered_to"))
        .outerjoin(
            t.OfferRow,
            and_(
                t.OfferRow.work_order_id == _W.id,
                t.OfferRow.status == "live",
                _W.status == Status.OFFERED.value,
            ),
        )
        .where(
            or_(
                and_(_W.status.in_([s.value for s in HELD]), _IN_DAY),
                and_(_W.status == Status.OFFERED.value, t.OfferRow.id.is_not(None), _IN_DAY),
                and_(
                    _W.status.in_(DONE),
                    _W.planned_start >= bindparam("start"),
                    _W.planned_start < bindparam("end"),
                ),
            )
        )
    )


_DAY = _day_query(*_PLANNING)
_DAY_FULL = _day_query(_WORK_ORDERS)


_DAY_OF = _DAY.where(
    or_(_W.technician_id == bindparam("tech"), t.OfferRow.technician_id == bindparam("tech"))
)
# PostgreSQL only (SQLite reads everyone's day). The technicians come as one array, not
# an IN list: an IN list's SQL differs with its length, so each read was parsed and planned
# afresh (2 ms of the server's CPU, more than the read itself); one statement is prepared
# once and its plan kept.
_TECHNICIANS = ARRAY(String)
_DAY_OF_SOME = _DAY.where(
    or_(
        _W.technician_id == any_(bindparam("held_by", type_=_TECHNICIANS)),
        t.OfferRow.technician_id == any_(bindparam("offered_to", type_=_TECHNICIANS)),
    )
)
_LOCK_TECHNICIAN = (
    select(t.TechnicianRow.available).where(t.TechnicianRow.id == bindparam("id")).with_for_update()
)


def _offer(row: t.OfferRow, seq: int) -> Offer:
    return Offer(
        id=row.id,
        seq=seq,
        technician_id=row.technician_id,
        status=row.status,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )
