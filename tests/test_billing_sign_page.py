"""The signature page over real HTTP: what it shows, what it accepts, and what it refuses."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from dispatch.clock import FixedClock
from dispatch.workorder import Status
from storage.billing_repo import BillingRepository
from storage.billing_tables import InvoiceRow, SignoffRow
from storage.tables import OutboxRow
from tests.test_billing_support import (
    Client,
    UowFactory,
    add_completed_job,
    billing_client,
    signature_png,
)

pytestmark = pytest.mark.usefixtures("demo_company")
EVIL = '<script>alert("x")</script> & "quotes"'


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
async def web(database_url: str, clock: FixedClock, media: Path) -> AsyncIterator[Client]:
    async with billing_client(database_url, clock, media) as client:
        yield client


async def signoff_link(uow: UowFactory, clock: FixedClock, seq: int) -> str:
    async with uow() as u:
        token, _ = await BillingRepository(u.session).create_signoff_link(
            seq, clock.now(), timedelta(days=3)
        )
        await u.commit()
    return token


async def stored(uow: UowFactory) -> tuple[int, int]:
    async with uow() as u:
        signoffs = await u.session.scalar(select(func.count()).select_from(SignoffRow))
        invoices = await u.session.scalar(select(func.count()).select_from(InvoiceRow))
    return signoffs or 0, invoices or 0


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


async def test_page_shows_the_job_escaped_with_strict_security_headers(
    web: Client, uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(
        uow,
        clock.now(),
        description=EVIL,
        parts=(("CAP-455", "Capacitor <b>45/5</b>", Decimal(2), Decimal(38)),),
    )
    token = await signoff_link(uow, clock, seq)
    response = await web.get(f"/sign/{token}")
    assert response.status == 200
    html = await response.text()
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert "Capacitor &lt;b&gt;45/5&lt;/b&gt;" in html
    assert f"WO-{seq}" in html
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None
    assert f'<script nonce="{nonce[1]}">' in html
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_signature_upload_signs_off_and_invoices_the_job(
    web: Client, uow: UowFactory, clock: FixedClock, media: Path
) -> None:
    seq = await add_completed_job(uow, clock.now())
    token = await signoff_link(uow, clock, seq)
    form = FormData()
    form.add_field("signature", signature_png(), filename="s.png", content_type="image/png")
    form.add_field("name", "Rudy Alvarez")
    response = await web.post(f"/sign/{token}", data=form, headers={"User-Agent": "PhoneTest/1"})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body == {"ok": True, "work_order": f"WO-{seq}", "invoice": "INV-2026-0001"}
    async with uow() as u:
        signoff = await BillingRepository(u.session).signoff(seq)
        wo = await u.work_orders.get(seq)
    assert signoff is not None
    assert wo is not None
    assert (signoff.method, signoff.channel, signoff.signer) == ("signature", "web", "Rudy Alvarez")
    assert signoff.ip == "127.0.0.1"
    assert signoff.user_agent == "PhoneTest/1"
    assert signoff.image_path is not None
    image = media / signoff.image_path
    assert image.parent == media / "signatures"
    assert image.read_bytes().startswith(b"\x89PNG")
    assert wo.status is Status.INVOICED
    assert [e.kind for e in wo.timeline[-2:]] == ["status", "status"]
    again = await web.get(f"/sign/{token}")
    assert again.status == 410
    replay = await web.post(f"/sign/{token}", json={"image": data_url(signature_png())})
    assert replay.status == 410
    assert await stored(uow) == (1, 1)


async def test_the_customer_gets_the_invoice_with_a_link_that_expires(
    web: Client, uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(uow, clock.now())
    token = await signoff_link(uow, clock, seq)
    signed = await web.post(f"/sign/{token}", json={"image": data_url(signature_png())})
    assert signed.status == 200, await signed.text()
    async with uow() as u:
        [message] = await u.session.scalars(
            select(OutboxRow).where(
                OutboxRow.kind == "invoice", OutboxRow.work_order_id.is_not(None)
            )
        )
        recipient, text, link = (
            message.recipient,
            str(message.payload["text"]),
            message.payload["link"],
        )
    assert recipient == "+15125550120"  # C001's phone: the customer, in the same transaction
    assert text.startswith(f"Thank you! WO-{seq} is signed off. Invoice INV-2026-0001: ")
    assert text.endswith(" USD.")
    path = "/invoice/" + str(link).split("/invoice/", 1)[1]
    pdf = await web.get(path)
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF")
    assert pdf.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in pdf.headers["Cache-Control"]
    for wrong in (path + "x", "/invoice/" + "A" * 43, "/invoice/INV-2026-0001"):
        refused = await web.get(wrong)
        assert refused.status == 404 and "not valid" in await refused.text()
    clock.advance(timedelta(days=91))
    expired = await web.get(path)
    assert expired.status == 404, "the link expires after 90 days"


async def test_signature_as_a_data_url_is_accepted_and_named_after_the_customer(
    web: Client, uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(uow, clock.now())
    token = await signoff_link(uow, clock, seq)
    response = await web.post(f"/sign/{token}", json={"image": data_url(signature_png())})
    assert response.status == 200, await response.text()
    async with uow() as u:
        signoff = await BillingRepository(u.session).signoff(seq)
    assert signoff is not None
    assert signoff.signer == "Lone Star Restaurant Group"


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (signature_png(ink=False), "blank"),
        (b"GIF89a" + b"\x00" * 100, "not a PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a readable PNG"),
        (signature_png(size=(5000, 20)), "too large"),
    ],
)
async def test_blank_or_broken_signatures_are_refused_and_nothing_is_stored(
    web: Client, uow: UowFactory, clock: FixedClock, media: Path, image: bytes, why: str
) -> None:
    token = await signoff_link(uow, clock, await add_completed_job(uow, clock.now()))
    response = await web.post(f"/sign/{token}", json={"image": data_url(image)})
    assert response.status == 400
    assert why in (await response.json())["message"]
    assert await stored(uow) == (0, 0)
    assert not (media / "signatures").exists() or not any((media / "signatures").iterdir())


async def test_wrong_and_expired_links_are_refused_and_nothing_is_stored(
    web: Client, uow: UowFactory, clock: FixedClock, media: Path
) -> None:
    token = await signoff_link(uow, clock, await add_completed_job(uow, clock.now()))
    wrong = await web.get("/sign/not-a-real-token")
    assert wrong.status == 404
    assert "Link not found" in await wrong.text()
    assert wrong.headers["X-Frame-Options"] == "DENY"
    posted = await web.post("/sign/not-a-real-token", json={"image": data_url(signature_png())})
    assert posted.status == 404
    clock.advance(timedelta(days=3, seconds=1))
    expired = await web.get(f"/sign/{token}")
    assert expired.status == 410
    assert "expired" in await expired.text()
    late = await web.post(f"/sign/{token}", json={"image": data_url(signature_png())})
    assert late.status == 410
    assert await stored(uow) == (0, 0)
    assert not (media / "signatures").exists() or not any((media / "signatures").iterdir())


async def test_a_job_reopened_after_the_link_was_sent_cannot_be_signed(
    web: Client, uow: UowFactory, clock: FixedClock
) -> None:
    seq = await add_completed_job(uow, clock.now())
    token = await signoff_link(uow, clock, seq)
    async with uow() as u:
        wo = await u.work_orders.get(seq)
        assert wo is not None
        wo.transition(Status.WORKING, clock.now(), why="customer said no")
        await u.work_orders.save(wo)
        await u.commit()
    page = await web.get(f"/sign/{token}")
    assert page.status == 410
    posted = await web.post(f"/sign/{token}", json={"image": data_url(signature_png())})
    assert posted.status == 410
    assert await stored(uow) == (0, 0)


async def test_a_signature_over_one_mebibyte_is_too_large(
    web: Client, uow: UowFactory, clock: FixedClock
) -> None:
    token = await signoff_link(uow, clock, await add_completed_job(uow, clock.now()))
    form = FormData()
    form.add_field("signature", b"\x89PNG\r\n\x1a\n" + bytes(1024 * 1024), filename="s.png")
    response = await web.post(f"/sign/{token}", data=form)
    assert response.status == 413
    assert await stored(uow) == (0, 0)


async def test_two_submissions_at_once_sign_off_only_once(
    web: Client, uow: UowFactory, clock: FixedClock, media: Path
) -> None:
    token = await signoff_link(uow, clock, await add_completed_job(uow, clock.now()))
    body = {"image": data_url(signature_png())}
    responses = await asyncio.gather(
        web.post(f"/sign/{token}", json=body), web.post(f"/sign/{token}", json=body)
    )
    assert sorted(r.status for r in responses) == [200, 410]
    assert await stored(uow) == (1, 1)
    assert len(list((media / "signatures").iterdir())) == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b"{bad json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"image=data:image/png;base64,%%%%", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "text/plain"),
    ],
)
async def test_malformed_uploads_are_refused_with_400(
    web: Client, uow: UowFactory, clock: FixedClock, body: bytes, content_type: str
) -> None:
    token = await signoff_link(uow, clock, await add_completed_job(uow, clock.now()))
    response = await web.post(f"/sign/{token}", data=body, headers={"Content-Type": content_type})
    assert response.status == 400
    assert await stored(uow) == (0, 0)
