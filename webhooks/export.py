"""`callout export invoices --from --to`: the invoices of a period as CSV (§7)."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.billing_repo import BillingRepository
from storage.company_repo import CompanyNotLoaded
from storage.db import make_engine, session_factory
from storage.migrate import check_schema
from storage.tables import CompanyRow
from webhooks.billing_json import amount

COLUMNS = (
    "number",
    "work_order",
    "customer_id",
    "issued_at",
    "subtotal",
    "tax",
    "total",
    "currency",
)


async def export_invoices_csv(
    sessions: async_sessionmaker[AsyncSession],
    start: date,
    end: date,
    out: TextIO,
    zone: ZoneInfo,
) -> int:
    """Invoices issued from `start` to `end`, both whole local days; returns the row count."""
    if end < start:
        raise ValueError("--to must not be before --from")
    since = datetime.combine(start, time(0), zone)
    until = datetime.combine(end + timedelta(days=1), time(0), zone)
    async with sessions() as session:
        invoices = await BillingRepository(session).invoices_between(since, until)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for inv in invoices:
        writer.writerow(
            (
                inv.number,
                inv.work_order,
                _cell(inv.customer_id),
                inv.issued_at.astimezone(zone).isoformat(),
                amount(inv.subtotal),
                amount(inv.tax),
                amount(inv.total),
                inv.currency,
            )
        )
    return len(invoices)


async def export_invoices(database_url: str, start: date, end: date, out: TextIO) -> int:
    """The CLI's whole job: open the database, export in the company's time zone, close."""
    engine = make_engine(database_url)
    try:
        await check_schema(engine)
        sessions = session_factory(engine)
        async with sessions() as session:
            company = await session.get(CompanyRow, 1)
        if company is None:
            raise CompanyNotLoaded("no company in the database: run `callout import FILE`")
        return await export_invoices_csv(sessions, start, end, out, ZoneInfo(company.timezone))
    finally:
        await engine.dispose()


def _cell(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: keep ids as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
