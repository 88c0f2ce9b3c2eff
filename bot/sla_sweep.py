"""The SLA sweep: work orders whose clock reached a new stage (50%, 80%, breached) get one
timeline event and one alert to every dispatcher. The stage is stored with the alert in the
same transaction, so a restarted or second worker never repeats it."""

from __future__ import annotations

import logging

from bot.context import Deps
from bot.dispatcher_alerts import alert_sla
from bot.ports import BotUnitOfWork
from dispatch.sla_clock import advanced_stage, label, stage_at

log = logging.getLogger("callout.sla")


async def sweep_sla(uow: BotUnitOfWork, deps: Deps, *, limit: int = 100) -> int:
    """One pass in the caller's transaction (the caller commits); returns how many work
    orders reached a new stage."""
    sla = uow.sla
    now = deps.clock.now()
    moved = [
        w.seq
        for w in await sla.running()
        if stage_at(w.created_at, w.sla_due_at, now) > w.sla_stage
    ]
    claimed = await sla.claim(moved[:limit])
    if not claimed:
        return 0
    company = await uow.company.load()
    alerted = 0
    for seq, stored in sorted(claimed.items()):
        wo = await uow.work_orders.get(seq, lock=True)
        if wo is None:
            continue
        stage = advanced_stage(wo.created_at, wo.sla_due_at, now, stored, wo.status, wo.timeline)
        if stage is None:
            continue
        wo.record(now, "sla", f"SLA {label(stage)}", data={"stage": stage})
        await uow.work_orders.save(wo)
        await sla.set_stage(seq, stage)
        await alert_sla(uow, deps, company, wo, stage)
        alerted += 1
    if alerted:
        log.info("sla stages advanced", extra={"count": alerted})
    return alerted
