"""Time on a job: closing the clock when a step ends, and corrections (`time 1h30`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storage.billing_repo import BillingRepository
from storage.billing_tables import TimeEntryRow


class JobsRepository(BillingRepository):
    async def close_open_entries(self, seq: int, tech_id: str, kind: str, now: datetime) -> None:
        wo_id = (await self._row(seq)).id
        await self.session.execute(
            update(TimeEntryRow)
            .where(
                TimeEntryRow.work_order_id == wo_id,
                TimeEntryRow.technician_id == tech_id,
                TimeEntryRow.kind == kind,
                TimeEntryRow.ended_at.is_(None),
            )
            .values(ended_at=now)
        )

    async def set_work_minutes(self, seq: int, tech_id: str, minutes: int, now: datetime) -> None:
        """Replace the technician's work time on the job with one entry of `minutes`,
        starting when their first work entry did (or ending now when there was none)."""
        wo_id = (await self._row(seq)).id
        first = await self.session.scalar(
            select(TimeEntryRow.started_at)
            .where(
                TimeEntryRow.work_order_id == wo_id,
                TimeEntryRow.technician_id == tech_id,
                TimeEntryRow.kind == "work",
            )
            .order_by(TimeEntryRow.started_at)
            .limit(1)
        )
        start = first or now - timedelta(minutes=minutes)
        await self.session.execute(
            delete(TimeEntryRow).where(
                TimeEntryRow.work_order_id == wo_id,
                TimeEntryRow.technician_id == tech_id,
                TimeEntryRow.kind == "work",
            )
        )
        await self.add_time_entry(
            seq,
            technician_id=tech_id,
            kind="work",
            started_at=start,
            ended_at=start + timedelta(minutes=minutes),
            note="corrected by the technician",
        )
