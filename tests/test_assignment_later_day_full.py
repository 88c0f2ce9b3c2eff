"""Later days fill in order: with one job a day each, a job after hours goes to Tuesday
while someone can still take one there, then to Wednesday; nobody gets two on a day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import FixedClock
from storage.company_file import load_company_file
from storage.importer import import_company
from storage.tables import DecisionRow, OfferRow
from tests.channel_app import Product
from tests.conftest import DEMO_COMPANY, UowFactory
from tests.test_assignment_flow import wo_row
from tests.test_assignment_later_day import AUSTIN, TUESDAY, after_hours

JOBS = 10


@pytest.fixture
async def demo_company(uow: UowFactory, clock: FixedClock) -> None:
    company = load_company_file(DEMO_COMPANY).company
    company = replace(
        company, technicians=tuple(replace(t, max_jobs_per_day=1) for t in company.technicians)
    )
    async with uow() as u:
        await import_company(u.session, company, clock.now())
        await u.commit()


async def test_later_days_fill_in_order_within_everyones_maximum(product: Product) -> None:
    p = product
    await after_hours(p)
    for i in range(JOBS):
        phone = f"+1512555{300 + i:04d}"
        await p.sms(phone, "kitchen faucet keeps dripping, no rush")
        await p.sms(phone, f"Pat Tester{i}")
        await p.sms(phone, "4406 Duval St, Austin TX 78751")
    by_day: dict[str, list[str]] = defaultdict(list)
    async with AsyncSession(p.engine) as s:
        offers = {o.work_order_id: o.technician_id for o in await s.scalars(select(OfferRow))}
        decisions = list(await s.scalars(select(DecisionRow).order_by(DecisionRow.id)))
    for seq in range(1001, 1001 + JOBS):
        wo = await wo_row(p, seq)
        if wo.planned_start is not None:
            by_day[wo.planned_start.astimezone(AUSTIN).date().isoformat()].append(offers[wo.id])
    assert all(len(techs) == len(set(techs)) for techs in by_day.values()), by_day
    days = sorted(by_day)
    assert days[0] == TUESDAY.isoformat() and len(days) >= 2, by_day
    # Days fill in order: each offer is for the earliest day someone can still take it.
    chosen = [d.data["chosen"]["arrival"][:10] for d in decisions if d.data["chosen"]]
    assert chosen == sorted(chosen), chosen
