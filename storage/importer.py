"""`callout import`: upsert a validated company into the database, by id, in one transaction."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.company import Company
from storage import convert as cv
from storage import tables as t
from storage.company_repo import stamp_company


@dataclass
class ImportReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    def changed(self) -> bool:
        return bool(+self.created or +self.updated)

    def summary(self) -> str:
        names = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        parts = [
            f"{n}: {self.created[n]} new, {self.updated[n]} updated, {self.unchanged[n]} unchanged"
            for n in names
        ]
        return "\n".join(parts)


async def import_company(session: AsyncSession, company: Company, now: datetime) -> ImportReport:
    report = ImportReport()
    s = company.settings

    async def upsert(name: str, table: type[Any], key: str, rows: list[dict[str, Any]]) -> None:
        existing = {getattr(r, key): r for r in await session.scalars(select(table))}
        for values in rows:
            row = existing.get(values[key])
            if row is None:
                session.add(table(**values))
                report.created[name] += 1
                continue
            changed = False
            for attr, value in values.items():
                if getattr(row, attr) != value:
                    setattr(row, attr, value)
                    changed = True
            (report.updated if changed else report.unchanged)[name] += 1
        await session.flush()

    settings = cv.settings_to_json(s, company.auto_assign, company.assignment)
    await upsert(
        "company",
        t.CompanyRow,
        "id",
        [{"id": 1, "name": s.name, "timezone": s.timezone, "settings": settings}],
    )
    await upsert("skills", t.SkillRow, "id", [cv.skill_values(x) for x in company.skills])
    await upsert(
        "certifications",
        t.CertificationRow,
        "id",
        [{"id": x.id, "name": x.name} for x in company.certifications],
    )
    await upsert("tools", t.ToolRow, "id", [{"id": x.id, "name": x.name} for x in company.tools])
    await upsert(
        "parts",
        t.PartRow,
        "sku",
        [{"sku": x.sku, "name": x.name, "price": x.price} for x in company.parts],
    )
    await upsert(
        "territories",
        t.TerritoryRow,
        "id",
        [{"id": x.id, "name": x.name, "zips": list(x.zips)} for x in company.territories],
    )
    await upsert(
        "priorities",
        t.PriorityRow,
        "id",
        [{"id": x.id, "name": x.name, "keywords": list(x.keywords)} for x in company.priorities],
    )
    await upsert(
        "contracts",
        t.ContractRow,
        "id",
        [
            {"id": x.id, "name": x.name, "response_hours": dict(x.response_hours)}
            for x in company.contracts
        ],
    )
    await upsert(
        "technicians",
        t.TechnicianRow,
        "id",
        [cv.technician_values(x) for x in company.technicians],
    )
    await _van_stock(session, company, report)
    await upsert(
        "dispatchers",
        t.DispatcherRow,
        "id",
        [
            {"id": x.id, "name": x.name, "phone": x.phone, "telegram": x.telegram}
            for x in company.dispatchers
        ],
    )
    await upsert(
        "customers", t.CustomerRow, "id", [cv.customer_values(x) for x in company.customers]
    )
    await upsert(
        "sites",
        t.SiteRow,
        "id",
        [cv.site_values(site, c.id) for c in company.customers for site in c.sites],
    )
    await upsert(
        "equipment",
        t.EquipmentRow,
        "id",
        [
            cv.equipment_values(e, site.id)
            for c in company.customers
            for site in c.sites
            for e in site.equipment
        ],
    )
    await _identities(session, company, now, report)
    if report.changed():
        await stamp_company(session)
    return report


async def _van_stock(session: AsyncSession, company: Company, report: ImportReport) -> None:
    existing = {(r.technician_id, r.sku): r for r in await session.scalars(select(t.VanStockRow))}
    for tech in company.technicians:
        for sku, qty in tech.van_stock.items():
            row = existing.get((tech.id, sku))
            if row is None:
                session.add(t.VanStockRow(technician_id=tech.id, sku=sku, qty=qty))
                report.created["van_stock"] += 1
            elif row.qty != qty:
                row.qty = qty
                report.updated["van_stock"] += 1
            else:
                report.unchanged["van_stock"] += 1
    await session.flush()


async def _identities(
    session: AsyncSession, company: Company, now: datetime, report: ImportReport
) -> None:
    """Phone identities for staff and customers; a dispatcher outranks a technician."""
    wanted: dict[str, tuple[str, str]] = {}
    for c in company.customers:
        if c.phone:
            wanted.setdefault(c.phone, ("customer", c.id))
    for tech in company.technicians:
        wanted[tech.phone] = ("technician", tech.id)
    for d in company.dispatchers:
        wanted[d.phone] = ("dispatcher", d.id)
    existing = {
        r.address: r
        for r in await session.scalars(select(t.IdentityRow).where(t.IdentityRow.channel == "sms"))
    }
    for phone, (role, party) in wanted.items():
        row = existing.get(phone)
        if row is None:
            session.add(
                t.IdentityRow(
                    channel="sms",
                    address=phone,
                    role=role,
                    party_id=party,
                    opted_out=False,
                    created_at=now,
                )
            )
            report.created["identities"] += 1
        elif (row.role, row.party_id) != (role, party):
            row.role, row.party_id = role, party
            report.updated["identities"] += 1
        else:
            report.unchanged["identities"] += 1
    await session.flush()
