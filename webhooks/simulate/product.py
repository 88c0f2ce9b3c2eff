"""The real product for one simulated day: a fresh database, migrations, the company imported,
the bot's dependencies with a clock the simulation moves, and the outbox delivered to the
simulator channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.context import BotConfig, Deps
from bot.delivery import SimSender
from dispatch.clock import FixedClock
from dispatch.company import Company
from storage.db import make_engine, session_factory
from storage.importer import import_company
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork
from storage.zip_geocode import zip_centroid
from webhooks.outbox import deliver_due

BATCH = 50
PUBLIC_BASE_URL = "https://callout.invalid"  # links in messages; nobody opens them here


@dataclass
class Product:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: FixedClock
    deps: Deps

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions)

    async def deliver(self) -> int:
        """Run the outbox worker until nothing is due: the simulator sender marks each
        message delivered the moment it is taken."""
        sim = SimSender()
        senders = {"sim": sim, "sms": sim, "telegram": sim}
        total = 0
        while True:
            n = await deliver_due(self.sessions, senders, self.clock, batch=BATCH, concurrency=1)
            total += n
            if n < BATCH:  # the simulator has no pacing: a short batch took all that was due
                return total


@asynccontextmanager
async def open_product(
    url: str, company: Company, start: datetime, media_dir: Path
) -> AsyncIterator[Product]:
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with SqlUnitOfWork(sessions) as uow:
            await import_company(uow.session, company, start)
            await uow.commit()
        clock = FixedClock(start)
        deps = Deps(
            clock=clock,
            geocode=zip_centroid,
            config=BotConfig(
                public_base_url=PUBLIC_BASE_URL,
                media_dir=media_dir,
                channels=frozenset({"sim"}),
            ),
        )
        yield Product(engine, sessions, clock, deps)
    finally:
        await engine.dispose()
