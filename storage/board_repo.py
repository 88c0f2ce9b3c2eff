"""What the web board reads and writes: login links, sessions, the day's plan and the queue."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.workorder import HELD, OPEN, Status
from storage import tables as t
from storage.board_tables import BoardLinkRow, BoardSessionRow
from storage.workorder_repo import write_pending_events

LINK_TTL = timedelta(minutes=15)
JobQuery = Select[
    t.WorkOrderRow, str, str
]  # the row, the customer name, the live offer's technician
HOLDING = [s.value for s in HELD] + [Status.OFFERED.value]
UNASSIGNED = (Status.NEW.value, Status.NEEDS_INFO.value, Status.READY.value)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_board_link(session: AsyncSession, dispatcher_id: str, now: datetime) -> str:
    """A one-time login code for `/board/login/<code>`; only its hash is kept."""
    code = secrets.token_urlsafe(32)
    session.add(
        BoardLinkRow(
            code_hash=_hash(code),
            dispatcher_id=dispatcher_id,
            created_at=now,
            expires_at=now + LINK_TTL,
        )
    )
    await session.flush()
    return code


@dataclass(frozen=True, slots=True)
class BoardLogin:
    role: str  # admin | dispatcher
    party_id: str | None
    name: str


@dataclass(frozen=True, slots=True)
class BoardJob:
    """A work order as the board lists it (planned in someone's day, or waiting in the queue)."""

    seq: int
    status: str
    priority: str
    technician_id: str | None  # the assignee, or the technician holding the live offer
    customer: str
    skill: str | None
    description: str
    flag_reason: str | None
    sla_due_at: datetime | None
    created_at: datetime
    planned_start: datetime | None
    planned_end: datetime | None


class BoardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- login ----------------------------------------------------------------------------

    async def link_usable(self, code: str, now: datetime) -> bool:
        row = await self._link(code)
        return row is not None and row.used_at is None and row.expires_at > now

    async def redeem_link(self, code: str, now: datetime) -> str | None:
        """The dispatcher id, once: the conditional update makes a second use a no-op even
        when two requests race."""
        row = await self._link(code)
        if row is None:
            return None
        done = await self.session.execute(
            update(BoardLinkRow)
            .where(
                BoardLinkRow.id == row.id,
                BoardLinkRow.used_at.is_(None),
                BoardLinkRow.expires_at > now,
            )
            .values(used_at=now)
        )
        return row.dispatcher_id if done.rowcount == 1 else None  # type: ignore[attr-defined]

    async def _link(self, code: str) -> BoardLinkRow | None:
        return (
            await self.session.scalars(
                select(BoardLinkRow).where(BoardLinkRow.code_hash == _hash(code))
            )
        ).first()

    async def open_session(self, login: BoardLogin, now: datetime, ttl: timedelta) -> str:
        session_id = secrets.token_urlsafe(32)
        await self.session.execute(delete(BoardSessionRow).where(BoardSessionRow.expires_at <= now))
        self.session.add(
            BoardSessionRow(
                session_hash=_hash(session_id),
                role=login.role,
                party_id=login.party_id,
                name=login.name,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        await self.session.flush()
        return session_id

    async def login_of(self, session_id: str, now: datetime) -> BoardLogin | None:
        row = (
            await self.session.scalars(
                select(BoardSessionRow).where(BoardSessionRow.session_hash == _hash(session_id))
            )
        ).first()
        if row is None or row.expires_at <= now:
            return None
        return BoardLogin(role=row.role, party_id=row.party_id, name=row.name)

    async def close_session(self, session_id: str) -> None:
        await self.session.execute(
            delete(BoardSessionRow).where(BoardSessionRow.session_hash == _hash(session_id))
        )

    # --- what the board shows -------------------------------------------------------------

    async def version(self) -> str:
        """Changes whenever anything the board shows may have changed, in any process:
        every status change and flag writes a timeline event, every offer and message a row."""
        await write_pending_events(self.session)
        ids = [
            select(func.coalesce(func.max(table.id), 0)).scalar_subquery()
            for table in (t.TimelineRow, t.OutboxRow, t.OfferRow, t.DecisionRow)
        ]
        row = (await self.session.execute(select(*ids))).one()
        return "-".join(str(int(x)) for x in row)

    async def planned(self, day_start: datetime, day_end: datetime) -> list[BoardJob]:
        """Jobs with a place in someone's day (offered, assigned, under way or done)."""
        w = t.WorkOrderRow
        # A job put on someone by an override that no plan could fit has no planned time:
        # it still belongs on their row.
        unplanned = and_(w.planned_start.is_(None), w.status.in_(HOLDING))
        in_day = and_(w.planned_start >= day_start, w.planned_start < day_end)
        query = self._jobs().where(or_(in_day, unplanned), w.status != Status.CANCELLED.value)
        query = query.order_by(w.planned_start.is_(None), w.planned_start, w.seq)
        return [j for j in await self._run(query) if j.technician_id]

    async def queue(self, limit: int = 200) -> list[BoardJob]:
        """Flagged and unassigned open work orders, the oldest SLA first (`/queue`)."""
        w = t.WorkOrderRow
        query = self._jobs().where(
            or_(
                and_(w.flag_reason.is_not(None), w.status.in_([s.value for s in OPEN])),
                and_(w.status.in_(UNASSIGNED), w.technician_id.is_(None)),
            )
        )
        query = query.order_by(w.sla_due_at.is_(None), w.sla_due_at, w.created_at, w.seq)
        return await self._run(query.limit(limit))

    async def photo(self, photo_id: int) -> tuple[str, str] | None:
        """(path under MEDIA_DIR, content type)."""
        row = (
            await self.session.execute(
                select(t.PhotoRow.path, t.PhotoRow.content_type).where(t.PhotoRow.id == photo_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def decisions(self, seq: int) -> list[dict[str, Any]]:
        """Every assignment decision on the job, oldest first (engine explanations, overrides)."""
        rows = await self.session.scalars(
            select(t.DecisionRow)
            .join(t.WorkOrderRow, t.DecisionRow.work_order_id == t.WorkOrderRow.id)
            .where(t.WorkOrderRow.seq == seq)
            .order_by(t.DecisionRow.id)
        )
        return [
            {
                **r.data,
                "kind": r.kind,
                "at": r.at,
                "actor": r.actor,
                "technician_id": r.technician_id,
            }
            for r in rows
        ]

    def _jobs(self) -> JobQuery:
        w, o = t.WorkOrderRow, t.OfferRow
        return (
            select(w, t.CustomerRow.name, o.technician_id)
            .join(t.CustomerRow, t.CustomerRow.id == w.customer_id)
            .outerjoin(o, and_(o.work_order_id == w.id, o.status == "live"))
        )

    async def _run(self, query: JobQuery) -> list[BoardJob]:
        out = []
        for row, customer, offered_to in (await self.session.execute(query)).all():
            out.append(
                BoardJob(
                    seq=row.seq,
                    status=row.status,
                    priority=row.priority,
                    technician_id=row.technician_id or offered_to,
                    customer=customer,
                    skill=row.skill_id,
                    description=row.description,
                    flag_reason=row.flag_reason,
                    sla_due_at=row.sla_due_at,
                    created_at=row.created_at,
                    planned_start=row.planned_start,
                    planned_end=row.planned_end,
                )
            )
        return out


class BoardLinks:
    """One-time board login links, for the `/boardlink` command (the unit of work's `board`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_link(self, dispatcher_id: str, now: datetime) -> str:
        return await create_board_link(self.session, dispatcher_id, now)
