"""Deadlines are data: each sweep turns the due ones into events, and the events into
messages, in one transaction per kind of deadline. The worker calls `sweep` in its loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
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
    """Run every due deadline once; returns how many events came out. Each kind runs in its
    own transaction and a failure in one is logged and leaves the others running: a bad
    offer must not stop the lone-worker safety checks or the SLA alerts."""
    count = 0
    for kind in (_expire_offers, offer_failover, sweep_lone_workers, sweep_sla):
        try:
            async with uows() as uow:
                count += await kind(uow, deps)
                await uow.commit()
        except Exception:
            log.exception("timer sweep failed", extra={"kind": kind.__name__})
    return count


async def _expire_offers(uow: BotUnitOfWork, deps: Deps) -> int:
    events = await expire_due_offers(uow, deps.clock)
    await publish(uow, deps, events)
    return len(events)


def pm_claim(day: date) -> str:
    """The database counter whose first taker opens `day`'s preventive maintenance (the demo
    takes it at start to hold that back until its day is played)."""
    return f"pm-{day.isoformat()}"


async def sweep_pm(uows: Callable[[], BotUnitOfWork], deps: Deps) -> int:
    """Open the preventive maintenance that has come due, once a day: the first pass of each
    day (a counter in the database, so several workers agree) opens it."""
    async with uows() as uow:
        company = await uow.company.load()
        today = deps.clock.now().astimezone(ZoneInfo(company.settings.timezone)).date()
        if await uow.next_number(pm_claim(today)) > 1:
            return 0
        opened, events = await open_due_pm(uow, deps.clock, deps.geocode)
        await publish(uow, deps, events)
        await uow.commit()
    return len(opened)
