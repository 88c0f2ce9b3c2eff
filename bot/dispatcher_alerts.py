"""Alerts pushed to every dispatcher: SLA at risk and breached, HELP from a technician,
lone-worker timeouts. Flagged jobs and declined offers go out through `notify.publish`."""

from __future__ import annotations

from datetime import datetime

from bot.context import Deps
from bot.messages import Outgoing
from bot.notify import company_time, to_dispatchers
from bot.ports import BotUnitOfWork
from dispatch.company import Company, GeoPoint
from dispatch.sla_clock import BREACHED
from dispatch.workorder import WorkOrder

Location = GeoPoint | tuple[float, float]


def _tech(company: Company, tech_id: str) -> str:
    tech = next((t for t in company.technicians if t.id == tech_id), None)
    return f"{tech_id} {tech.name.split()[0]}" if tech else tech_id


def sla_text(company: Company, wo: WorkOrder, stage: int, now: datetime) -> str:
    head = (
        f"SLA BREACHED {wo.number}"
        if stage >= BREACHED
        else f"SLA at risk {wo.number}: {stage}% used"
    )
    holder = f", {_tech(company, wo.technician_id)}" if wo.technician_id else ""
    due = company_time(company, wo.sla_due_at, now) or "-"
    return f"{head}, due {due}. {wo.priority} {wo.status.value}{holder}. /wo {wo.seq}"


async def alert_sla(
    uow: BotUnitOfWork, deps: Deps, company: Company, wo: WorkOrder, stage: int
) -> None:
    out = Outgoing(text=sla_text(company, wo, stage, deps.clock.now()), kind="alert")
    await to_dispatchers(uow, deps, company, out, wo)
