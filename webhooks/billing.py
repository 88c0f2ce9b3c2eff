"""Billing over HTTP: the signature page `/sign/<token>`, invoices as JSON and PDF (§7), and
the customer's own invoice link `/invoice/<token>` sent with the sign-off thanks."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from jinja2 import Environment, FileSystemLoader

from bot.signoff import announce_web_signoff
from dispatch.invoice import (
    InvoiceDraft,
    PartUse,
    TimeEntry,
    draft_invoice,
    duration_text,
    parse_number,
)
from dispatch.invoice import format_number as format_invoice_number
from dispatch.signoff import SignOff, sign_off
from dispatch.workorder import Status, WorkOrder
from storage.billing_repo import BillingRepository, Invoice, PartUseRecord, SignoffLink
from storage.uow import SqlUnitOfWork
from webhooks.api import authorize
from webhooks.app import SERVICES
from webhooks.billing_json import amount, invoice_json, quantity
from webhooks.errors import ApiError
from webhooks.invoice_pdf import InvoiceParties, render_invoice_pdf
from webhooks.records import Directory
from webhooks.signature import MAX_BYTES, BadSignature, clean_png, from_data_url, store_signature

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
MAX_SIGNER = 200


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    title: str
    text: str


UNKNOWN = Problem(404, "Link not found", "This sign-off link is not valid. Check the message.")
USED = Problem(410, "Already signed", "This job has been signed off. Thank you!")
EXPIRED = Problem(410, "Link expired", "This sign-off link has expired. Ask us for a new one.")
NOT_WAITING = Problem(410, "Nothing to sign", "This job is not waiting for a sign-off any more.")
EXPIRED_INVOICE_LINK = Problem(
    404, "Link not valid", "This invoice link is not valid or has expired. Ask us for a copy."
)


def _link_problem(link: SignoffLink | None) -> Problem | None:
    if link is None:
        return UNKNOWN
    return {"used": USED, "expired": EXPIRED}.get(link.state)


def _page(status: int, **context: Any) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    body = TEMPLATES.get_template("sign.html").render(nonce=nonce, **context)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    h = response.headers
    h["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data: blob:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    h["Cache-Control"] = "no-store"
    return response


def _problem_page(problem: Problem) -> web.Response:
    return _page(problem.status, problem=problem)


async def sign_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.uow() as uow:
        billing = BillingRepository(uow.session)
        link = await billing.check_signoff_link(request.match_info["token"], services.clock.now())
        if (problem := _link_problem(link)) is not None or link is None:
            return _problem_page(problem or UNKNOWN)
        wo = await uow.work_orders.get(link.work_order_seq)
        if wo is None or not wo.can_become(Status.SIGNED_OFF):
            return _problem_page(NOT_WAITING)
        directory = Directory(await uow.company.load())
        parts = await billing.parts(wo.seq)
        entries = [
            TimeEntry(e.started_at, e.ended_at)
            for e in await billing.time_entries(wo.seq)
            if e.kind == "work" and e.ended_at is not None
        ]
    draft = draft_invoice(directory.company.settings, wo.priority, entries, _uses(parts))
    return _page(200, problem=None, **_summary(wo, directory, parts, entries, draft))


def _uses(parts: list[PartUseRecord]) -> list[PartUse]:
    return [PartUse(p.sku, p.name, p.qty, p.unit_price) for p in parts]


def _summary(
    wo: WorkOrder,
    d: Directory,
    parts: list[PartUseRecord],
    entries: list[TimeEntry],
    draft: InvoiceDraft,
) -> dict[str, Any]:
    customer = d.customers.get(wo.customer_id)
    site = d.sites.get(wo.site_id) if wo.site_id else None
    tech = d.technicians.get(wo.technician_id) if wo.technician_id else None
    seconds = sum(int((e.end - e.start).total_seconds()) for e in entries)
    return {
        "company": d.company.settings.name,
        "number": wo.number,
        "description": wo.description,
        "address": site.address if site else None,
        "technician": tech.name if tech else None,
        "customer": customer.name if customer else "",
        "notes": [e.text for e in wo.timeline if e.kind == "note"],
        "parts": [{"name": p.name, "sku": p.sku, "qty": quantity(p.qty)} for p in parts],
        "time": duration_text(seconds) if seconds else None,
        "lines": [
            {"description": line.description, "amount": amount(line.amount)} for line in draft.lines
        ],
        "tax": amount(draft.tax),
        "total": amount(draft.total),
        "currency": draft.currency,
    }


async def submit_signature(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = request.match_info["token"]
    try:
        raw, signer = await _read_signature(request)
        png = await asyncio.to_thread(clean_png, raw)
    except BadSignature as err:
        raise ApiError(400, "bad_signature", str(err)) from None
    except (ValueError, AssertionError, HttpProcessingError):  # a malformed multipart body
        raise ApiError(400, "bad_request", "the upload could not be read") from None
    async with services.uow() as uow:
        now = services.clock.now()
        billing = BillingRepository(uow.session)
        link = await billing.check_signoff_link(token, now, lock=True)
        if (problem := _link_problem(link)) is not None or link is None:
            problem = problem or UNKNOWN
            raise ApiError(problem.status, "link_not_usable", problem.text)
        wo = await uow.work_orders.get(link.work_order_seq, lock=True)
        if wo is None or not wo.can_become(Status.SIGNED_OFF):
            raise ApiError(NOT_WAITING.status, "not_waiting", NOT_WAITING.text)
        settings = (await uow.company.load()).settings
        media_dir = services.settings.media_dir
        if not signer:
            customer = await uow.company.customer(wo.customer_id)
            signer = customer.name if customer else wo.customer_id
        signoff = SignOff(
            at=now,
            channel="web",
            method="signature",
            signer=signer,
            ip=request.remote,
            user_agent=request.headers.get("User-Agent"),
            image_path=await asyncio.to_thread(store_signature, media_dir, wo.number, png),
        )
        try:
            invoice = await sign_off(wo, signoff, settings, billing, uow.work_orders, token=token)
            await announce_web_signoff(uow, services.bot_deps(), wo)
            await uow.commit()
        except BaseException:
            (media_dir / str(signoff.image_path)).unlink(missing_ok=True)  # all or nothing
            raise
    return web.json_response({"ok": True, "work_order": wo.number, "invoice": invoice.number})


async def _read_signature(request: web.Request) -> tuple[bytes, str]:
    """The PNG and the typed name, from a multipart upload or a data URL (form or JSON)."""
    png, name = b"", ""
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "signature":
                png = await _read_limited(part)
            elif part.name == "image":
                png = from_data_url(
                    (await _read_limited(part, 2 * MAX_BYTES)).decode("ascii", "replace")
                )
            elif part.name == "name":
                name = (await _read_limited(part, 4 * MAX_SIGNER)).decode("utf-8", "replace")
        return png, name.strip()[:MAX_SIGNER]
    if request.content_type == "application/json":
        try:
            data: Any = await request.json()
        except ValueError:
            raise BadSignature("the body is not valid JSON") from None
        fields = data if isinstance(data, dict) else {}
    else:
        fields = dict(await request.post())
    image, typed = fields.get("image"), fields.get("name")
    if not isinstance(image, str):
        raise BadSignature("send the signature as multipart or as a PNG data URL in 'image'")
    if isinstance(typed, str):
        name = typed
    return from_data_url(image), name.strip()[:MAX_SIGNER]


async def _read_limited(part: BodyPartReader, limit: int = MAX_BYTES) -> bytes:
    """A part's bytes, refused past the limit (multipart bypasses aiohttp's body limit)."""
    data = bytearray()
    while chunk := await part.read_chunk():
        data += chunk
        if len(data) > limit:
            raise BadSignature(f"the {part.name} field is too large")
    return bytes(data)


async def get_invoice(request: web.Request) -> web.Response:
    await authorize(request)
    text = request.match_info["number"]
    as_pdf = text.lower().endswith(".pdf")
    parsed = parse_number(text[:-4] if as_pdf else text)
    if parsed is None:
        raise ApiError(404, "not_found", "no such invoice")
    number = format_invoice_number(*parsed)
    services = request.app[SERVICES]
    async with services.uow() as uow:
        invoice = await BillingRepository(uow.session).get_invoice(number)
        if invoice is None:
            raise ApiError(404, "not_found", f"no invoice {number}")
        if as_pdf:
            return await _pdf(uow, invoice)
        directory = Directory(await uow.company.load())
    return web.json_response(invoice_json(invoice, directory, services.settings.public_base_url))


async def customer_invoice(request: web.Request) -> web.Response:
    """The customer's link from the sign-off message: the PDF, while the link lives."""
    services = request.app[SERVICES]
    async with services.uow() as uow:
        invoice = await BillingRepository(uow.session).invoice_by_link(
            request.match_info["token"], services.clock.now()
        )
        if invoice is None:
            return _problem_page(EXPIRED_INVOICE_LINK)
        response = await _pdf(uow, invoice)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def _pdf(uow: SqlUnitOfWork, invoice: Invoice) -> web.Response:
    directory = Directory(await uow.company.load())
    wo = await uow.work_orders.get(invoice.work_order_seq)
    customer = directory.customers.get(invoice.customer_id)
    parties = InvoiceParties(
        company=directory.company.settings.name,
        customer=customer.name if customer else invoice.customer_id,
        address=_site_address(wo, directory),
        zone=directory.zone,
    )
    body = await asyncio.to_thread(render_invoice_pdf, invoice, parties)
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{invoice.number}.pdf"'},
    )


def _site_address(wo: WorkOrder | None, d: Directory) -> str | None:
    site = d.sites.get(wo.site_id) if wo is not None and wo.site_id else None
    return site.address if site else None


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/sign/{token}", sign_page)
    r.add_post("/sign/{token}", submit_signature)
    r.add_get("/api/v1/invoices/{number}", get_invoice)
    r.add_get("/invoice/{token}", customer_invoice)
