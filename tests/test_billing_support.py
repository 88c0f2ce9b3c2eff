"""Helpers for the billing tests: a finished job in the database, the app with billing routes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, ImageDraw

from dispatch.clock import FixedClock
from dispatch.workorder import Status, WorkOrder
from storage import billing_tables  # noqa: F401  (registers the tables for test truncation)
from storage.billing_repo import BillingRepository
from storage.uow import SqlUnitOfWork
from webhooks import billing
from webhooks.app import init_app
from webhooks.config import Settings

Client = TestClient[web.Request, web.Application]
UowFactory = Callable[[], SqlUnitOfWork]


async def add_completed_job(
    uow: UowFactory,
    now: datetime,
    *,
    priority: str = "P3",
    description: str = "Walk-in cooler not cooling",
    parts: tuple[tuple[str, str, Decimal, Decimal], ...] = (),
    work: tuple[tuple[datetime, datetime], ...] = (),
) -> int:
    async with uow() as u:
        seq = await u.work_orders.next_seq()
        wo = WorkOrder(
            seq=seq,
            customer_id="C001",
            description=description,
            created_at=now - timedelta(hours=4),
            priority=priority,
            site_id="S001",
            technician_id="T01",
            status=Status.COMPLETED,
        )
        await u.work_orders.add(wo)
        repo = BillingRepository(u.session)
        for start, end in work:
            await repo.add_time_entry(
                seq, technician_id="T01", kind="work", started_at=start, ended_at=end
            )
        for sku, name, qty, price in parts:
            await repo.add_part_use(
                seq, technician_id="T01", sku=sku, name=name, qty=qty, unit_price=price, at=now
            )
        await u.commit()
    return seq


@asynccontextmanager
async def billing_client(
    database_url: str, clock: FixedClock, media_dir: Path
) -> AsyncIterator[Client]:
    """The whole app, as tests/conftest.py builds it, plus the billing routes."""
    app = init_app(Settings(database_url=database_url, media_dir=media_dir), clock=clock)
    if not any(r.canonical == "/sign/{token}" for r in app.router.resources()):
        billing.setup(app)  # until init_app wires the billing routes itself
    async with TestClient(TestServer(app)) as client:
        yield client


def signature_png(*, ink: bool = True, size: tuple[int, int] = (600, 200)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if ink:
        ImageDraw.Draw(image).line([(40, 150), (200, 40), (380, 160), (560, 60)], "black", 4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
