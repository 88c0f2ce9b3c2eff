"""Invoice amounts: lines rounded once, totals that add up, after-hours labor, callout fees."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.company import CompanySettings, TimeRange
from dispatch.invoice import (
    InvoiceRefused,
    PartUse,
    TimeEntry,
    draft_invoice,
    format_number,
    parse_number,
    sequence_name,
)

CHICAGO = ZoneInfo("America/Chicago")
COMPANY = CompanySettings(
    name="Ridgeback",
    timezone="America/Chicago",
    labor_rate=Decimal("95"),
    callout_fee=Decimal("79"),
    after_hours_multiplier=Decimal("1.5"),
    tax_rate=Decimal("0.0825"),
    business_hours=TimeRange(time(7, 0), time(18, 0)),
)
MONDAY = datetime(2026, 11, 30, tzinfo=CHICAGO)


def local(day: datetime, hh: int, mm: int = 0) -> datetime:
    return day.replace(hour=hh, minute=mm)


def test_job_across_closing_time_is_half_normal_half_after_hours() -> None:
    entry = TimeEntry(local(MONDAY, 17, 30), local(MONDAY, 18, 30))
    draft = draft_invoice(COMPANY, "P3", [entry], [])
    labor = {line.kind: line for line in draft.lines if line.kind.startswith("labor")}
    assert labor["labor"].amount == Decimal("47.50")  # 30 min × 95
    assert labor["labor_after_hours"].amount == Decimal("71.25")  # 30 min × 95 × 1.5
    assert labor["labor"].qty == Decimal("0.50")
    assert "30 min" in labor["labor_after_hours"].description


def test_weekend_work_is_all_after_hours() -> None:
    saturday = MONDAY - timedelta(days=2)
    draft = draft_invoice(COMPANY, "P4", [TimeEntry(local(saturday, 10), local(saturday, 12))], [])
    assert [line.kind for line in draft.lines] == ["labor_after_hours"]
    assert draft.total == Decimal("285.00")  # 2 h × 142.50


def test_overnight_emergency_splits_at_both_edges_of_business_hours() -> None:
    # Monday 16:00 → Tuesday 08:00: 2 h before closing + 1 h after opening are normal.
    entry = TimeEntry(local(MONDAY, 16), local(MONDAY + timedelta(days=1), 8))
    draft = draft_invoice(COMPANY, "P1", [entry], [])
    labor = {line.kind: line.qty for line in draft.lines if line.kind.startswith("labor")}
    assert labor == {"labor": Decimal("3.00"), "labor_after_hours": Decimal("13.00")}


def test_entries_in_utc_are_judged_in_the_company_time_zone() -> None:
    # 13:00–14:00 UTC is 07:00–08:00 in Chicago (CST): business hours.
    entry = TimeEntry(
        datetime(2026, 11, 30, 13, tzinfo=UTC), datetime(2026, 11, 30, 14, tzinfo=UTC)
    )
    draft = draft_invoice(COMPANY, "P3", [entry], [])
    assert [line.kind for line in draft.lines] == ["callout", "labor"]


def test_reactive_work_pays_a_callout_fee_and_planned_work_does_not() -> None:
    for priority in ("P1", "P2", "P3"):
        assert draft_invoice(COMPANY, priority, [], []).total == Decimal("79.00")
    assert draft_invoice(COMPANY, "P4", [], []).lines == ()


def test_tax_is_charged_on_parts_only() -> None:
    parts = [PartUse("CAP-455", "Dual run capacitor", Decimal(2), Decimal("38.00"))]
    entry = TimeEntry(local(MONDAY, 9), local(MONDAY, 10))
    draft = draft_invoice(COMPANY, "P3", [entry], parts)
    assert draft.tax == Decimal("6.27")  # 76.00 × 8.25 % = 6.27
    assert draft.subtotal == Decimal("79.00") + Decimal("95.00") + Decimal("76.00")
    assert draft.total == draft.subtotal + draft.tax


def test_each_line_is_rounded_half_up_once() -> None:
    parts = [PartUse("X", "Washer", Decimal(3), Decimal("0.335"))]  # 1.005 → 1.01
    draft = draft_invoice(COMPANY, "P4", [], parts)
    assert draft.lines[0].amount == Decimal("1.01")
    assert draft.tax == Decimal("0.08")  # 1.01 × 0.0825 = 0.0833


def test_negative_quantities_and_durations_are_refused() -> None:
    with pytest.raises(InvoiceRefused):
        draft_invoice(COMPANY, "P3", [], [PartUse("X", "x", Decimal(-1), Decimal(5))])
    with pytest.raises(InvoiceRefused):
        draft_invoice(COMPANY, "P3", [TimeEntry(local(MONDAY, 10), local(MONDAY, 9))], [])
    naive = datetime(2026, 11, 30, 9)
    with pytest.raises(InvoiceRefused):
        draft_invoice(COMPANY, "P3", [TimeEntry(naive, naive + timedelta(hours=1))], [])


def test_invoice_numbers_are_per_year_and_parse_back() -> None:
    assert format_number(2026, 7) == "INV-2026-0007"
    assert parse_number("inv-2026-0007") == (2026, 7)
    assert parse_number("INV-2026-12345") == (2026, 12345)
    assert parse_number("WO-1042") is None
    assert parse_number("INV-26-1") is None
    assert sequence_name(2026) == "invoice-2026"


money = st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False)
qty = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False)
part = st.builds(PartUse, st.just("SKU"), st.just("Part"), qty, money)
# Real instants (from UTC), shown in Chicago: wall-clock times in a DST gap do not exist.
starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
entry = st.builds(
    lambda start, minutes: TimeEntry(
        start.astimezone(CHICAGO), (start + timedelta(minutes=minutes)).astimezone(CHICAGO)
    ),
    starts,
    st.integers(min_value=0, max_value=3 * 24 * 60),
)
company = st.builds(
    CompanySettings,
    name=st.just("Co"),
    timezone=st.sampled_from(["America/Chicago", "Europe/Paris", "Asia/Tokyo", "UTC"]),
    labor_rate=money,
    callout_fee=money,
    after_hours_multiplier=st.decimals(min_value=1, max_value=3, places=2),
    tax_rate=st.decimals(min_value=0, max_value=Decimal("0.3"), places=4),
)


@settings(max_examples=200, deadline=None)
@given(
    company,
    st.sampled_from(["P1", "P2", "P3", "P4"]),
    st.lists(entry, max_size=5),
    st.lists(part, max_size=8),
)
def test_totals_are_sums_of_rounded_lines_and_never_negative(
    settings_: CompanySettings,
    priority: str,
    entries: list[TimeEntry],
    parts: list[PartUse],
) -> None:
    draft = draft_invoice(settings_, priority, entries, parts)
    cent = Decimal("0.01")
    for line in draft.lines:
        assert line.amount == line.amount.quantize(cent)
        assert line.amount >= 0
    assert draft.subtotal == sum((line.amount for line in draft.lines), Decimal(0))
    assert draft.total == draft.subtotal + draft.tax
    assert draft.tax >= 0
    assert draft.total >= 0


@settings(max_examples=200, deadline=None)
@given(st.lists(entry, min_size=1, max_size=5))
def test_labor_time_split_covers_every_second_once(entries: list[TimeEntry]) -> None:
    flat = CompanySettings(name="Co", timezone="America/Chicago", labor_rate=Decimal(3600))
    draft = draft_invoice(flat, "P4", entries, [])  # 1 per second, multiplier 1
    seconds = sum(int((e.end.astimezone(UTC) - e.start).total_seconds()) for e in entries)
    assert draft.total == Decimal(seconds)
