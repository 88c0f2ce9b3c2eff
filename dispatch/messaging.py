"""Who is behind a channel address, and where their conversation stands (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("customer", "technician", "dispatcher")


@dataclass(frozen=True, slots=True)
class Identity:
    channel: str  # sms | telegram | sim
    address: str  # E.164 phone, or Telegram user id
    role: str  # customer | technician | dispatcher
    party_id: str  # customer, technician or dispatcher id ("" for a stranger's opt-out)
    username: str | None = None
    opted_out: bool = False


@dataclass
class Conversation:
    """One person on one channel. Mutable; the repository saves it with the transaction."""

    channel: str
    address: str
    state: str = "idle"
    data: dict[str, Any] = field(default_factory=dict)
    work_order_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Fallback:
    """Where to re-send when the first channel refuses (blocked bot, network failure)."""

    channel: str
    recipient: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One message for the outbox, when several go in at once (every dispatcher)."""

    channel: str
    recipient: str
    payload: dict[str, Any]
    kind: str = "message"
    work_order_id: int | None = None
    fallback: Fallback | None = None
