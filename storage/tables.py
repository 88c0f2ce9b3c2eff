"""The schema: one declarative class per table. Repositories map rows to domain objects."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import Money, UTCDateTime

Json = dict[str, Any]


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, the same on both databases."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


_SENT = _where("sent_at IS NOT NULL")
# An outbox row a worker holds. Written out, not bound: SQLite uses a partial index only for
# a query that names its condition as written (storage.outbox_repo.IN_FLIGHT).
OUTBOX_HELD = ("claimed", "sending")
OUTBOX_IN_FLIGHT = "status IN ({})".format(", ".join(f"'{s}'" for s in OUTBOX_HELD))


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        Decimal: Money(),
        Json: JSON(),
    }


# --- the company -------------------------------------------------------------------------


class CompanyRow(Base):
    """Company-wide settings; one row (id 1)."""

    __tablename__ = "company"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    settings: Mapped[Json]  # money, hours, depot, auto_assign, assignment weights


class SkillRow(Base):
    __tablename__ = "skills"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[list[str]] = mapped_column(JSON)
    duration_minutes: Mapped[int]
    requires: Mapped[Json]


class CertificationRow(Base):
    __tablename__ = "certifications"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class ToolRow(Base):
    __tablename__ = "tools"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class PartRow(Base):
    __tablename__ = "parts"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal]


class TerritoryRow(Base):
    __tablename__ = "territories"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    zips: Mapped[list[str]] = mapped_column(JSON)


class PriorityRow(Base):
    __tablename__ = "priorities"
    id: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[list[str]] = mapped_column(JSON)


class ContractRow(Base):
    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    response_hours: Mapped[Json]


class TechnicianRow(Base):
    __tablename__ = "technicians"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    telegram: Mapped[str | None] = mapped_column(String(64))
    prefers: Mapped[str] = mapped_column(String(16))
    skills: Mapped[Json]
    certifications: Mapped[list[Json]] = mapped_column(JSON)
    tools: Mapped[list[str]] = mapped_column(JSON)
    territories: Mapped[list[str]] = mapped_column(JSON)
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    shifts: Mapped[Json]
    leave: Mapped[list[Json]] = mapped_column(JSON)
    max_jobs_per_day: Mapped[int]
    # Set by `/off` and `/on`; not part of the company file.
    available: Mapped[bool] = mapped_column(Boolean, default=True)


class VanStockRow(Base):
    __tablename__ = "van_stock"
    technician_id: Mapped[str] = mapped_column(
        ForeignKey("technicians.id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(ForeignKey("parts.sku"), primary_key=True)
    qty: Mapped[int]


class DispatcherRow(Base):
    __tablename__ = "dispatchers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    telegram: Mapped[str | None] = mapped_column(String(64))


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    preferred_technicians: Mapped[list[str]] = mapped_column(JSON)
    excluded_technicians: Mapped[list[str]] = mapped_column(JSON)


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    zip: Mapped[str | None] = mapped_column(String(10))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    geocoded_from_zip: Mapped[bool] = mapped_column(Boolean, default=False)
    access_window: Mapped[str | None] = mapped_column(String(11))
    access_notes: Mapped[str | None] = mapped_column(Text)
    safety_notes: Mapped[str | None] = mapped_column(Text)


class EquipmentRow(Base):
    __tablename__ = "equipment"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    type: Mapped[str] = mapped_column(String(200))
    skill_id: Mapped[str | None] = mapped_column(ForeignKey("skills.id"))
    make: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    serial: Mapped[str | None] = mapped_column(String(200))
    installed: Mapped[date | None] = mapped_column(Date)
    pm_interval_days: Mapped[int | None]
    last_pm: Mapped[date | None] = mapped_column(Date)
    requires: Mapped[Json]


# --- work orders --------------------------------------------------------------------------


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    # Every query a request or the worker sends narrows by something a year of history does
    # not grow: the day (status and planned start), the technician's or the customer's open
    # work. Single-column indexes on status, technician or customer made the day read, a
    # technician's queue and a customer's open work orders visit every finished job ever.
    __table_args__ = (
        Index("ix_work_orders_status_planned", "status", "planned_start"),
        Index("ix_work_orders_planned_start", "planned_start"),
        Index("ix_work_orders_technician_status", "technician_id", "status"),
        Index("ix_work_orders_customer_status", "customer_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(2), index=True)
    skill_id: Mapped[str | None] = mapped_column(ForeignKey("skills.id"))
    description: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"))
    equipment_id: Mapped[str | None] = mapped_column(ForeignKey("equipment.id"))
    technician_id: Mapped[str | None] = mapped_column(ForeignKey("technicians.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    sla_due_at: Mapped[datetime | None]
    wants_start: Mapped[datetime | None]
    wants_end: Mapped[datetime | None]
    source_channel: Mapped[str] = mapped_column(String(16))
    flag_reason: Mapped[str | None] = mapped_column(Text)
    flagged_at: Mapped[datetime | None]
    # The technician's day plan: order and planned times (null when not planned).
    plan_position: Mapped[int | None]
    planned_start: Mapped[datetime | None]
    planned_end: Mapped[datetime | None]
    # Deadlines as data, swept by the worker.
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # overrun
    sla_stage: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 50 80 100
    lone_check_due_at: Mapped[datetime | None]


class TimelineRow(Base):
    __tablename__ = "timeline_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[Json | None] = mapped_column(JSON)


class PhotoRow(Base):
    """A photo (or PDF) attached to a work order, stored under MEDIA_DIR."""

    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(300))  # relative to MEDIA_DIR
    content_type: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    sent_by: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class OfferRow(Base):
    """A job offered to one technician until it expires (data, not a sleeping task)."""

    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_live", "status", "expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    technician_id: Mapped[str] = mapped_column(ForeignKey("technicians.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # live accepted declined expired withdrawn
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    failover_at: Mapped[datetime | None]  # re-sent by SMS when still unanswered then
    answered_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class DecisionRow(Base):
    """Every assignment decision with its explanation: chosen, runners-up, excluded and why."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # offer flag assign bump replan override
    actor: Mapped[str] = mapped_column(String(100))
    technician_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[Json]


