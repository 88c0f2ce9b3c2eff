"""Reading the company from the database as domain objects, and adding walk-in customers."""

from __future__ import annotations

from collections import defaultdict
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dispatch.company import (
    Certification,
    Company,
    Customer,
    Dispatcher,
    Site,
    Technician,
    Tool,
)
from storage import convert as cv
from storage import tables as t

RowT = TypeVar("RowT", bound=t.Base)


class CompanyNotLoaded(Exception):
    """The database has no company yet: `callout import FILE` first."""


class CompanyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._company: Company | None = None  # loaded once per unit of work

    async def exists(self) -> bool:
        return await self.session.get(t.CompanyRow, 1) is not None

    async def load(self) -> Company:
        if self._company is None:
            self._company = await self._load()
        return self._company

    async def _load(self) -> Company:
        s = self.session
        row = await s.get(t.CompanyRow, 1)
        if row is None:
            raise CompanyNotLoaded("no company in the database: run `callout import FILE`")
        settings, auto, assignment = cv.row_to_settings(row)
        return Company(
            settings=settings,
            skills=tuple(cv.row_to_skill(r) for r in await self._all(t.SkillRow, t.SkillRow.id)),
            certifications=tuple(
                Certification(r.id, r.name)
                for r in await self._all(t.CertificationRow, t.CertificationRow.id)
            ),
            tools=tuple(Tool(r.id, r.name) for r in await self._all(t.ToolRow, t.ToolRow.id)),
            parts=tuple(cv.row_to_part(r) for r in await self._all(t.PartRow, t.PartRow.sku)),
            territories=tuple(
                cv.row_to_territory(r) for r in await self._all(t.TerritoryRow, t.TerritoryRow.id)
            ),
            priorities=tuple(
                cv.row_to_priority(r) for r in await self._all(t.PriorityRow, t.PriorityRow.id)
            ),
            contracts=tuple(
                cv.row_to_contract(r) for r in await self._all(t.ContractRow, t.ContractRow.id)
            ),
            auto_assign=auto,
            assignment=assignment,
            technicians=tuple(await self.technicians()),
            dispatchers=tuple(await self.dispatchers()),
            customers=tuple(await self.customers()),
        )

    async def _all(self, table: type[RowT], order: InstrumentedAttribute[str]) -> list[RowT]:
        return list((await self.session.scalars(select(table).order_by(order))).all())

    async def technicians(self) -> list[Technician]:
        stock: dict[str, dict[str, int]] = defaultdict(dict)
        for item in await self.session.scalars(select(t.VanStockRow)):
            stock[item.technician_id][item.sku] = item.qty
        rows = await self.session.scalars(select(t.TechnicianRow).order_by(t.TechnicianRow.id))
        return [cv.row_to_technician(r, stock[r.id]) for r in rows]

    async def technician(self, tech_id: str) -> Technician | None:
        row = await self.session.get(t.TechnicianRow, tech_id)
        if row is None:
            return None
        stock = await self.session.scalars(
            select(t.VanStockRow).where(t.VanStockRow.technician_id == tech_id)
        )
        return cv.row_to_technician(row, {s.sku: s.qty for s in stock})

    async def dispatchers(self) -> list[Dispatcher]:
        rows = await self.session.scalars(select(t.DispatcherRow).order_by(t.DispatcherRow.id))
        return [cv.row_to_dispatcher(r) for r in rows]

    async def customers(self) -> list[Customer]:
        sites = await self._sites(None)
        rows = await self.session.scalars(select(t.CustomerRow).order_by(t.CustomerRow.id))
        return [cv.row_to_customer(r, tuple(sites[r.id])) for r in rows]

    async def customer(self, customer_id: str) -> Customer | None:
        row = await self.session.get(t.CustomerRow, customer_id)
        if row is None:
            return None
        sites = await self._sites(customer_id)
        return cv.row_to_customer(row, tuple(sites[customer_id]))

    async def customer_by(
        self, *, phone: str | None = None, email: str | None = None
    ) -> Customer | None:
        query = select(t.CustomerRow.id)
        if phone is not None:
            query = query.where(t.CustomerRow.phone == phone)
        elif email is not None:
            query = query.where(func.lower(t.CustomerRow.email) == email.lower())
        else:
            return None
        found = (await self.session.scalars(query.order_by(t.CustomerRow.id).limit(1))).first()
        return None if found is None else await self.customer(found)

    async def _sites(self, customer_id: str | None) -> dict[str, list[Site]]:
        equipment: dict[str, list[t.EquipmentRow]] = defaultdict(list)
        site_query = select(t.SiteRow).order_by(t.SiteRow.id)
        equipment_query = select(t.EquipmentRow).order_by(t.EquipmentRow.id)
        if customer_id is not None:
            site_query = site_query.where(t.SiteRow.customer_id == customer_id)
            equipment_query = equipment_query.join(t.SiteRow).where(
                t.SiteRow.customer_id == customer_id
            )
        for e in await self.session.scalars(equipment_query):
            equipment[e.site_id].append(e)
        result: dict[str, list[Site]] = defaultdict(list)
        for row in await self.session.scalars(site_query):
            result[row.customer_id].append(cv.row_to_site(row, equipment[row.id]))
        return result

    async def add_customer(self, customer: Customer) -> None:
        self._company = None
        self.session.add(t.CustomerRow(**cv.customer_values(customer)))
        await self.session.flush()
        for site in customer.sites:
            await self.add_site(customer.id, site)

    async def rename_customer(self, customer_id: str, name: str) -> None:
        self._company = None
        row = await self.session.get(t.CustomerRow, customer_id)
        if row is not None:
            row.name = name
            await self.session.flush()

    async def add_site(self, customer_id: str, site: Site) -> None:
        self._company = None
        self.session.add(t.SiteRow(**cv.site_values(site, customer_id)))
        await self.session.flush()
