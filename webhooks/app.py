"""The composition root: builds the aiohttp application and wires the real adapters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.clock import Clock, StartedClock, SystemClock
from storage.db import make_engine, session_factory
from storage.migrate import check_schema
from storage.uow import SqlUnitOfWork
from webhooks.config import Settings
from webhooks.errors import error_middleware
from webhooks.metrics import Metrics

MAX_BODY = 1024 * 1024  # §11: bodies over 1 MiB get 413
log = logging.getLogger("callout.app")


@dataclass
class Services:
    """What handlers need, built once per application."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    engine: AsyncEngine | None = None
    sessions: async_sessionmaker[AsyncSession] | None = None

    def uow(self) -> SqlUnitOfWork:
        if self.sessions is None:
            raise RuntimeError("the database is not open yet")
        return SqlUnitOfWork(self.sessions)


SERVICES = web.AppKey("services", Services)


def make_clock(settings: Settings) -> Clock:
    return StartedClock(settings.now) if settings.now is not None else SystemClock()


def init_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    from webhooks import api, health

    app = web.Application(client_max_size=MAX_BODY, middlewares=[error_middleware])
    app[SERVICES] = Services(
        settings=settings, clock=clock or make_clock(settings), metrics=Metrics()
    )
    app.cleanup_ctx.append(_database)
    health.setup(app)
    api.setup(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    engine = make_engine(services.settings.database_url)
    try:
        await check_schema(engine)
    except Exception:
        await engine.dispose()
        raise
    services.engine, services.sessions = engine, session_factory(engine)
    yield
    await engine.dispose()


async def database_ok(services: Services) -> bool:
    if services.engine is None:
        return False
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        log.warning("database check failed", exc_info=True)
        return False
    return True
