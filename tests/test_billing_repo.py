"""Billing storage on SQLite and PostgreSQL: time, parts, sign-off links, invoices, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.clock import FixedClock
from dispatch.signoff import MAX_WRONG_CODES, SignedOff, SignOff, read_reply, sign_off
from dispatch.workorder import Status
from storage.billing_repo import AlreadySignedOff, BillingRepository
from storage.billing_tables import SignoffRow
from storage.db import session_factory
from tests.test_billing_support import UowFactory, add_completed_job
from webhooks.export import export_invoices, export_invoices_csv

pytestmark = pytest.mark.usefixtures("demo_company")
CHICAGO = ZoneInfo("America/Chicago")
NINE = datetime(2026, 11, 30, 9, 0, tzinfo=CHICAGO)
CAPACITOR = ("CAP-455", "Dual run capacitor 45/5 uF", Decimal(2), Decimal("38.00"))


async def test_time_entries_and_parts_come_back_in_order_with_exact_amounts(
    uow: UowFactory, clock: FixedClock
) -> None:
    later = (NINE + timedelta(hours=2), NINE + timedelta(hours=3))
    seq = await add_completed_job(
        uow, clock.now(), work=(later, (NINE, NINE + timedelta(hours=1))), parts=(CAPACITOR,)
    )
    async with uow() as u:
        repo = BillingRepository(u.session)
        entries, parts = await repo.time_entries(seq), await repo.parts(seq)
    assert [e.started_at for e in entries] == [NINE, later[0]]
    assert entries[0].kind == "work"
    assert [(p.sku, p.qty, p.unit_price) for p in parts] == [
        ("CAP-455", Decimal(2), Decimal("38.00"))
    ]


async def test_a_signed_off_job_gets_one_invoice_however_often_it_is_asked(
    uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(
        uow, clock.now(), work=((NINE, NINE + timedelta(minutes=90)),), parts=(CAPACITOR,)
    )
    async with uow() as u:
        settings = (await u.company.load()).settings
        repo = BillingRepository(u.session)
        first = await repo.issue_invoice(seq, settings, clock.now())
        again = await repo.issue_invoice(seq, settings, clock.now() + timedelta(days=1))
        await u.commit()
    assert first == again
    assert first.number == "INV-2026-0001"
    assert [line.kind for line in first.lines] == ["callout", "labor", "part"]
    assert first.subtotal == Decimal("79.00") + Decimal("142.50") + Decimal("76.00")
    assert first.tax == Decimal("6.27")
    assert first.total == Decimal("303.77")
    async with uow() as u:
        stored = await BillingRepository(u.session).get_invoice("INV-2026-0001")
    assert stored == first


async def test_invoice_numbers_count_up_per_year_in_the_company_time_zone(
    uow: UowFactory, clock: FixedClock
) -> None:
    seqs = [await add_completed_job(uow, clock.now()) for _ in range(3)]
    new_year_utc = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # still 2026 in Chicago
    issued = [clock.now(), new_year_utc, new_year_utc + timedelta(hours=6)]
    async with uow() as u:
        settings = (await u.company.load()).settings
        repo = BillingRepository(u.session)
        numbers = [
            (await repo.issue_invoice(s, settings, at)).number
            for s, at in zip(seqs, issued, strict=True)
        ]
        await u.commit()
    assert numbers == ["INV-2026-0001", "INV-2026-0002", "INV-2027-0001"]


async def test_sign_off_link_is_valid_until_used_or_expired(
    uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(uow, clock.now())
    now, ttl = clock.now(), timedelta(days=3)
    async with uow() as u:
        token, code = await BillingRepository(u.session).create_signoff_link(seq, now, ttl)
        await u.commit()
    async with uow() as u:
        repo = BillingRepository(u.session)
        link = await repo.check_signoff_link(token, now)
        assert link is not None
        assert (link.state, link.code, link.work_order_seq) == ("valid", code, seq)
        assert await repo.check_signoff_link(token + "x", now) is None
        expired = await repo.check_signoff_link(token, now + ttl)
        assert expired is not None
        assert expired.state == "expired"
        assert await repo.live_signoff_code(seq, now) == code
        signoff = SignOff(at=now, channel="web", method="signature", signer="Rudy", ip="127.0.0.1")
        await repo.record_signoff(seq, signoff, token=token)
        await u.commit()
    async with uow() as u:
        repo = BillingRepository(u.session)
        used = await repo.check_signoff_link(token, now)
        assert used is not None
        assert used.state == "used"
        assert await repo.live_signoff_code(seq, now) is None
        assert await repo.signoff(seq) == signoff
        with pytest.raises(AlreadySignedOff):
            await repo.record_signoff(seq, signoff)


async def test_a_new_sign_off_link_replaces_the_old_one(uow: UowFactory, clock: FixedClock) -> None:
    seq = await add_completed_job(uow, clock.now())
    now = clock.now()
    async with uow() as u:
        repo = BillingRepository(u.session)
        old, _ = await repo.create_signoff_link(seq, now, timedelta(days=3))
        new, code = await repo.create_signoff_link(
            seq, now + timedelta(minutes=1), timedelta(days=3)
        )
        await u.commit()
    async with uow() as u:
        repo = BillingRepository(u.session)
        old_link = await repo.check_signoff_link(old, now + timedelta(minutes=2))
        new_link = await repo.check_signoff_link(new, now + timedelta(minutes=2))
        assert old_link is not None
        assert new_link is not None
        assert (old_link.state, new_link.state) == ("expired", "valid")
        assert await repo.live_signoff_code(seq, now + timedelta(minutes=2)) == code


async def test_too_many_wrong_codes_spend_the_code(uow: UowFactory, clock: FixedClock) -> None:
    seq = await add_completed_job(uow, clock.now())
    now = clock.now()
    async with uow() as u:
        repo = BillingRepository(u.session)
        await repo.create_signoff_link(seq, now, timedelta(days=3))
        answers = [await repo.count_wrong_code(seq, now) for _ in range(MAX_WRONG_CODES)]
        await u.commit()
    assert answers == [True] * (MAX_WRONG_CODES - 1) + [False]
    async with uow() as u:
        assert await BillingRepository(u.session).live_signoff_code(seq, now) is None


async def test_export_writes_one_row_per_invoice_of_the_period(
    uow: UowFactory, clock: FixedClock, engine: AsyncEngine
) -> None:
    seqs = [await add_completed_job(uow, clock.now(), parts=(CAPACITOR,)) for _ in range(3)]
    days = [clock.now(), clock.now() + timedelta(days=1), clock.now() + timedelta(days=40)]
    async with uow() as u:
        settings = (await u.company.load()).settings
        repo = BillingRepository(u.session)
        for seq, at in zip(seqs, days, strict=True):
            await repo.issue_invoice(seq, settings, at)
        signoffs = await u.session.scalar(select(func.count()).select_from(SignoffRow))
        await u.commit()
    assert signoffs == 0  # issuing an invoice records no sign-off by itself
    out = io.StringIO()
    sessions = session_factory(engine)
    count = await export_invoices_csv(sessions, date(2026, 11, 1), date(2026, 12, 1), out, CHICAGO)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert count == 2
    assert rows[0] == [
        "number",
        "work_order",
        "customer_id",
        "issued_at",
        "subtotal",
        "tax",
        "total",
        "currency",
    ]
    assert rows[1] == [
        "INV-2026-0001",
        f"WO-{seqs[0]}",
        "C001",
        "2026-11-30T07:00:00-06:00",
        "155.00",
        "6.27",
        "161.27",
        "USD",
    ]
    assert rows[2][0] == "INV-2026-0002"


async def test_cli_export_reads_the_company_time_zone_from_the_database(
    uow: UowFactory, clock: FixedClock, database_url: str
) -> None:
    seq = await add_completed_job(uow, clock.now())
    late = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)  # still November 30 in Chicago
    async with uow() as u:
        settings = (await u.company.load()).settings
        await BillingRepository(u.session).issue_invoice(seq, settings, late)
        await u.commit()
    out = io.StringIO()
    count = await export_invoices(database_url, date(2026, 11, 30), date(2026, 11, 30), out)
    assert count == 1
    assert "2026-11-30T23:30:00-06:00" in out.getvalue()


async def test_a_yes_with_the_code_by_sms_signs_off_and_invoices_the_job(
    uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(uow, clock.now())
    now = clock.now()
    async with uow() as u:
        _, code = await BillingRepository(u.session).create_signoff_link(
            seq, now, timedelta(days=3)
        )
        await u.commit()
    async with uow() as u:
        repo = BillingRepository(u.session)
        live = await repo.live_signoff_code(seq, now)
        assert live is not None
        assert read_reply(f"yes {code}", live) == SignedOff()
        wo = await u.work_orders.get(seq, lock=True)
        assert wo is not None
        settings = (await u.company.load()).settings
        signoff = SignOff(at=now, channel="sms", method="code", signer="Lone Star")
        invoice = await sign_off(wo, signoff, settings, repo, u.work_orders)
        await u.commit()
    assert invoice.number == "INV-2026-0001"
    async with uow() as u:
        reloaded = await u.work_orders.get(seq)
        assert await BillingRepository(u.session).live_signoff_code(seq, now) is None
    assert reloaded is not None
    assert reloaded.status is Status.INVOICED
