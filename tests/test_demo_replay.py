"""The demo day played live: the real app with its worker, the demo's own preparation, the
replay started the way the /sim button starts it, and the product's records read back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import BotConfig, Deps
from bot.timers import sweep_pm
from dispatch.clock import FixedClock, StartedClock
from storage.billing_tables import InvoiceRow
from storage.db import session_factory
from storage.tables import OfferRow, OutboxRow, WorkOrderRow
from storage.uow import SqlUnitOfWork
from storage.zip_geocode import zip_centroid
from tests.conftest import DEMO_NOW
from webhooks.app import init_app
from webhooks.config import Settings
from webhooks.demo import prepare

Client = TestClient[web.Request, web.Application]
FAST = 600  # ten simulated minutes a second: the first invoice within about half a minute


@dataclass
class Demo:
    client: Client
    clock: StartedClock
    engine: AsyncEngine


@pytest.fixture
async def demo(database_url: str, engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[Demo]:
    """`callout demo` in-process: its preparation, then the app with the worker and the demo
    clock at 07:00 of the demo day."""
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media", now=DEMO_NOW)
    await prepare(settings)
    clock = StartedClock(DEMO_NOW)
    app = init_app(settings, clock=clock, worker=True)
    async with TestClient(TestServer(app)) as client:
        yield Demo(client, clock, engine)


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def play(client: Client, speed: float) -> dict[str, Any]:
    response = await client.post("/sim/replay", json={"speed": speed})
    body: dict[str, Any] = await response.json()
    assert response.status == 202, body
    return body


async def wait_for_invoice(demo: Demo) -> dict[str, Any]:
    """Until the first invoice, or the replay ends (the day's clock runs out) without one."""
    while True:
        status: dict[str, Any] = await (await demo.client.get("/sim/replay")).json()
        if await count(demo.engine, InvoiceRow) or status["state"] != "running":
            return status
        await asyncio.sleep(0.5)


async def test_the_demo_opens_on_an_empty_queue_with_its_maintenance_held_back(
    demo: Demo,
) -> None:
    sessions = session_factory(demo.engine)
    deps = Deps(
        clock=FixedClock(DEMO_NOW + timedelta(hours=1)),
        geocode=zip_centroid,
        config=BotConfig(
            public_base_url="http://127.0.0.1", media_dir=Path("media"), channels=frozenset({"sim"})
        ),
    )
    assert await sweep_pm(lambda: SqlUnitOfWork(sessions), deps) == 0  # what the worker runs
    assert await count(demo.engine, WorkOrderRow) == 0
    status = await (await demo.client.get("/sim/replay")).json()
    assert status["state"] == "idle"


async def test_playing_the_day_brings_requests_offers_moves_and_invoices(demo: Demo) -> None:
    started = await play(demo.client, FAST)
    assert started["state"] == "running"
    assert demo.clock.speed == FAST
    status = await wait_for_invoice(demo)
    assert status["state"] == "running", status
    pm = WorkOrderRow.source_channel == "pm"
    assert await count(demo.engine, WorkOrderRow, pm) > 0  # the maintenance opened at the start
    assert await count(demo.engine, WorkOrderRow, WorkOrderRow.source_channel == "sim") >= 3
    assert await count(demo.engine, OfferRow, OfferRow.status == "accepted") > 0
    moved = WorkOrderRow.status.in_(["en_route", "on_site", "working", "completed", "invoiced"])
    assert await count(demo.engine, WorkOrderRow, moved) > 0
    assert await count(demo.engine, InvoiceRow) >= 1
    assert await count(demo.engine, OutboxRow, OutboxRow.status == "failed") == 0
    async with demo.engine.connect() as conn:
        first = await conn.scalar(
            select(WorkOrderRow.description)
            .where(WorkOrderRow.source_channel == "sim")
            .order_by(WorkOrderRow.seq)
        )
    assert first is not None and "gas" in first.lower()  # 07:02, the day's first request


async def test_a_day_plays_once_per_server_and_once_per_database(
    demo: Demo, database_url: str, tmp_path: Path
) -> None:
    await play(demo.client, FAST)
    again = await demo.client.post("/sim/replay", json={"speed": 60})
    assert again.status == 409
    assert "already playing" in (await again.json())["message"]
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media", now=DEMO_NOW)
    app = init_app(settings, clock=StartedClock(DEMO_NOW))
    async with TestClient(TestServer(app)) as other:  # `callout demo` again on the same file
        response = await other.post("/sim/replay", json={"speed": 60})
        assert response.status == 409
        assert "played the demo day already" in (await response.json())["message"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"speed": 0}, 400, "speed"),
        ({"speed": "fast"}, 400, "speed"),
        ({"speed": True}, 400, "speed"),
        ({"speed": 1e9}, 400, "at most"),
        ([1, 2], 400, "speed"),
    ],
)
async def test_a_bad_speed_is_refused_with_the_reason(
    demo: Demo, body: Any, status: int, says: str
) -> None:
    response = await demo.client.post("/sim/replay", json=body)
    assert response.status == status
    assert says in (await response.json())["message"]
    assert demo.clock.speed == 1


async def test_a_form_post_cannot_start_the_day(demo: Demo) -> None:
    response = await demo.client.post("/sim/replay", data={"speed": "60"})
    assert response.status == 415
    assert (await (await demo.client.get("/sim/replay")).json())["state"] == "idle"


async def test_a_server_on_the_real_time_clock_refuses_to_play(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media", now=DEMO_NOW)
    await prepare(settings)
    app = init_app(settings, clock=FixedClock(DEMO_NOW))
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/sim/replay", json={"speed": 60})
        assert response.status == 409
        assert "callout demo" in (await response.json())["message"]


async def test_a_clock_past_the_demo_day_refuses_to_play(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media", now=DEMO_NOW)
    await prepare(settings)
    app = init_app(settings, clock=StartedClock(DEMO_NOW + timedelta(days=1)))
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/sim/replay", json={"speed": 60})
        assert response.status == 409
        assert "not within the demo day 2026-11-30" in (await response.json())["message"]


def test_the_clock_speeds_up_and_never_goes_back() -> None:
    clock = StartedClock(DEMO_NOW)
    before = clock.now()
    clock.set_speed(3600)
    faster = clock.now()
    assert faster >= before
    clock.set_speed(1)
    assert clock.now() >= faster
    with pytest.raises(ValueError, match="clock speed"):
        clock.set_speed(0)
    with pytest.raises(ValueError, match="clock speed"):
        StartedClock(DEMO_NOW, speed=float("nan"))
