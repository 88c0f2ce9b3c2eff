"""SLA clocks as data: the open work orders, the stage each has been alerted at, and claims
on the ones whose stage advanced (row locks, SKIP LOCKED, so two workers never alert twice)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.sla_clock import ARRIVED, SlaWatch
from dispatch.workorder import OPEN
from storage import tables as t

OPEN_STATUSES = tuple(s.value for s in OPEN)
CLOCK_RUNNING = tuple(s.value for s in OPEN - ARRIVED)
w = t.WorkOrderRow
# Plain columns, not ORM rows: the sweep then loads each claimed work order fresh, under lock.
COLUMNS = (
    w.seq,
    w.status,
    w.priority,
    w.created_at,
    w.sla_due_at,
    w.sla_stage,
    w.flag_reason,
    w.technician_id,
)


class SlaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_orders(self) -> list[SlaWatch]:
        """Every open work order, the earliest SLA first (those without one last)."""
        rows = await self.session.execute(
            select(*COLUMNS)
            .where(w.status.in_(OPEN_STATUSES))
            .order_by(w.sla_due_at.is_(None), w.sla_due_at, w.created_at, w.seq)
        )
        return [SlaWatch(*r) for r in rows.all()]

    async def running(self, limit: int = 500) -> list[SlaWatch]:
        """Open work orders whose clock still runs: an SLA due time and no breach alerted yet."""
        rows = await self.session.execute(
            select(*COLUMNS)
            .where(w.status.in_(CLOCK_RUNNING), w.sla_due_at.is_not(None), w.sla_stage < 100)
            .order_by(w.sla_due_at)
            .limit(limit)
        )
        return [SlaWatch(*r) for r in rows.all()]

    async def claim(self, seqs: Iterable[int]) -> dict[int, int]:
        """Lock these work orders for the sweep; returns seq → stage already alerted, read
        under the lock. Rows another worker holds are skipped: it is alerting them."""
        wanted = list(seqs)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(w.seq, w.sla_stage)
            .where(w.seq.in_(wanted))
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return {int(seq): int(stage) for seq, stage in rows.all()}

    async def set_stage(self, seq: int, stage: int) -> None:
        await self.session.execute(
            update(t.WorkOrderRow).where(t.WorkOrderRow.seq == seq).values(sla_stage=stage)
        )
