"""Rows to domain objects and back, for the company's entities."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

from dispatch.company import (
    AssignmentSettings,
    AutoAssign,
    CertificationGrant,
    CompanySettings,
    Contract,
    Customer,
    Depot,
    Dispatcher,
    Equipment,
    GeoPoint,
    Leave,
    Part,
    PriorityLevel,
    Requirements,
    Site,
    Skill,
    Technician,
    Territory,
    TimeRange,
)
from storage import tables as t


def range_to_text(value: TimeRange | None) -> str | None:
    return None if value is None else str(value)


def text_to_range(value: str | None) -> TimeRange | None:
    if not value:
        return None
    start, end = value.split("-")
    return TimeRange(time.fromisoformat(start), time.fromisoformat(end))


def requires_to_json(value: Requirements) -> dict[str, Any]:
    return {
        "certifications": list(value.certifications),
        "tools": list(value.tools),
        "min_level": value.min_level,
    }


def json_to_requires(value: dict[str, Any] | None) -> Requirements:
    value = value or {}
    return Requirements(
        certifications=tuple(value.get("certifications", ())),
        tools=tuple(value.get("tools", ())),
        min_level=int(value.get("min_level", 1)),
    )


def settings_to_json(
    settings: CompanySettings, auto: AutoAssign, assignment: AssignmentSettings
) -> dict[str, Any]:
    depot = settings.depot
    return {
        "currency": settings.currency,
        "labor_rate": str(settings.labor_rate),
        "callout_fee": str(settings.callout_fee),
        "after_hours_multiplier": str(settings.after_hours_multiplier),
        "tax_rate": str(settings.tax_rate),
        "business_hours": str(settings.business_hours),
        "depot": None
        if depot is None
        else {
            "address": depot.address,
            "lat": depot.location.lat if depot.location else None,
            "lon": depot.location.lon if depot.location else None,
        },
        "pm_lookahead_days": settings.pm_lookahead_days,
        "lone_worker_minutes": settings.lone_worker_minutes,
        "auto_assign": {
            "priorities": list(auto.priorities),
            "skills": None if auto.skills is None else list(auto.skills),
            "exclude_vip": auto.exclude_vip,
            "offer_timeout_minutes": dict(auto.offer_timeout_minutes),
        },
        "assignment": {
            "weights": dict(assignment.weights),
            "detour_factor": assignment.detour_factor,
            "speed_kmh": assignment.speed_kmh,
            "routing_url": assignment.routing_url,
        },
    }


def row_to_settings(row: t.CompanyRow) -> tuple[CompanySettings, AutoAssign, AssignmentSettings]:
    data = row.settings
    depot_data = data.get("depot")
    depot = None
    if depot_data:
        loc = None
        if depot_data.get("lat") is not None:
            loc = GeoPoint(depot_data["lat"], depot_data["lon"])
        depot = Depot(address=depot_data["address"], location=loc)
    hours = text_to_range(data["business_hours"])
    assert hours is not None
    settings = CompanySettings(
        name=row.name,
        timezone=row.timezone,
        currency=data["currency"],
        labor_rate=Decimal(data["labor_rate"]),
        callout_fee=Decimal(data["callout_fee"]),
        after_hours_multiplier=Decimal(data["after_hours_multiplier"]),
        tax_rate=Decimal(data["tax_rate"]),
        business_hours=hours,
        depot=depot,
        pm_lookahead_days=int(data["pm_lookahead_days"]),
        lone_worker_minutes=int(data["lone_worker_minutes"]),
    )
    auto_data = data["auto_assign"]
    auto = AutoAssign(
        priorities=tuple(auto_data["priorities"]),
        skills=None if auto_data["skills"] is None else tuple(auto_data["skills"]),
        exclude_vip=bool(auto_data["exclude_vip"]),
        offer_timeout_minutes=dict(auto_data["offer_timeout_minutes"]),
    )
    a = data["assignment"]
    assignment = AssignmentSettings(
        weights=dict(a["weights"]),
        detour_factor=float(a["detour_factor"]),
        speed_kmh=float(a["speed_kmh"]),
        routing_url=a["routing_url"],
    )
    return settings, auto, assignment


def skill_values(s: Skill) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "keywords": list(s.keywords),
        "duration_minutes": s.duration_minutes,
        "requires": requires_to_json(s.requires),
    }


def row_to_skill(row: t.SkillRow) -> Skill:
    return Skill(
        id=row.id,
        name=row.name,
        keywords=tuple(row.keywords),
        duration_minutes=row.duration_minutes,
        requires=json_to_requires(row.requires),
    )


def row_to_part(row: t.PartRow) -> Part:
    return Part(sku=row.sku, name=row.name, price=row.price)


def row_to_territory(row: t.TerritoryRow) -> Territory:
    return Territory(id=row.id, name=row.name, zips=tuple(row.zips))


def row_to_priority(row: t.PriorityRow) -> PriorityLevel:
    return PriorityLevel(id=row.id, name=row.name, keywords=tuple(row.keywords))


def row_to_contract(row: t.ContractRow) -> Contract:
    return Contract(
        id=row.id,
        name=row.name,
        response_hours={k: float(v) for k, v in row.response_hours.items()},
    )


def technician_values(tech: Technician) -> dict[str, Any]:
    return {
        "id": tech.id,
        "name": tech.name,
        "phone": tech.phone,
        "telegram": tech.telegram,
        "prefers": tech.prefers,
        "skills": dict(tech.skills),
        "certifications": [
            {"id": c.id, "expires": c.expires.isoformat() if c.expires else None}
            for c in tech.certifications
        ],
        "tools": list(tech.tools),
        "territories": list(tech.territories),
        "home_lat": tech.home.lat if tech.home else None,
        "home_lon": tech.home.lon if tech.home else None,
        "shifts": {day: str(r) for day, r in tech.shifts.items()},
        "leave": [
            {"from": item.start.isoformat(), "to": item.end.isoformat(), "reason": item.reason}
            for item in tech.leave
        ],
        "max_jobs_per_day": tech.max_jobs_per_day,
    }


def row_to_technician(row: t.TechnicianRow, stock: dict[str, int]) -> Technician:
    shifts = {}
    for day, text in row.shifts.items():
        value = text_to_range(text)
        if value is not None:
            shifts[day] = value
    return Technician(
        id=row.id,
        name=row.name,
        phone=row.phone,
        telegram=row.telegram,
        prefers="telegram" if row.prefers == "telegram" else "sms",
        skills={k: int(v) for k, v in row.skills.items()},
        certifications=tuple(
            CertificationGrant(
                id=c["id"], expires=date.fromisoformat(c["expires"]) if c["expires"] else None
            )
            for c in row.certifications
        ),
        tools=tuple(row.tools),
        van_stock=dict(stock),
        territories=tuple(row.territories),
        home=None
        if row.home_lat is None or row.home_lon is None
        else GeoPoint(row.home_lat, row.home_lon),
        shifts=shifts,
        leave=tuple(
            Leave(date.fromisoformat(x["from"]), date.fromisoformat(x["to"]), x.get("reason", ""))
            for x in row.leave
        ),
        max_jobs_per_day=row.max_jobs_per_day,
    )


def row_to_dispatcher(row: t.DispatcherRow) -> Dispatcher:
    return Dispatcher(id=row.id, name=row.name, phone=row.phone, telegram=row.telegram)


def customer_values(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "phone": c.phone,
        "email": c.email,
        "vip": c.vip,
        "contract_id": c.contract,
        "preferred_technicians": list(c.preferred_technicians),
        "excluded_technicians": list(c.excluded_technicians),
    }


def site_values(site: Site, customer_id: str) -> dict[str, Any]:
    return {
        "id": site.id,
        "customer_id": customer_id,
        "name": site.name,
        "address": site.address,
        "zip": site.zip,
        "lat": site.location.lat if site.location else None,
        "lon": site.location.lon if site.location else None,
        "geocoded_from_zip": site.geocoded_from_zip,
        "access_window": range_to_text(site.access_window),
        "access_notes": site.access_notes,
        "safety_notes": site.safety_notes,
    }


def equipment_values(e: Equipment, site_id: str) -> dict[str, Any]:
    return {
        "id": e.id,
        "site_id": site_id,
        "type": e.type,
        "skill_id": e.skill,
        "make": e.make,
        "model": e.model,
        "serial": e.serial,
        "installed": e.installed,
        "pm_interval_days": e.pm_interval_days,
        "last_pm": e.last_pm,
        "requires": requires_to_json(e.requires),
    }


def row_to_equipment(row: t.EquipmentRow) -> Equipment:
    return Equipment(
        id=row.id,
        type=row.type,
        skill=row.skill_id,
        make=row.make,
        model=row.model,
        serial=row.serial,
        installed=row.installed,
        pm_interval_days=row.pm_interval_days,
        last_pm=row.last_pm,
        requires=json_to_requires(row.requires),
    )


def row_to_site(row: t.SiteRow, equipment: list[t.EquipmentRow]) -> Site:
    return Site(
        id=row.id,
        address=row.address,
        name=row.name,
        zip=row.zip,
        location=None if row.lat is None or row.lon is None else GeoPoint(row.lat, row.lon),
        geocoded_from_zip=row.geocoded_from_zip,
        access_window=text_to_range(row.access_window),
        access_notes=row.access_notes,
        safety_notes=row.safety_notes,
        equipment=tuple(row_to_equipment(e) for e in equipment),
    )


def row_to_customer(row: t.CustomerRow, sites: tuple[Site, ...]) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        phone=row.phone,
        email=row.email,
        vip=row.vip,
        contract=row.contract_id,
        preferred_technicians=tuple(row.preferred_technicians),
        excluded_technicians=tuple(row.excluded_technicians),
        sites=sites,
    )
