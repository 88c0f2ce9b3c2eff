"""A company's past, added straight to the database: finished work orders on past days,
customers' chats, handled and sent messages. What a year of running adds to the tables a request
reads, for the test and the benchmark that check a request does not read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import IdentityRow, InboundRow, OutboxRow, WorkOrderRow

# Signed off and invoiced: a job left "completed" waits for the customer's sign-off, which a
# year-old job does not, and the customer's next text would be read as the answer to it.
FINISHED = ("invoiced",) * 9 + ("signed_off",)
FIRST_SEQ = 500_000  # far above what the tests and benchmarks number


@dataclass(frozen=True)
class History:
    work_orders: int = 5_000
    identities: int = 3_000  # other customers' chats
    messages: int = 5_000  # handled inbound messages
    sent: int = 5_000  # delivered outbound messages
    days: int = 300


async def add_history(
    engine: AsyncEngine,
    now: datetime,
    technicians: Sequence[str],
    customers: Sequence[str],
    history: History = History(),
    recipients: Sequence[str] = (),
) -> None:
    """Finished work orders spread over the `days` before `now` among the given (existing)
    technicians and customers, in one transaction with the chats and messages; the sent SMS
    went to `recipients` (the other customers' numbers if none)."""
    orders = []
    for i in range(history.work_orders):
        day = now - timedelta(days=1 + i % history.days, hours=i % 9)
        orders.append(
            {
                "seq": FIRST_SEQ + i,
                "status": FINISHED[i % len(FINISHED)],
                "priority": "P3",
                "description": "past job",
                "customer_id": customers[i % len(customers)],
                "technician_id": technicians[i % len(technicians)],
                "created_at": day,
                "source_channel": "sms",
                "planned_start": day,
                "planned_end": day + timedelta(hours=1),
            }
        )
    # +1 915 555 ....: an area code no demo or generated customer uses.
    others = [f"+1915555{i:04d}" for i in range(history.identities)]
    identities = [
        {
            "channel": "sms",
            "address": others[i],
            "role": "customer",
            "party_id": f"CX{i:05d}",
            "created_at": now,
        }
        for i in range(history.identities)
    ]

    def ago(i: int) -> datetime:
        """The i-th past message's day, spread over the `days` before `now`."""
        return now - timedelta(days=1 + i % history.days)

    messages = [
        {
            "channel": "sms",
            "external_id": f"SMpast{i:028d}",
            "sender": f"+1915555{i % max(1, history.identities):04d}",
            "received_at": ago(i),
            "payload": "{}",
            "processed_at": ago(i),
        }
        for i in range(history.messages)
    ]
    to = list(recipients) or others or ["+19155550000"]
    sent = [  # half of them on Telegram, whose pacing counts the channel's last second
        {
            "channel": "sms" if i % 2 else "telegram",
            "recipient": to[i % len(to)] if i % 2 else str(700_000_000 + i % 500),
            "kind": "text",
            "payload": {"text": "past message"},
            "created_at": ago(i),
            "due_at": ago(i),
            "status": "sent",
            "attempts": 1,
            "sent_at": ago(i),
            "external_id": f"SMout{i:029d}",
            "delivery_status": "delivered",
        }
        for i in range(history.sent)
    ]
    async with engine.begin() as conn:
        for table, rows in (
            (WorkOrderRow, orders),
            (IdentityRow, identities),
            (InboundRow, messages),
            (OutboxRow, sent),
        ):
            for start in range(0, len(rows), 2_000):  # PostgreSQL: under 32,767 parameters
                await conn.execute(insert(table), rows[start : start + 2_000])
