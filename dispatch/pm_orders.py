"""Preventive maintenance (§9): a P4 work order for each piece of equipment whose next PM
falls within the company's look-ahead, unless one is already open. Then the engine plans it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.assignment import assign
from dispatch.clock import Clock
from dispatch.engine.pm import due_preventive_maintenance
from dispatch.events import Event
from dispatch.ports import Geocoder, UnitOfWork
from dispatch.requests import OpenWorkOrder, open_work_order
from dispatch.workorder import Wants

PM_CHANNEL = "pm"


async def open_due_pm(
    uow: UnitOfWork, clock: Clock, geocode: Geocoder
) -> tuple[list[int], list[Event]]:
    company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    today = clock.now().astimezone(zone).date()
    equipment = company.equipment_by_id()
    due = due_preventive_maintenance(company, today, await uow.work_orders.open_pm_equipment())
    opened: list[int] = []
    events: list[Event] = []
    for item in due:
        e = equipment[item.equipment_id]
        # Due in the future: planned for that day; overdue: from tomorrow on, at a good hour.
        day = max(item.due, today + timedelta(days=1))
        start = datetime.combine(day, company.settings.business_hours.start, zone)
        end = datetime.combine(day, company.settings.business_hours.end or time(17), zone)
        overdue = f", {item.overdue_days} days overdue" if item.overdue_days else ""
        wo = await open_work_order(
            uow,
            clock,
            geocode,
            OpenWorkOrder(
                text=f"Preventive maintenance: {e.type} {e.make or ''} {e.model or ''}".rstrip()
                + f" (due {item.due.isoformat()}{overdue})",
                channel=PM_CHANNEL,
                actor="pm",
                customer_id=item.customer_id,
                site_id=item.site_id,
                skill=item.skill,
                priority=item.priority,
                equipment_id=item.equipment_id,
                wants=Wants(start, end),
            ),
        )
        opened.append(wo.seq)
        events += await assign(uow, clock, wo.seq, actor="pm")
    return opened, events
