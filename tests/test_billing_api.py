"""Invoices over the HTTP API: JSON and PDF behind the bearer token."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from dispatch.clock import FixedClock
from storage.billing_repo import BillingRepository
from tests.test_billing_support import Client, UowFactory, add_completed_job, billing_client
from webhooks.invoice_pdf import cjk_font

pytestmark = pytest.mark.usefixtures("demo_company")
NINE = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
NAMES = ("Ventilateur d'évaporateur", "Kühlschrank-Dichtung", "温度センサー", "Ψυκτικό R-410A")


@pytest.fixture
async def api(database_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Client]:
    async with billing_client(database_url, clock, tmp_path / "media") as client:
        yield client


async def issue(uow: UowFactory, clock: FixedClock, seq: int) -> str:
    async with uow() as u:
        settings = (await u.company.load()).settings
        invoice = await BillingRepository(u.session).issue_invoice(seq, settings, clock.now())
        await u.commit()
    return invoice.number


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_invoice_json_has_lines_and_totals_as_two_decimal_strings(
    api: Client, api_token: str, uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(
        uow,
        clock.now(),
        work=((NINE, NINE + timedelta(minutes=90)),),
        parts=(("CAP-455", "Dual run capacitor", Decimal(2), Decimal(38)),),
    )
    number = await issue(uow, clock, seq)
    response = await api.get(f"/api/v1/invoices/{number}", headers=auth(api_token))
    assert response.status == 200
    body = await response.json()
    assert body["number"] == "INV-2026-0001"
    assert body["work_order"] == f"WO-{seq}"
    assert body["currency"] == "USD"
    assert body["issued_at"] == "2026-11-30T07:00:00-06:00"
    assert body["lines"][0] == {
        "kind": "callout",
        "description": "Callout fee",
        "qty": "1",
        "unit_price": "79.00",
        "amount": "79.00",
    }
    assert body["lines"][2]["amount"] == "76.00"
    assert (body["subtotal"], body["tax"], body["total"]) == ("297.50", "6.27", "303.77")
    assert body["pdf"].endswith(f"/api/v1/invoices/{number}.pdf")


async def test_invoices_need_a_token_and_unknown_ones_are_404(
    api: Client, api_token: str, uow: UowFactory, clock: FixedClock
) -> None:
    number = await issue(uow, clock, await add_completed_job(uow, clock.now()))
    for path in (f"/api/v1/invoices/{number}", f"/api/v1/invoices/{number}.pdf"):
        response = await api.get(path)
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"
        wrong = await api.get(path, headers=auth("co_not-a-token"))
        assert wrong.status == 401
    for missing in ("INV-2026-0999", "INV-2026-0999.pdf", "WO-1001", "nonsense.pdf"):
        response = await api.get(f"/api/v1/invoices/{missing}", headers=auth(api_token))
        assert response.status == 404
        assert (await response.json())["error"] == "not_found"


async def test_pdf_of_a_job_with_forty_unicode_parts_paginates(
    api: Client, api_token: str, uow: UowFactory, clock: FixedClock
) -> None:
    parts = tuple(
        (f"SKU-{i:02d}", f"{NAMES[i % len(NAMES)]} {i}", Decimal(i % 3 + 1), Decimal("12.50"))
        for i in range(40)
    )
    seq = await add_completed_job(uow, clock.now(), parts=parts)
    number = await issue(uow, clock, seq)
    response = await api.get(f"/api/v1/invoices/{number}.pdf", headers=auth(api_token))
    assert response.status == 200
    assert response.content_type == "application/pdf"
    pdf = await response.read()
    assert pdf.startswith(b"%PDF")
    Path("test-artifacts").mkdir(exist_ok=True)
    Path("test-artifacts/invoice-40-parts.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    # pypdf reads the two-byte CJK fallback font with NULs between the characters
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\x00", "")
    assert "Ventilateur d'évaporateur 0" in text
    assert "Kühlschrank-Dichtung 37" in text
    assert "Ψυκτικό R-410A 3" in text
    assert f"{number} · page 2/" in text
    assert "Total" in reader.pages[-1].extract_text()
    if cjk_font() is not None:  # the CJK font package is optional
        assert "温度センサー 2" in text
