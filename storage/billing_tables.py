"""Tables for what a job costs and who accepted it: time, parts, sign-off, invoices (§3, §7)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class TimeEntryRow(Base):
    """Time a technician spent on a job: on the tools (work) or driving (travel)."""

    __tablename__ = "time_entries"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    technician_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # work | travel
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]  # null while the clock runs
    note: Mapped[str | None] = mapped_column(Text)


class PartUsedRow(Base):
    """A part fitted on a job, with the catalog price of that moment (prices change later)."""

    __tablename__ = "parts_used"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    technician_id: Mapped[str | None] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    at: Mapped[datetime]


class SignoffRow(Base):
    """The customer's acceptance of a job: at most one per work order."""

    __tablename__ = "signoffs"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), unique=True
    )
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))  # code | button | signature
    signer: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    image_path: Mapped[str | None] = mapped_column(String(300))  # relative to MEDIA_DIR


class SignoffLinkRow(Base):
    """A sign-off request: the page token (stored hashed) and the per-job reply code."""

    __tablename__ = "signoff_links"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class InvoiceRow(Base):
    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    # No cascade: an issued invoice outlives anything done to its work order.
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), unique=True)
    issued_at: Mapped[datetime] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal]
    tax: Mapped[Decimal]
    total: Mapped[Decimal]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class InvoiceLinkRow(Base):
    """A customer's link to their invoice: the token stored hashed, expiring."""

    __tablename__ = "invoice_links"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
