"""A new request costs the same after a year of finished work as on the first day.

Every request reads the day's bookings, the customer's open work orders and the chats of the
staff it tells. Read through an index that a year of history does not grow, that costs the
same on day 300 as on day 1; read through one that it does (status alone, technician
alone), it visits every finished job ever. Work is counted, not timed: SQLite's virtual
machine instructions for the whole request (a progress handler on the app's connection),
the same request before and after 5,000 finished work orders, 3,000 more customers' chats and
5,000 handled messages are added. SQLite only: PostgreSQL has no such counter, and both
databases get the same indexes from the same migration.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import OfferRow, WorkOrderRow
from tests.channel_app import Product
from tests.history import add_history
from webhooks.app import SERVICES

KNOWN = "+15125550126"  # Bluebonnet Senior Living (C007), a demo customer
TEXT = "Good morning, the kitchen walk-in at Manchaca is reading 45, can someone check it today"
STEP = 10  # instructions per progress-handler call
TECHNICIANS = [f"T{n:02d}" for n in range(1, 13)]
CUSTOMERS = ["C001", "C002", "C007"]  # demo customers, KNOWN's among them


class Steps:
    """Counts the SQLite instructions run on the app's connection while armed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.armed = False
        event.listen(engine.sync_engine, "checkout", self._attach)

    def _attach(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        raw = dbapi_conn.driver_connection._connection  # aiosqlite's sqlite3.Connection
        raw.set_progress_handler(self._tick, STEP)

    def _tick(self) -> int:
        if self.armed:
            self.count += 1
        return 0  # go on

    async def of(self, product: Product) -> int:
        self.count, self.armed = 0, True
        try:
            status, _ = await product.sms(KNOWN, TEXT)
        finally:
            self.armed = False
        assert status == 200
        return self.count * STEP


async def _finish_everything(engine: AsyncEngine, product: Product) -> None:
    """The request's work order becomes yesterday's finished job: the next identical text
    opens a new one and finds the same day."""
    yesterday = product.clock.now() - timedelta(days=1)
    async with engine.begin() as conn:
        await conn.execute(
            update(WorkOrderRow).values(
                status="invoiced", planned_start=yesterday, planned_end=yesterday
            )
        )
        await conn.execute(update(OfferRow).values(status="withdrawn"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_new_request_costs_the_same_after_a_year_of_history(
    product: Product, engine: AsyncEngine
) -> None:
    services = product.client.app[SERVICES]
    assert services.engine is not None
    steps = Steps(services.engine)
    await steps.of(product)  # the first builds the company cache and the intake model
    await _finish_everything(engine, product)
    before = await steps.of(product)
    await _finish_everything(engine, product)
    await add_history(engine, product.clock.now(), TECHNICIANS, CUSTOMERS)
    after = await steps.of(product)
    assert await product.count("work_orders") == 5_003
    # A year of history may cost a few index levels more, never a visit per past job.
    assert after < before * 1.15, (before, after)