class SequenceRow(Base):
    """Human numbers (WO-1001, INV-2026-0001) handed out under a row lock."""

    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int]


# --- messaging ----------------------------------------------------------------------------


class InboundRow(Base):
    """Every inbound payload, stored before we answer 200; the unique key makes replays no-ops."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbound_sender", "channel", "sender", "received_at"),
        # The worker's sweep for messages a dead process left: only those not yet processed
        # (partial: a message handled leaves it; migration 0011).
        Index(
            "ix_inbound_unprocessed",
            "processed_at",  # always NULL here, but the planner then reads the index by it
            "claimed_until",
            **_where("processed_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    payload: Mapped[str] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # Who is handling it until when: a process that dies mid-way leaves it to be taken again.
    claimed_until: Mapped[datetime | None]


class OutboxRow(Base):
    """A message to deliver, written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "due_at"),
        # Pacing: the sends of the last seconds, per recipient and per channel. Only sent
        # messages are in these (partial; migration 0011): a message queued is not.
        Index("ix_outbox_recipient_sent", "channel", "recipient", "sent_at", **_SENT),
        Index("ix_outbox_channel_sent", "channel", "sent_at", **_SENT),
        # Pacing also counts what is in flight, per recipient and per channel: neither count
        # may walk the channel's whole history, and a message queued is not in it.
        Index("ix_outbox_in_flight", "channel", "status", "recipient", **_where(OUTBOX_IN_FLIGHT)),
        # A delivery receipt's message, by the id its channel gave it when it was sent.
        Index("ix_outbox_external_id", "external_id", **_where("external_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[Json]
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(64))
    delivery_status: Mapped[str | None] = mapped_column(String(32))
    # While a worker holds the row: another may take it over once this passes (a crash).
    claimed_until: Mapped[datetime | None]
    # Where to re-send when the first channel refuses (a technician's Telegram → SMS).
    fallback_channel: Mapped[str | None] = mapped_column(String(16))
    fallback_recipient: Mapped[str | None] = mapped_column(String(64))


class IdentityRow(Base):
    """Who is behind a phone number or a Telegram user: customer, technician or dispatcher."""

    __tablename__ = "identities"
    # By address (who wrote), and by role and party (who to tell): not every customer's.
    __table_args__ = (
        UniqueConstraint("channel", "address"),
        Index("ix_identities_role_party", "role", "party_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | telegram
    address: Mapped[str] = mapped_column(String(64))  # E.164 phone or Telegram user id
    role: Mapped[str] = mapped_column(String(16))  # customer | technician | dispatcher
    party_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class ConversationRow(Base):
    """Where a conversation stands, per channel address: state in the database, not in memory."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), default="idle")
    data: Mapped[Json] = mapped_column(JSON, default=dict)
    work_order_seq: Mapped[int | None]
    updated_at: Mapped[datetime]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | dispatcher | technician
    party_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
