"""Preventive maintenance due (product spec §9): equipment whose next PM falls within the
company's look-ahead gets a P4 work order, unless one is already open for it."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import date, timedelta

from dispatch.company import Company, Equipment

PM_PRIORITY = "P4"


@dataclass(frozen=True, slots=True)
class PmDue:
    customer_id: str
    site_id: str
    equipment_id: str
    skill: str | None  # the equipment's skill; None: the dispatcher picks
    due: date
    overdue_days: int  # 0 when not yet due; raises the `pm_overdue` objective

    @property
    def priority(self) -> str:
        return PM_PRIORITY


def _due(equipment: Equipment, today: date) -> date | None:
    if equipment.pm_interval_days is None:
        return None
    # Never serviced and no install date: nothing to count from, so it is due now.
    return equipment.next_pm() or today


def due_preventive_maintenance(
    company: Company, today: date, open_equipment_ids: Set[str]
) -> list[PmDue]:
    """PM to open today, most overdue first; `open_equipment_ids` are the equipment that
    already has an open PM work order."""
    horizon = today + timedelta(days=company.settings.pm_lookahead_days)
    found: list[PmDue] = []
    for customer in company.customers:
        for site in customer.sites:
            for equipment in site.equipment:
                due = _due(equipment, today)
                if due is None or due > horizon or equipment.id in open_equipment_ids:
                    continue
                overdue = max(0, (today - due).days)
                found.append(
                    PmDue(customer.id, site.id, equipment.id, equipment.skill, due, overdue)
                )
    found.sort(key=lambda p: (p.due, p.equipment_id))
    return found
