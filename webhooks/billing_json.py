"""Billing parts of the work-order record as JSON (§3): parts, time entries, sign-off, invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dispatch.signoff import SignOff
from storage.billing_repo import Invoice, PartUseRecord, TimeEntryRecord
from webhooks.records import Directory


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


def quantity(value: Decimal) -> str:
    return format(value.normalize(), "f")


def invoice_path(number: str, *, pdf: bool = False) -> str:
    return f"/api/v1/invoices/{number}" + (".pdf" if pdf else "")


def invoice_json(invoice: Invoice, d: Directory, base_url: str) -> dict[str, Any]:
    customer = d.customers.get(invoice.customer_id)
    return {
        "number": invoice.number,
        "work_order": invoice.work_order,
        "customer": {
            "id": invoice.customer_id,
            "name": customer.name if customer else None,
        },
        "issued_at": d.iso(invoice.issued_at),
        "currency": invoice.currency,
        "lines": [
            {
                "kind": line.kind,
                "description": line.description,
                "qty": quantity(line.qty),
                "unit_price": amount(line.unit_price),
                "amount": amount(line.amount),
            }
            for line in invoice.lines
        ],
        "subtotal": amount(invoice.subtotal),
        "tax": amount(invoice.tax),
        "total": amount(invoice.total),
        "pdf": base_url + invoice_path(invoice.number, pdf=True),
    }


def invoice_summary_json(invoice: Invoice | None, base_url: str) -> dict[str, Any] | None:
    """The record's `invoice` field: null or `{number, total, url}`."""
    if invoice is None:
        return None
    return {
        "number": invoice.number,
        "total": amount(invoice.total),
        "url": base_url + invoice_path(invoice.number),
    }


def parts_json(parts: list[PartUseRecord]) -> list[dict[str, Any]]:
    return [
        {"sku": p.sku, "name": p.name, "qty": quantity(p.qty), "unit_price": amount(p.unit_price)}
        for p in parts
    ]


def time_entries_json(entries: list[TimeEntryRecord], d: Directory) -> list[dict[str, Any]]:
    return [
        {
            "technician_id": e.technician_id,
            "kind": e.kind,
            "start": d.iso(e.started_at),
            "end": d.iso(e.ended_at),
            "note": e.note,
        }
        for e in entries
    ]


def signoff_json(signoff: SignOff | None, d: Directory) -> dict[str, Any] | None:
    """The record's `signoff` field: null or `{at, channel, method}`."""
    if signoff is None:
        return None
    return {"at": d.iso(signoff.at), "channel": signoff.channel, "method": signoff.method}
