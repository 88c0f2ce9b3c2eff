"""Deadlines are data: each sweep turns the due ones into events, and the events into
messages, in one transaction per kind of deadline. The worker calls `sweep` in its loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.context import Deps
from bot.lone_worker import sweep_lone_workers
from bot.notify import publish
from bot.offers import offer_failover
from bot.ports import BotUnitOfWork
from bot.sla_sweep import sweep_sla
from dispatch.assignment import expire_due_offers
from dispatch.pm_orders import open_due_pm

log = logging.getLogger("callout.timers")


async def sweep(uows: Callable[[], BotUnitOfWork], deps: Deps) -> int:
    """Run every due deadline once; returns how many events came out."""
    count = 0
    async with uows() as uow:
        events = await expire_due_offers(uow, deps.clock)
        await publish(uow, deps, events)
        await uow.commit()
        count += len(events)
    async with uows() as uow:
        count += await offer_failover(uow, deps)
        await uow.commit()
    async with uows() as uow:
        count += await sweep_lone_workers(uow, deps)
        await uow.commit()
    async with uows() as uow:
        count += await sweep_sla(uow, deps)
        await uow.commit()
    return count


async def sweep_pm(uows: Callable[[], BotUnitOfWork], deps: Deps) -> int:
    """Open the preventive maintenance that has come due, once a day: the first pass of each
    day (a counter in the database, so several workers agree) opens it."""
    async with uows() as uow:
        company = await uow.company.load()
        today = deps.clock.now().astimezone(ZoneInfo(company.settings.timezone)).date()
        if await uow.next_number(f"pm-{today.isoformat()}") > 1:
            return 0
        opened, events = await open_due_pm(uow, deps.clock, deps.geocode)
        await publish(uow, deps, events)
        await uow.commit()
    return len(opened)
