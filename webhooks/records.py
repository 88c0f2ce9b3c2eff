"""The work order as JSON (§3): one object with the whole record, times in the company's zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.company import Company, Customer, Equipment, Site, Technician
from dispatch.workorder import WorkOrder


@dataclass
class Directory:
    """Company entities by id, for rendering records."""

    company: Company
    zone: ZoneInfo = field(init=False)
    customers: dict[str, Customer] = field(init=False)
    sites: dict[str, Site] = field(init=False)
    equipment: dict[str, Equipment] = field(init=False)
    technicians: dict[str, Technician] = field(init=False)

    def __post_init__(self) -> None:
        c = self.company
        self.zone = ZoneInfo(c.settings.timezone)
        self.customers = {x.id: x for x in c.customers}
        self.sites = {s.id: s for x in c.customers for s in x.sites}
        self.equipment = c.equipment_by_id()
        self.technicians = {t.id: t for t in c.technicians}

    def iso(self, value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(self.zone).isoformat()


def work_order_json(wo: WorkOrder, d: Directory) -> dict[str, Any]:
    customer = d.customers.get(wo.customer_id)
    site = d.sites.get(wo.site_id) if wo.site_id else None
    equipment = d.equipment.get(wo.equipment_id) if wo.equipment_id else None
    tech = d.technicians.get(wo.technician_id) if wo.technician_id else None
    return {
        "number": wo.number,
        "status": wo.status.value,
        "priority": wo.priority,
        "skill": wo.skill,
        "description": wo.description,
        "flag": None if wo.flag is None else {"reason": wo.flag.reason, "at": d.iso(wo.flag.at)},
        "created_at": d.iso(wo.created_at),
        "sla_due_at": d.iso(wo.sla_due_at),
        "wants": None
        if wo.wants is None
        else {"start": d.iso(wo.wants.start), "end": d.iso(wo.wants.end)},
        "source_channel": wo.source_channel,
        "customer": None
        if customer is None
        else {"id": customer.id, "name": customer.name, "phone": customer.phone},
        "site": None
        if site is None
        else {
            "id": site.id,
            "address": site.address,
            "lat": site.location.lat if site.location else None,
            "lon": site.location.lon if site.location else None,
        },
        "equipment": None
        if equipment is None
        else {
            "id": equipment.id,
            "type": equipment.type,
            "make": equipment.make,
            "model": equipment.model,
        },
        "technician": None if tech is None else {"id": tech.id, "name": tech.name},
        "timeline": [
            {
                "at": d.iso(e.at),
                "kind": e.kind,
                "actor": e.actor,
                "channel": e.channel,
                "text": e.text,
            }
            for e in wo.timeline
        ],
        "photos": [],
        "parts": [],
        "time_entries": [],
        "signoff": None,
        "invoice": None,
    }


def technician_json(t: Technician) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "phone": t.phone,
        "telegram": t.telegram,
        "prefers": t.prefers,
        "skills": dict(t.skills),
        "certifications": [
            {"id": c.id, "expires": c.expires.isoformat() if c.expires else None}
            for c in t.certifications
        ],
        "tools": list(t.tools),
        "territories": list(t.territories),
        "van_stock": dict(t.van_stock),
        "shifts": {day: str(r) for day, r in t.shifts.items()},
        "leave": [
            {"from": x.start.isoformat(), "to": x.end.isoformat(), "reason": x.reason}
            for x in t.leave
        ],
        "max_jobs_per_day": t.max_jobs_per_day,
    }


def customer_json(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "phone": c.phone,
        "email": c.email,
        "vip": c.vip,
        "contract": c.contract,
        "preferred_technicians": list(c.preferred_technicians),
        "excluded_technicians": list(c.excluded_technicians),
        "sites": [
            {
                "id": s.id,
                "name": s.name,
                "address": s.address,
                "zip": s.zip,
                "lat": s.location.lat if s.location else None,
                "lon": s.location.lon if s.location else None,
                "access_window": None if s.access_window is None else str(s.access_window),
                "access_notes": s.access_notes,
                "safety_notes": s.safety_notes,
                "equipment": [
                    {
                        "id": e.id,
                        "type": e.type,
                        "skill": e.skill,
                        "make": e.make,
                        "model": e.model,
                        "serial": e.serial,
                        "installed": e.installed.isoformat() if e.installed else None,
                        "pm_interval_days": e.pm_interval_days,
                        "last_pm": e.last_pm.isoformat() if e.last_pm else None,
                    }
                    for e in s.equipment
                ],
            }
            for s in c.sites
        ],
    }
