"""The composition root: builds the aiohttp application and wires the real adapters."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application

from bot.context import BotConfig, Deps
from bot.media import MediaSource, TelegramMedia, TwilioMedia
from bot.ports import BotUnitOfWork
from dispatch.clock import Clock, StartedClock, SystemClock
from storage.db import session_factory
from storage.migrate import check_schema, server_warnings
from storage.uow import SqlUnitOfWork
from storage.zip_geocode import zip_centroid
from webhooks.config import Settings, engine_for
from webhooks.errors import error_middleware
from webhooks.logs import add_request_id, request_context
from webhooks.metrics import Metrics, counting
from webhooks.routing import HttpTravelMatrix

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
    telegram: Application | None = None  # type: ignore[type-arg]
    media: dict[str, MediaSource] = field(default_factory=dict)

    def uow(self) -> SqlUnitOfWork:
        if self.sessions is None:
            raise RuntimeError("the database is not open yet")
        return SqlUnitOfWork(self.sessions, travel=ROUTING)

    def bot_uows(self) -> BotUnitOfWork:
        return self.uow()

    def bot_deps(self) -> Deps:
        s = self.settings
        return Deps(
            clock=self.clock,
            geocode=zip_centroid,
            config=BotConfig(
                public_base_url=s.public_base_url,
                media_dir=s.media_dir,
                channels=frozenset(
                    ["sim"]
                    + (["telegram"] if s.telegram_enabled else [])
                    + (["sms"] if s.twilio_enabled else [])
                ),
            ),
            media=self.media,
        )


SERVICES = web.AppKey("services", Services)
ROUTING = HttpTravelMatrix()  # asked only when the company file sets assignment.routing_url


def make_clock(settings: Settings) -> Clock:
    """`CALLOUT_NOW` starts the clock at an instant, `CALLOUT_CLOCK_SPEED` makes it run faster
    (from the real now when no instant is given); neither: the system clock. The web and the
    worker processes build theirs here, so they agree."""
    if settings.now is None and settings.clock_speed == 1:
        return SystemClock()
    return StartedClock(settings.now or datetime.now(UTC), speed=settings.clock_speed)


def init_app(
    settings: Settings, *, clock: Clock | None = None, worker: bool = False, settle: bool = False
) -> web.Application:
    """`settle`: a server process's own app (`callout serve`, the benchmarks' servers), not
    one of many in a test process: it warms its caches and settles the heap on start."""
    from webhooks import api, billing, board, channels, health, sim

    metrics = Metrics()
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[request_context, counting(metrics), error_middleware],
    )
    app.on_response_prepare.append(add_request_id)
    app[SERVICES] = Services(
        settings=settings, clock=clock or make_clock(settings), metrics=metrics
    )
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_channels)
    if settle:
        app.on_startup.append(_settle)  # after cleanup_ctx's start: the database is open
    if worker:
        from webhooks.worker import worker_context

        app.cleanup_ctx.append(worker_context)
    health.setup(app)
    api.setup(app)
    channels.setup(app)
    board.setup(app)
    billing.setup(app)
    sim.setup(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    engine = engine_for(services.settings)
    try:
        await check_schema(engine)
        for warning in await server_warnings(engine):
            log.warning(warning)
    except Exception:
        await engine.dispose()
        raise
    services.engine, services.sessions = engine, session_factory(engine)
    yield
    await engine.dispose()


GC_THRESHOLD = (10_000, 10, 10)  # CPython's is (700, 10, 10)


async def _settle(app: web.Application) -> None:
    """Build what the first request would otherwise build (the company, its intake model),
    then take everything alive now out of the cyclic collector's reach (`gc.freeze`): the
    modules, the company and its model live as long as the process (a company replaced
    later is still freed by reference counting), and walking them was what made a full
    collection take ~100 ms in the middle of some request. The first generation's
    threshold is raised for the same reason: a request makes a few thousand objects,
    nearly all freed by reference counting before a collection would look."""
    from bot.intake.model import IntakeModel
    from storage.company_repo import CompanyNotLoaded

    try:
        async with app[SERVICES].uow() as uow:
            IntakeModel.for_company(await uow.company.load())
    except CompanyNotLoaded:
        pass  # `callout import` later; the first request builds them then
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


async def _channels(app: web.Application) -> AsyncIterator[None]:
    """Telegram's application lives as long as ours; media sources for the configured channels."""
    from webhooks.channels import telegram_application

    services = app[SERVICES]
    s = services.settings
    if s.twilio_account_sid and s.twilio_auth_token:
        services.media["sms"] = TwilioMedia(s.twilio_account_sid, s.twilio_auth_token)
    if s.telegram_enabled:
        services.telegram = telegram_application(services)
        await services.telegram.initialize()
        await services.telegram.start()
        services.media["telegram"] = TelegramMedia(services.telegram.bot)
    yield
    if services.telegram is not None:
        await services.telegram.stop()
        await services.telegram.shutdown()


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
