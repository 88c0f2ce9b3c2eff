"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery import open_senders
from dispatch.clock import FixedClock
from storage.company_file import load_company_file
from storage.db import make_engine, session_factory
from storage.importer import import_company
from storage.uow import SqlUnitOfWork
from tests.databases import (
    copy_sqlite,
    drop_postgres_database,
    fresh_postgres_database,
    need_postgres,
    postgres_problem,
    sqlite_template,
    truncate_postgres,
)
from webhooks.app import init_app
from webhooks.config import Settings, settings_from_env
from webhooks.outbox import Senders

pytest_plugins = [
    "tests.doubles.fixtures",
    "tests.channel_app",
    "tests.browser",
    "tests.board_support",
]

DEMO_COMPANY = Path(__file__).resolve().parent.parent / "webhooks" / "demo" / "company.yaml"
DEMO_NOW = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 07:00 in Austin on the demo day


@pytest.fixture(scope="session")
def postgres_ready() -> Iterator[tuple[str | None, str]]:
    """This session's PostgreSQL database: (None, url) when ready, else (why not, "")."""
    problem = postgres_problem()
    if problem is not None:
        yield problem, ""
        return
    url = asyncio.run(fresh_postgres_database())
    yield None, url
    asyncio.run(drop_postgres_database(url))


@pytest.fixture(scope="session")
def sqlite_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(sqlite_template(tmp_path_factory.mktemp("template")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_master: Path) -> str:
    if request.param == "sqlite":
        return copy_sqlite(sqlite_master, tmp_path / "test.db")
    problem, url = request.getfixturevalue("postgres_ready")
    need_postgres(problem)
    return str(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        await truncate_postgres(engine)
    yield engine
    await engine.dispose()


UowFactory = Callable[[], SqlUnitOfWork]


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def uow(sessions: async_sessionmaker[AsyncSession]) -> UowFactory:
    return lambda: SqlUnitOfWork(sessions)


@pytest.fixture
async def senders(channel_env: dict[str, str]) -> AsyncIterator[Senders]:
    """The real channel senders, pointed at the Telegram and Twilio doubles."""
    settings = settings_from_env({**channel_env, "PUBLIC_BASE_URL": "https://callout.example"})
    async with open_senders(settings) as opened:
        yield opened


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEMO_NOW)


@pytest.fixture
async def demo_company(uow: UowFactory, clock: FixedClock) -> None:
    loaded = load_company_file(DEMO_COMPANY)
    async with uow() as u:
        await import_company(u.session, loaded.company, clock.now())
        await u.commit()


@pytest.fixture
async def api_token(uow: UowFactory, clock: FixedClock) -> str:
    async with uow() as u:
        token = await u.tokens.create("tests", clock.now())
        await u.commit()
    return token


@pytest.fixture
async def client(
    database_url: str, engine: AsyncEngine, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media")
    app = init_app(settings, clock=clock)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
