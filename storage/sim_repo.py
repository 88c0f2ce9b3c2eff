"""The simulator's view: what each simulated phone sent and received, oldest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import InboundRow, OutboxRow


@dataclass(frozen=True, slots=True)
class SimMessage:
    id: str
    at: datetime
    direction: str  # "in": the phone sent it; "out": the phone received it
    text: str
    choices: tuple[str, ...] = ()


async def conversation(session: AsyncSession, phone: str, limit: int = 100) -> list[SimMessage]:
    sent = await session.scalars(
        select(InboundRow)
        .where(InboundRow.channel == "sim", InboundRow.sender == phone)
        .order_by(InboundRow.id.desc())
        .limit(limit)
    )
    got = await session.scalars(
        select(OutboxRow)
        .where(OutboxRow.channel == "sim", OutboxRow.recipient == phone)
        .order_by(OutboxRow.id.desc())
        .limit(limit)
    )
    out: list[SimMessage] = []
    for row in sent:
        try:
            text = str(json.loads(row.payload).get("text", ""))
        except (ValueError, AttributeError):
            text = ""
        out.append(SimMessage(f"i{row.id}", row.received_at, "in", text))
    for o in got:
        choices = tuple(str(c.get("reply") or c.get("label")) for c in o.payload.get("choices", []))
        out.append(
            SimMessage(f"o{o.id}", o.created_at, "out", str(o.payload.get("text", "")), choices)
        )
    out.sort(key=lambda m: (m.at, m.id))
    return out[-limit:]
