"""Drive times from a routing server by URL (OSRM or Valhalla) change the engine's choice;
a server that does not answer leaves the great-circle estimate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.assignment import assign
from dispatch.clock import FixedClock
from dispatch.requests import OpenWorkOrder, open_work_order
from storage.db import session_factory
from storage.tables import CompanyRow, OfferRow
from storage.uow import SqlUnitOfWork
from storage.zip_geocode import zip_centroid
from webhooks.routing import HttpTravelMatrix

pytestmark = pytest.mark.usefixtures("demo_company")
T08_HOME = (30.2297, -97.7104)  # Luis Castillo; Derek Olsen (T02) lives farther from S027


def seconds_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """A road network where Luis is cut off (3 hours from anywhere) and the rest is close."""
    if a == b:
        return 0.0
    return 3 * 3600.0 if T08_HOME in (a, b) else 120.0


class FakeRouter:
    """OSRM's table service and Valhalla's sources_to_targets over the road network above."""

    def __init__(self) -> None:
        self.requests = 0
        self.app = web.Application()
        self.app.router.add_get("/table/v1/driving/{coords}", self.osrm)
        self.app.router.add_post("/valhalla/sources_to_targets", self.valhalla)

    async def osrm(self, request: web.Request) -> web.Response:
        self.requests += 1
        points = [
            (round(float(lat), 4), round(float(lon), 4))
            for lon, lat in (c.split(",") for c in request.match_info["coords"].split(";"))
        ]
        matrix = [[seconds_between(a, b) for b in points] for a in points]
        return web.json_response({"code": "Ok", "durations": matrix})

    async def valhalla(self, request: web.Request) -> web.Response:
        self.requests += 1
        body: dict[str, Any] = await request.json()
        points = [(round(p["lat"], 4), round(p["lon"], 4)) for p in body["sources"]]
        rows = [[{"time": seconds_between(a, b)} for b in points] for a in points]
        return web.json_response({"sources_to_targets": rows})


@pytest.fixture
async def router() -> AsyncIterator[tuple[FakeRouter, str]]:
    fake = FakeRouter()
    async with TestServer(fake.app) as server:
        yield fake, str(server.make_url("")).rstrip("/")


async def use_routing(engine: AsyncEngine, url: str | None) -> None:
    async with AsyncSession(engine) as s:
        row = (await s.scalars(select(CompanyRow))).one()
        settings = dict(row.settings)
        settings["assignment"] = {**settings["assignment"], "routing_url": url}
        await s.execute(update(CompanyRow).values(settings=settings))
        await s.commit()


async def offered_to(engine: AsyncEngine, clock: FixedClock) -> str:
    """Open a plumbing job at C012's site and let the engine offer it."""
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions, travel=HttpTravelMatrix(timeout_seconds=2)) as uow:
        wo = await open_work_order(
            uow,
            clock,
            zip_centroid,
            OpenWorkOrder(
                text="faucet drips",
                channel="portal",
                actor="test",
                customer_id="C012",
                site_id="S027",
                skill="plumbing",
                priority="P3",
            ),
        )
        await assign(uow, clock, wo.seq)
        tech = (await uow.session.scalars(select(OfferRow.technician_id))).one()
        await uow.rollback()
        return str(tech)


async def test_the_estimate_picks_the_nearer_technician(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    assert await offered_to(engine, clock) == "T08"


@pytest.mark.parametrize("path", ["", "/valhalla"], ids=["osrm", "valhalla"])
async def test_a_routing_server_changes_the_choice(
    engine: AsyncEngine, clock: FixedClock, router: tuple[FakeRouter, str], path: str
) -> None:
    fake, url = router
    await use_routing(engine, url + path)
    assert await offered_to(engine, clock) == "T02"
    assert fake.requests >= 1


async def test_a_routing_server_that_does_not_answer_leaves_the_estimate(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    await use_routing(engine, "http://127.0.0.1:9")  # nothing listens there
    assert await offered_to(engine, clock) == "T08"
