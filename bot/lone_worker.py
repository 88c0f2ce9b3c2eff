"""Lone-worker checks (§6): while on site, "all OK?" every interval; no answer within ten
minutes alerts the dispatchers with the last known location. Deadlines are data on the
work order (`lone_check_due_at`); the timeline says whether a question is pending."""

from __future__ import annotations

from datetime import timedelta

from bot import texts
from bot.context import Deps
from bot.messages import Choice, Outgoing
from bot.notify import to_dispatchers, to_staff
from bot.ports import BotUnitOfWork
from dispatch.workorder import WorkOrder

ANSWER_MINUTES = 10
ASKED, ANSWERED, TIMED_OUT = "lone_asked", "lone_ok", "lone_timeout"


def pending(wo: WorkOrder) -> bool:
    last = next((e.kind for e in reversed(wo.timeline) if e.kind in (ASKED, ANSWERED)), None)
    return last == ASKED


def last_location(wo: WorkOrder) -> str | None:
    return next((e.text for e in reversed(wo.timeline) if e.kind == "location"), None)


async def sweep_lone_workers(uow: BotUnitOfWork, deps: Deps) -> int:
    now = deps.clock.now()
    company = await uow.company.load()
    count = 0
    for seq in await uow.assignments.lone_checks_due(now, 50):
        wo = await uow.work_orders.get(seq, lock=True)
        if wo is None or wo.technician_id is None:
            continue
        tech = wo.technician_id
        if pending(wo):
            where = last_location(wo)
            site = next((s for c in company.customers for s in c.sites if s.id == wo.site_id), None)
            place = (
                f"last shared location {where}"
                if where
                else (f"the site, {site.address}" if site else "unknown")
            )
            name = next((t.name for t in company.technicians if t.id == tech), tech)
            wo.record(now, TIMED_OUT, f"no answer from {tech} within {ANSWER_MINUTES} min")
            await uow.assignments.set_lone_check(seq, None)
            await to_dispatchers(
                uow,
                deps,
                company,
                Outgoing(text=texts.lone_timeout(wo.number, name, place), kind="alert"),
                wo,
            )
        else:
            wo.record(now, ASKED, "all OK? asked", actor="system")
            await uow.assignments.set_lone_check(seq, now + timedelta(minutes=ANSWER_MINUTES))
            await to_staff(
                uow,
                deps,
                "technician",
                tech,
                Outgoing(
                    text=texts.lone_question(wo.number),
                    choices=(Choice("All OK", f"lone:ok:{seq}", "OK"),),
                    kind="lone_check",
                ),
                wo,
            )
        await uow.work_orders.save(wo)
        count += 1
    return count


async def answered(uow: BotUnitOfWork, deps: Deps, wo: WorkOrder, tech: str) -> Outgoing:
    now = deps.clock.now()
    company = await uow.company.load()
    wo.record(now, ANSWERED, "all OK", actor=f"technician:{tech}")
    await uow.assignments.set_lone_check(
        wo.seq, now + timedelta(minutes=company.settings.lone_worker_minutes)
    )
    await uow.work_orders.save(wo)
    return Outgoing(text="Thanks, noted. Stay safe.")
