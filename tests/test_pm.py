"""Preventive maintenance opens itself: P4 work orders for equipment due within the look-ahead."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.timers import sweep_pm
from storage.tables import WorkOrderRow
from tests.channel_app import Product
from webhooks.app import SERVICES

# The demo company's notes: PM overdue on 2026-11-30 for these eleven.
OVERDUE = {"E001", "E008", "E010", "E013", "E014", "E015", "E017", "E021", "E025", "E035", "E039"}


async def test_due_pm_becomes_p4_work_orders_once_a_day(product: Product) -> None:
    app = product.client.app
    assert app is not None
    services = app[SERVICES]
    opened = await sweep_pm(services.bot_uows, services.bot_deps())
    assert opened >= len(OVERDUE)
    assert await sweep_pm(services.bot_uows, services.bot_deps()) == 0  # not twice a day
    async with AsyncSession(product.engine) as s:
        rows = list(await s.scalars(select(WorkOrderRow)))
    assert len(rows) == opened
    assert {r.equipment_id for r in rows} >= OVERDUE
    assert {r.priority for r in rows} == {"P4"}
    assert {r.source_channel for r in rows} == {"pm"}
    assert all(r.description.startswith("Preventive maintenance: ") for r in rows)
    assert all(r.status in ("offered", "ready") for r in rows)
