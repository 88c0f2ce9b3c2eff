"""What happens to a message that cannot go where it was meant to: failover or, for an
opted-out number, suppression and a word to the dispatchers. Runs inside the caller's
transaction, so the new rows and the end of the old one commit together."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.messages import Outgoing
from dispatch.messaging import Fallback
from dispatch.workorder import format_number
from storage.outbox_repo import OutboxRepository


def mask_phone(number: str) -> str:
    """+15125550142 → +1••••••0142: enough for a dispatcher to recognize, not to copy."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return "•" * len(digits)
    prefix = "+" if number.startswith("+") else ""
    return f"{prefix}{digits[0]}{'•' * (len(digits) - 5)}{digits[-4:]}"


async def fail_over(
    repo: OutboxRepository,
    fallback: Fallback,
    payload: dict[str, Any],
    *,
    kind: str,
    work_order_id: int | None,
    now: datetime,
) -> int:
    """The same message again on the fallback channel, due now."""
    clean = {k: v for k, v in payload.items() if not k.startswith("_")}
    return await repo.add(
        fallback.channel,
        fallback.recipient,
        clean,
        now=now,
        kind=kind,
        work_order_id=work_order_id,
    )


async def tell_dispatchers_opted_out(
    repo: OutboxRepository,
    phone: str,
    *,
    kind: str,
    work_order_id: int | None,
    now: datetime,
) -> int:
    """One alert to every dispatcher that an SMS to `phone` was not sent. Alerts about alerts
    are not raised: an opted-out dispatcher would otherwise start an endless chain."""
    if kind == "alert":
        return 0
    seq = await repo.work_order_number(work_order_id)
    about = f" about {format_number(seq)}" if seq is not None else ""
    text = (
        f"The SMS to {mask_phone(phone)}{about} was not sent: that number opted out of texts"
        " (STOP). Please reach them another way."
    )
    payload = Outgoing(text=text, kind="alert").to_json()
    count = 0
    for channel, address, fallback in await repo.dispatcher_addresses():
        if channel == "sms" and address == phone:
            continue
        await repo.add(
            channel,
            address,
            payload,
            now=now,
            kind="alert",
            work_order_id=work_order_id,
            fallback=fallback,
        )
        count += 1
    return count
