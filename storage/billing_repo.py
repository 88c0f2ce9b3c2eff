"""Time entries, parts used, sign-offs, sign-off links and invoices of work orders."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.company import CompanySettings
from dispatch.invoice import (
    InvoiceDraft,
    InvoiceLine,
    PartUse,
    TimeEntry,
    cents,
    draft_invoice,
    format_number,
    sequence_name,
)
from dispatch.signoff import MAX_WRONG_CODES, METHODS, Method, SignOff, new_code
from dispatch.workorder import format_number as format_wo_number
from storage.billing_tables import (
    InvoiceLinkRow,
    InvoiceRow,
    PartUsedRow,
    SignoffLinkRow,
    SignoffRow,
    TimeEntryRow,
)
from storage.sequences import next_value
from storage.tables import WorkOrderRow
from storage.tokens import hash_token

TimeKind = Literal["work", "travel"]
LinkState = Literal["valid", "used", "expired"]


class UnknownWorkOrder(KeyError):
    pass


class AlreadySignedOff(Exception):
    pass


@dataclass(frozen=True, slots=True)
class TimeEntryRecord:
    id: int
    technician_id: str | None
    kind: TimeKind
    started_at: datetime
    ended_at: datetime | None
    note: str | None


@dataclass(frozen=True, slots=True)
class PartUseRecord:
    id: int
    technician_id: str | None
    sku: str
    name: str
    qty: Decimal
    unit_price: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class SignoffLink:
    work_order_seq: int
    code: str
    expires_at: datetime
    used_at: datetime | None
    state: LinkState


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    work_order_seq: int
    customer_id: str
    issued_at: datetime
    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal

    @property
    def work_order(self) -> str:
        return format_wo_number(self.work_order_seq)


class BillingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _row(self, seq: int, *, lock: bool = False) -> WorkOrderRow:
        query = select(WorkOrderRow).where(WorkOrderRow.seq == seq)
        row = (await self.session.scalars(query.with_for_update() if lock else query)).first()
        if row is None:
            raise UnknownWorkOrder(f"no work order {format_wo_number(seq)}")
        return row

    # --- time and parts ---------------------------------------------------------------------

    async def add_time_entry(
        self,
        seq: int,
        *,
        technician_id: str | None,
        kind: TimeKind,
        started_at: datetime,
        ended_at: datetime | None,
        note: str | None = None,
    ) -> TimeEntryRecord:
        if kind not in ("work", "travel"):
            raise ValueError("kind must be work or travel")
        if ended_at is not None and ended_at < started_at:
            raise ValueError("a time entry must not end before it starts")
        row = TimeEntryRow(
            work_order_id=(await self._row(seq)).id,
            technician_id=technician_id,
            kind=kind,
            started_at=started_at,
            ended_at=ended_at,
            note=note,
        )
        self.session.add(row)
        await self.session.flush()
        return _time_entry(row)

    async def add_part_use(
        self,
        seq: int,
        *,
        technician_id: str | None,
        sku: str,
        name: str,
        qty: Decimal,
        unit_price: Decimal,
        at: datetime,
    ) -> PartUseRecord:
        if qty <= 0 or unit_price < 0:
            raise ValueError("a part needs a positive quantity and a price of at least 0")
        row = PartUsedRow(
            work_order_id=(await self._row(seq)).id,
            technician_id=technician_id,
            sku=sku,
            name=name,
            qty=qty,
            unit_price=unit_price,
            at=at,
        )
        self.session.add(row)
        await self.session.flush()
        return _part(row)

    async def time_entries(self, seq: int) -> list[TimeEntryRecord]:
        rows = await self.session.scalars(
            select(TimeEntryRow)
            .join(WorkOrderRow)
            .where(WorkOrderRow.seq == seq)
            .order_by(TimeEntryRow.started_at, TimeEntryRow.id)
        )
        return [_time_entry(r) for r in rows]

    async def parts(self, seq: int) -> list[PartUseRecord]:
        rows = await self.session.scalars(
            select(PartUsedRow)
            .join(WorkOrderRow)
            .where(WorkOrderRow.seq == seq)
            .order_by(PartUsedRow.at, PartUsedRow.id)
        )
        return [_part(r) for r in rows]

    # --- sign-off ---------------------------------------------------------------------------

    async def create_signoff_link(self, seq: int, now: datetime, ttl: timedelta) -> tuple[str, str]:
        """A new page token and reply code; earlier links of the job stop working."""
        row_id = (await self._row(seq)).id
        await self.session.execute(
            update(SignoffLinkRow)
            .where(SignoffLinkRow.work_order_id == row_id, SignoffLinkRow.expires_at > now)
            .values(expires_at=now)
        )
        token, code = secrets.token_urlsafe(32), new_code()
        self.session.add(
            SignoffLinkRow(
                token_hash=hash_token(token),
                work_order_id=row_id,
                code=code,
                created_at=now,
                expires_at=now + ttl,
                wrong_codes=0,
            )
        )
        await self.session.flush()
        return token, code

    async def check_signoff_link(
        self, token: str, now: datetime, *, lock: bool = False
    ) -> SignoffLink | None:
        """The link behind a page token, with its state; None for a token never handed out."""
        query = (
            select(SignoffLinkRow, WorkOrderRow.seq)
            .join(WorkOrderRow)
            .where(SignoffLinkRow.token_hash == hash_token(token))
        )
        found = (await self.session.execute(query.with_for_update() if lock else query)).first()
        if found is None:
            return None
        link, seq = found[0], found[1]
        return _link(link, seq, now)

    async def live_signoff_code(self, seq: int, now: datetime) -> str | None:
        """The code a `YES <code>` reply must carry now, if the job awaits a sign-off."""
        link = await self._live_link(seq, now)
        return None if link is None else link.code

    async def count_wrong_code(self, seq: int, now: datetime) -> bool:
        """Counts a wrong code; True while the code may still be tried."""
        link = await self._live_link(seq, now)
        if link is None:
            return False
        link.wrong_codes += 1
        if link.wrong_codes >= MAX_WRONG_CODES:
            link.expires_at = now
        await self.session.flush()
        return link.wrong_codes < MAX_WRONG_CODES

    async def _live_link(self, seq: int, now: datetime) -> SignoffLinkRow | None:
        return (
            await self.session.scalars(
                select(SignoffLinkRow)
                .join(WorkOrderRow)
                .where(
                    WorkOrderRow.seq == seq,
                    SignoffLinkRow.used_at.is_(None),
                    SignoffLinkRow.expires_at > now,
                )
                .order_by(SignoffLinkRow.id.desc())
                .with_for_update()
            )
        ).first()

    async def record_signoff(self, seq: int, signoff: SignOff, *, token: str | None = None) -> None:
        """Stores the sign-off and spends the job's links (the page token and the code)."""
        row = await self._row(seq, lock=True)
        exists = await self.session.scalar(
            select(SignoffRow.id).where(SignoffRow.work_order_id == row.id)
        )
        if exists is not None:
            raise AlreadySignedOff(f"{format_wo_number(seq)} is already signed off")
        self.session.add(
            SignoffRow(
                work_order_id=row.id,
                at=signoff.at,
                channel=signoff.channel,
                method=signoff.method,
                signer=signoff.signer[:200],
                ip=signoff.ip,
                user_agent=None if signoff.user_agent is None else signoff.user_agent[:500],
                image_path=signoff.image_path,
            )
        )
        spend = update(SignoffLinkRow).where(
            SignoffLinkRow.work_order_id == row.id, SignoffLinkRow.used_at.is_(None)
        )
        if token is not None:
            await self.session.execute(
                spend.where(SignoffLinkRow.token_hash == hash_token(token)).values(
                    used_at=signoff.at
                )
            )
        await self.session.execute(
            spend.where(SignoffLinkRow.expires_at > signoff.at).values(expires_at=signoff.at)
        )
        await self.session.flush()

    async def signoff(self, seq: int) -> SignOff | None:
        row = (
            await self.session.scalars(
                select(SignoffRow).join(WorkOrderRow).where(WorkOrderRow.seq == seq)
            )
        ).first()
        if row is None:
            return None
        return SignOff(
            at=row.at,
            channel=row.channel,
            method=_method(row.method),
            signer=row.signer,
            ip=row.ip,
            user_agent=row.user_agent,
            image_path=row.image_path,
        )

    # --- invoices ---------------------------------------------------------------------------

    async def issue_invoice(self, seq: int, settings: CompanySettings, now: datetime) -> Invoice:
        """The job's invoice, made now from its time and parts; the same one when called again."""
        wo = await self._row(seq, lock=True)  # one issuer at a time per job
        existing = await self._invoice_where(InvoiceRow.work_order_id == wo.id)
        if existing is not None:
            return existing
        entries = [
            TimeEntry(e.started_at, e.ended_at)
            for e in await self.time_entries(seq)
            if e.kind == "work" and e.ended_at is not None
        ]
        parts = [PartUse(p.sku, p.name, p.qty, p.unit_price) for p in await self.parts(seq)]
        draft = draft_invoice(settings, wo.priority, entries, parts)
        year = now.astimezone(ZoneInfo(settings.timezone)).year
        number = format_number(year, await next_value(self.session, sequence_name(year)))
        row = _invoice_row(number, wo.id, now, draft)
        self.session.add(row)
        await self.session.flush()
        return _invoice(row, wo)

    async def get_invoice(self, number: str) -> Invoice | None:
        return await self._invoice_where(InvoiceRow.number == number)

    async def invoice_of(self, seq: int) -> Invoice | None:
        return await self._invoice_where(WorkOrderRow.seq == seq)

    async def invoices_between(self, start: datetime, end: datetime) -> list[Invoice]:
        """Invoices issued in [start, end), oldest first."""
        rows = await self.session.execute(
            select(InvoiceRow, WorkOrderRow)
            .join(WorkOrderRow, InvoiceRow.work_order_id == WorkOrderRow.id)
            .where(InvoiceRow.issued_at >= start, InvoiceRow.issued_at < end)
            .order_by(InvoiceRow.issued_at, InvoiceRow.id)
        )
        return [_invoice(inv, wo) for inv, wo in rows]

    # --- the customer's invoice link -------------------------------------------------------

    async def create_invoice_link(self, number: str, now: datetime, ttl: timedelta) -> str:
        """An unguessable token that shows invoice `number` until `now + ttl` (stored hashed)."""
        invoice_id = await self.session.scalar(
            select(InvoiceRow.id).where(InvoiceRow.number == number)
        )
        if invoice_id is None:
            raise KeyError(f"no invoice {number}")
        token = secrets.token_urlsafe(32)
        self.session.add(
            InvoiceLinkRow(
                token_hash=hash_token(token),
                invoice_id=invoice_id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        await self.session.flush()
        return token

    async def invoice_by_link(self, token: str, now: datetime) -> Invoice | None:
        """The invoice behind a live link; None for an unknown or expired token."""
        return await self._invoice_where(
            InvoiceRow.id
            == select(InvoiceLinkRow.invoice_id)
            .where(InvoiceLinkRow.token_hash == hash_token(token), InvoiceLinkRow.expires_at > now)
            .scalar_subquery()
        )

    async def _invoice_where(self, *where: Any) -> Invoice | None:
        found = (
            await self.session.execute(
                select(InvoiceRow, WorkOrderRow)
                .join(WorkOrderRow, InvoiceRow.work_order_id == WorkOrderRow.id)
                .where(*where)
            )
        ).first()
        return None if found is None else _invoice(found[0], found[1])


def _time_entry(row: TimeEntryRow) -> TimeEntryRecord:
    kind: TimeKind = "travel" if row.kind == "travel" else "work"
    return TimeEntryRecord(row.id, row.technician_id, kind, row.started_at, row.ended_at, row.note)


def _part(row: PartUsedRow) -> PartUseRecord:
    return PartUseRecord(
        row.id, row.technician_id, row.sku, row.name, row.qty, row.unit_price, row.at
    )


def _method(text: str) -> Method:
    return next((m for m in METHODS if m == text), "code")


def _link(row: SignoffLinkRow, seq: int, now: datetime) -> SignoffLink:
    state: LinkState = "valid"
    if row.used_at is not None:
        state = "used"
    elif row.expires_at <= now:
        state = "expired"
    return SignoffLink(seq, row.code, row.expires_at, row.used_at, state)


def _invoice_row(number: str, wo_id: int, now: datetime, draft: InvoiceDraft) -> InvoiceRow:
    return InvoiceRow(
        number=number,
        work_order_id=wo_id,
        issued_at=now,
        currency=draft.currency,
        subtotal=draft.subtotal,
        tax=draft.tax,
        total=draft.total,
        lines=[
            {
                "kind": line.kind,
                "description": line.description,
                "qty": str(line.qty),
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
            }
            for line in draft.lines
        ],
    )


def _invoice(row: InvoiceRow, wo: WorkOrderRow) -> Invoice:
    return Invoice(
        number=row.number,
        work_order_seq=wo.seq,
        customer_id=wo.customer_id,
        issued_at=row.issued_at,
        currency=row.currency,
        lines=tuple(
            InvoiceLine(
                kind=line["kind"],
                description=line["description"],
                qty=Decimal(line["qty"]),
                unit_price=Decimal(line["unit_price"]),
                amount=Decimal(line["amount"]),
            )
            for line in row.lines
        ),
        subtotal=cents(row.subtotal),
        tax=cents(row.tax),
        total=cents(row.total),
    )
