"""The background worker: outbox delivery and the deadline sweeps, in `callout worker` or
inside `callout serve`. Deadlines live in the database; this only polls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import web
from telegram import Update

from bot.delivery import open_senders
from bot.inbound import receive
from bot.messages import Inbound
from bot.timers import sweep, sweep_pm
from storage.db import session_factory
from storage.migrate import check_schema, server_warnings
from storage.outbox_repo import OutboxStats
from webhooks.app import SERVICES, Services, make_clock
from webhooks.config import Settings, engine_for
from webhooks.inbound_forms import BadPayload, from_simulator, from_telegram, from_twilio
from webhooks.metrics import Metrics
from webhooks.outbox import run_worker

log = logging.getLogger("callout.worker")
SWEEP_IDLE_SECONDS = 1.0


async def retake_stranded(services: Services, *, limit: int = 20) -> int:
    """Messages stored but never handled (their process died mid-way): handle them now.
    Replies go through the outbox, since the webhook that could have carried them is gone."""
    now = services.clock.now()
    async with services.uow() as uow:
        found = await uow.inbound.stranded(now, limit)
    for channel, external_id, payload in found:
        try:
            msg = inbound_from_payload(channel, external_id, payload, now)
        except (BadPayload, ValueError, KeyError, TypeError):
            async with services.uow() as uow:
                await uow.inbound.mark_processed(channel, external_id, now, error="unreadable")
                await uow.commit()
            continue
        if msg is not None:
            await receive(
                services.bot_uows, services.bot_deps(), msg, payload, inline_replies=False
            )
    return len(found)


def inbound_from_payload(
    channel: str, external_id: str, payload: str, now: datetime
) -> Inbound | None:
    data = json.loads(payload)
    if channel == "sms":
        return from_twilio(data, now)
    if channel == "telegram":
        return from_telegram(Update.de_json(data, None), now)
    return from_simulator(data, external_id, now)


async def run_timers(services: Services, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sweep(services.bot_uows, services.bot_deps())
            await sweep_pm(services.bot_uows, services.bot_deps())
            await retake_stranded(services)
        except Exception:  # the database may be away for a moment; keep sweeping
            log.exception("timer sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SWEEP_IDLE_SECONDS)


async def run_all(services: Services, stop: asyncio.Event) -> None:
    assert services.sessions is not None
    metrics = services.metrics

    def on_stats(stats: OutboxStats) -> None:
        metrics.outbox_depth.set(stats.depth)
        metrics.outbox_age.set(stats.oldest_age_seconds)

    async with open_senders(services.settings) as senders:
        await asyncio.gather(
            run_worker(services.sessions, senders, services.clock, stop, on_stats=on_stats),
            run_timers(services, stop),
        )


async def worker_context(app: web.Application) -> AsyncIterator[None]:
    """`callout serve` without --no-worker: the worker runs beside the web part."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_all(app[SERVICES], stop))
    yield
    stop.set()
    await task


def run_worker_process(settings: Settings) -> int:
    """`callout worker`: until SIGTERM or Ctrl+C."""

    async def main() -> None:
        engine = engine_for(settings)
        try:
            await check_schema(engine)
            for warning in await server_warnings(engine):
                log.warning(warning)
            services = Services(settings=settings, clock=make_clock(settings), metrics=Metrics())
            services.engine, services.sessions = engine, session_factory(engine)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            log.info("worker started")
            await run_all(services, stop)
        finally:
            await engine.dispose()

    asyncio.run(main())
    return 0
