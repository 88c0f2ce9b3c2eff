"""The invoice of a signed-off work order (§7): callout fee, labor, parts and tax on parts.

Amounts are `Decimal`. Each line is rounded once to cents (half up) and the totals are sums of
rounded lines, so a printed invoice always adds up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from dispatch.company import CompanySettings, TimeRange

CENT = Decimal("0.01")
REACTIVE = frozenset({"P1", "P2", "P3"})  # P4 is planned/PM work: no callout fee
MAX_ENTRY = timedelta(days=31)  # longer is a typo, and would make the day walk below slow
NUMBER_RE = re.compile(r"^INV-(\d{4})-(\d{4,9})$")

LineKind = Literal["callout", "labor", "labor_after_hours", "part"]


class InvoiceRefused(ValueError):
    """Input an invoice cannot be made from (negative quantity or duration, naive time)."""


@dataclass(frozen=True, slots=True)
class TimeEntry:
    """Time on the tools: aware start and end."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class PartUse:
    sku: str
    name: str
    qty: Decimal
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: LineKind
    description: str
    qty: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """What an invoice says, before it has a number."""

    currency: str
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_number(year: int, seq: int) -> str:
    return f"INV-{year:04d}-{seq:04d}"


def parse_number(text: str) -> tuple[int, int] | None:
    """`INV-2026-0007` → (2026, 7); anything else → None."""
    match = NUMBER_RE.match(text.strip().upper())
    return None if match is None else (int(match[1]), int(match[2]))


def sequence_name(year: int) -> str:
    """Invoice numbers restart each year: one sequence per year."""
    return f"invoice-{year:04d}"


def draft_invoice(
    settings: CompanySettings,
    priority: str,
    entries: Sequence[TimeEntry],
    parts: Sequence[PartUse],
) -> InvoiceDraft:
    lines: list[InvoiceLine] = []
    if priority in REACTIVE and settings.callout_fee > 0:
        fee = cents(settings.callout_fee)
        lines.append(InvoiceLine("callout", "Callout fee", Decimal(1), fee, fee))
    lines.extend(labor_lines(settings, entries))
    for part in parts:
        _check_part(part)
    part_lines = [part_line(p) for p in parts if p.qty > 0]
    lines.extend(part_lines)
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    tax = cents(settings.tax_rate * sum((line.amount for line in part_lines), Decimal(0)))
    if tax < 0:
        raise InvoiceRefused("tax_rate must not be negative")
    return InvoiceDraft(
        currency=settings.currency,
        lines=tuple(lines),
        subtotal=cents(subtotal),
        tax=tax,
        total=cents(subtotal + tax),
    )


def part_line(part: PartUse) -> InvoiceLine:
    _check_part(part)
    amount = cents(part.qty * part.unit_price)
    return InvoiceLine("part", f"{part.name} ({part.sku})", part.qty, part.unit_price, amount)


def _check_part(part: PartUse) -> None:
    if part.qty < 0:
        raise InvoiceRefused(f"{part.sku}: quantity must not be negative")
    if part.unit_price < 0:
        raise InvoiceRefused(f"{part.sku}: price must not be negative")


def labor_lines(settings: CompanySettings, entries: Sequence[TimeEntry]) -> list[InvoiceLine]:
    if settings.labor_rate < 0 or settings.after_hours_multiplier < 0:
        raise InvoiceRefused("labor_rate and after_hours_multiplier must not be negative")
    zone = ZoneInfo(settings.timezone)
    normal = after = 0
    for entry in entries:
        n, a = split_seconds(entry, settings.business_hours, zone)
        normal, after = normal + n, after + a
    lines = []
    if normal:
        rate = settings.labor_rate
        lines.append(_labor("labor", f"Labor {duration_text(normal)}", normal, rate))
    if after:
        m = settings.after_hours_multiplier
        rate = settings.labor_rate * m
        text = f"Labor after hours {duration_text(after)} (×{format(m.normalize(), 'f')})"
        lines.append(_labor("labor_after_hours", text, after, rate))
    return lines


def _labor(kind: LineKind, description: str, seconds: int, rate: Decimal) -> InvoiceLine:
    hours = Decimal(seconds) / 3600
    # The amount comes from the exact time; the quantity shown is rounded for reading only.
    return InvoiceLine(kind, description, cents(hours), cents(rate), cents(hours * rate))


def duration_text(seconds: int) -> str:
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def split_seconds(entry: TimeEntry, hours: TimeRange, zone: ZoneInfo) -> tuple[int, int]:
    """(business-hours seconds, after-hours seconds) of an entry; weekends are after hours."""
    if entry.start.tzinfo is None or entry.end.tzinfo is None:
        raise InvoiceRefused("time entries need aware datetimes")
    # In UTC so arithmetic is elapsed time (Python compares same-zone times on the wall clock).
    start, end = entry.start.astimezone(UTC), entry.end.astimezone(UTC)
    if end < start:
        raise InvoiceRefused("a time entry must not end before it starts")
    if end - start > MAX_ENTRY:
        raise InvoiceRefused("a time entry longer than 31 days is not plausible")
    total = int((end - start).total_seconds())
    business = 0
    for open_at, close_at in _business_spans(start, end, hours, zone):
        overlap = (min(end, close_at) - max(start, open_at)).total_seconds()
        business += max(0, int(overlap))
    business = min(business, total)
    return business, total - business


def _business_spans(
    start: datetime, end: datetime, hours: TimeRange, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        if day.weekday() < 5:
            yield _local(day, hours.start, zone), _local(day, hours.end, zone)
        day += timedelta(days=1)


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, zone).astimezone(UTC)
