"""Twilio delivery receipts (`POST /webhooks/twilio/status`) onto the outbox row they report.

Callbacks may arrive out of order (delivered before sent); a later stage is never replaced
by an earlier one. The caller commits.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.sms import UNSUBSCRIBED
from storage.messaging_repo import IdentityRepository
from storage.outbox_repo import OutboxRepository

_STAGE = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
}


async def record_status_callback(
    session: AsyncSession,
    message_sid: str,
    status: str,
    error_code: str | int | None,
    *,
    now: datetime | None = None,
) -> bool:
    """Record the delivery status; False when no outbox row has this MessageSid.
    `now` dates an opt-out identity made here (a number we knew nothing else about)."""
    row = await OutboxRepository(session).by_external_id("sms", message_sid)
    if row is None:
        return False
    status = status.strip().lower()
    if _STAGE.get(status, 0) >= _STAGE.get(row.delivery_status or "", -1):
        row.delivery_status = status
    code = str(error_code).strip() if error_code not in (None, "") else None
    if code is not None:
        row.last_error = f"Twilio {code}: delivery {status}"
        if code == str(UNSUBSCRIBED):
            when = now or datetime.now(UTC)
            await IdentityRepository(session).set_opted_out(row.recipient, True, when)
    await session.flush()
    return True
