"""A server process's start (`init_app(settle=True)`, what `callout serve` builds): it builds
what the first request would (the company, its intake model) and settles the heap, so that
neither lands in the middle of a customer's request."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.intake.model import IntakeModel
from dispatch.clock import FixedClock
from tests.conftest import UowFactory
from webhooks.app import GC_THRESHOLD, init_app
from webhooks.config import Settings


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector as it was: a settled app freezes the whole heap."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def test_a_server_builds_the_companys_intake_model_and_settles_the_heap_on_start(
    database_url: str,
    demo_company: None,
    uow: UowFactory,
    clock: FixedClock,
    tmp_path: Path,
    collector: None,
) -> None:
    async with uow() as u:
        company = await u.company.load()
    IntakeModel._cache.clear()
    gc.unfreeze()
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media")
    app = init_app(settings, clock=clock, settle=True)
    async with TestClient(TestServer(app)):
        models = [entry for entry in IntakeModel._cache.values() if entry[0] == company]
        assert models, "the company's intake model is built before the first request"
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLD


async def test_a_server_without_a_company_yet_still_starts(
    database_url: str, engine: object, clock: FixedClock, tmp_path: Path, collector: None
) -> None:
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media")
    app = init_app(settings, clock=clock, settle=True)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        assert gc.get_freeze_count() > 0


async def test_a_test_processs_app_leaves_the_collector_alone(
    database_url: str, engine: object, clock: FixedClock, tmp_path: Path, collector: None
) -> None:
    gc.unfreeze()
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media")
    async with TestClient(TestServer(init_app(settings, clock=clock))):
        assert gc.get_freeze_count() == 0
