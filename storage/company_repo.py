"""Reading the company from the database as domain objects, and adding walk-in customers.

Reading a company is about ten queries and thousands of rows turned into objects, and every
message needs it; so each process keeps the last one it read per database, keyed by a version
stamp (a random number in `sequences`) that every change to company data replaces in the same
transaction: the import, a walk-in customer or site, a renamed customer, parts taken from a
van. A unit of work reads the stamp (one small query) and reuses the cached company when it is
unchanged. Edit company tables only through these paths (or `callout import`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
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
from storage.core import database_key
from storage.sequences import read, stamp

VERSION = "company_version"

RowT = TypeVar("RowT", bound=t.Base)


class CompanyNotLoaded(Exception):
    """The database has no company yet: `callout import FILE` first."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """One company read from the database, with the lookups requests need."""

    company: Company
    customers: dict[str, Customer]
    by_phone: dict[str, Customer]
    by_email: dict[str, Customer]
    technicians: dict[str, Technician]
    unavailable: frozenset[str]  # technicians off sick or off duty (set_available)

    @classmethod
    def of(cls, company: Company, unavailable: frozenset[str] = frozenset()) -> Loaded:
        by_phone: dict[str, Customer] = {}
        by_email: dict[str, Customer] = {}
        for c in company.customers:  # ordered by id: the first match wins, as in SQL
            if c.phone:
                by_phone.setdefault(c.phone, c)
            if c.email:
                by_email.setdefault(c.email.lower(), c)
        return cls(
            company=company,
            customers={c.id: c for c in company.customers},
            by_phone=by_phone,
            by_email=by_email,
            technicians={x.id: x for x in company.technicians},
            unavailable=unavailable,
        )


_CACHE: dict[str, tuple[int, Loaded]] = {}  # database URL -> (version stamp, company)


# The stamp read as a column of another statement: the first query of a message's
# transaction (the sender's rate count) brings it along, saving the company a query.
VERSION_COLUMN = select(t.SequenceRow.value).where(t.SequenceRow.name == VERSION).scalar_subquery()
_VERSION_READ = "callout.company_version"  # Session.info: (transaction, stamp) read with it


def note_version(session: AsyncSession, value: int | None) -> None:
    """The company stamp, read by another statement of the current transaction."""
    session.sync_session.info[_VERSION_READ] = (session.sync_session.get_transaction(), value)


def _noted_version(session: AsyncSession) -> tuple[bool, int | None]:
    noted = session.sync_session.info.pop(_VERSION_READ, None)
    if noted is None or noted[0] is not session.sync_session.get_transaction():
        return False, None  # none, or read in an earlier transaction: stale
    return True, noted[1]


async def stamp_company(session: AsyncSession) -> None:
    """Company data changed in this transaction: every process reads it afresh after commit."""
    await stamp(session, VERSION)


class CompanyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._loaded: Loaded | None = None  # once per unit of work
        self._unavailable: frozenset[str] = frozenset()  # read with the technicians

    async def exists(self) -> bool:
        return await self.session.get(t.CompanyRow, 1) is not None

    async def load(self) -> Company:
        return (await self._current()).company

    async def _current(self) -> Loaded:
        if self._loaded is None:
            # The stamp first, then the rows: a change committed in between is in the rows
            # and has a newer stamp, so the cache can be ahead of its key, never behind.
            noted, version = _noted_version(self.session)
            if not noted:
                version = await read(self.session, VERSION)
            key = database_key(self.session)
            cached = _CACHE.get(key)
            if version is not None and cached is not None and cached[0] == version:
                self._loaded = cached[1]
            else:
                company = await self._load()
                self._loaded = Loaded.of(company, self._unavailable)
                if version is not None:
                    _CACHE[key] = (version, self._loaded)
        return self._loaded

    async def _changed(self) -> None:
        self._loaded = None
        await stamp_company(self.session)

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
            technicians=tuple(await self._technicians()),
            dispatchers=tuple(await self._dispatchers()),
            customers=tuple(await self._customers()),
        )

    async def _all(self, table: type[RowT], order: InstrumentedAttribute[str]) -> list[RowT]:
        return list((await self.session.scalars(select(table).order_by(order))).all())

    async def _technicians(self) -> list[Technician]:
        stock: dict[str, dict[str, int]] = defaultdict(dict)
        for item in await self.session.scalars(select(t.VanStockRow)):
            stock[item.technician_id][item.sku] = item.qty
        rows = list(
            await self.session.scalars(select(t.TechnicianRow).order_by(t.TechnicianRow.id))
        )
        self._unavailable = frozenset(r.id for r in rows if r.available is False)
        return [cv.row_to_technician(r, stock[r.id]) for r in rows]

    async def unavailable(self) -> frozenset[str]:
        """Technicians who cannot take work now (sick, off): kept with the cached company,
        so setting it stamps the company (see AssignmentRepository.set_available)."""
        return (await self._current()).unavailable

    async def technician(self, tech_id: str) -> Technician | None:
        return (await self._current()).technicians.get(tech_id)

    async def _dispatchers(self) -> list[Dispatcher]:
        rows = await self.session.scalars(select(t.DispatcherRow).order_by(t.DispatcherRow.id))
        return [cv.row_to_dispatcher(r) for r in rows]

    async def _customers(self) -> list[Customer]:
        sites = await self._sites()
        rows = await self.session.scalars(select(t.CustomerRow).order_by(t.CustomerRow.id))
        return [cv.row_to_customer(r, tuple(sites[r.id])) for r in rows]

    async def customer(self, customer_id: str) -> Customer | None:
        return (await self._current()).customers.get(customer_id)

    async def customer_by(
        self, *, phone: str | None = None, email: str | None = None
    ) -> Customer | None:
        loaded = await self._current()
        if phone is not None:
            return loaded.by_phone.get(phone)
        if email is not None:
            return loaded.by_email.get(email.lower())
        return None

    async def _sites(self) -> dict[str, list[Site]]:
        equipment: dict[str, list[t.EquipmentRow]] = defaultdict(list)
        site_query = select(t.SiteRow).order_by(t.SiteRow.id)
        equipment_query = select(t.EquipmentRow).order_by(t.EquipmentRow.id)
        for e in await self.session.scalars(equipment_query):
            equipment[e.site_id].append(e)
        result: dict[str, list[Site]] = defaultdict(list)
        for row in await self.session.scalars(site_query):
            result[row.customer_id].append(cv.row_to_site(row, equipment[row.id]))
        return result

    async def add_customer(self, customer: Customer) -> None:
        await self._changed()
        self.session.add(t.CustomerRow(**cv.customer_values(customer)))
        await self.session.flush()
        for site in customer.sites:
            await self.add_site(customer.id, site)

    async def rename_customer(self, customer_id: str, name: str) -> None:
        await self._changed()
        row = await self.session.get(t.CustomerRow, customer_id)
        if row is not None:
            row.name = name
            await self.session.flush()

    async def add_site(self, customer_id: str, site: Site) -> None:
        await self._changed()
        self.session.add(t.SiteRow(**cv.site_values(site, customer_id)))
        await self.session.flush()
