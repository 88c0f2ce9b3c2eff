"""The outbox: messages written in the same transaction as the change they report.

A message's life: pending (due at `due_at`) → claimed (a worker holds it until
`claimed_until`) → sending (the request is on its way) → sent | pending again (retry later)
| failed | suppressed (an opted-out number) | failed_over (re-sent on the fallback channel).
A claim that outlives its `claimed_until` belongs to a worker that died: the row is due again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.messaging import Fallback as Fallback
from dispatch.messaging import NewMessage
from storage.core import connection
from storage.tables import OUTBOX_HELD, DispatcherRow, IdentityRow, OutboxRow, WorkOrderRow

WAITING = ("pending", "claimed", "sending")
HELD = OUTBOX_HELD
# The in-flight index's condition as written (a partial index: storage.tables).
IN_FLIGHT = OutboxRow.status.in_([literal_column(f"'{s}'") for s in HELD])
# In the payload of a message retried after an attempt whose outcome is unknown (a timeout,
# an answer lost): when that attempt started, so the next one can look for it first.
IN_DOUBT_KEY = "_in_doubt_since"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A claimed row, as the worker needs it."""

    id: int
    channel: str
    recipient: str
    kind: str
    payload: dict[str, Any]
    work_order_id: int | None
    attempts: int
    fallback: Fallback | None
    claimed_until: datetime  # the claim's token: updates check it is still ours
    in_doubt: bool  # an earlier attempt may have gone out (its answer was lost)
    last_attempt: datetime | None  # when that attempt started


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    oldest_age_seconds: float


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        channel: str,
        recipient: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        kind: str = "message",
        work_order_id: int | None = None,
        due_at: datetime | None = None,
        fallback: Fallback | None = None,
    ) -> int:
        # A plain INSERT, not a unit-of-work object: nothing reads the row back here.
        message = NewMessage(channel, recipient, payload, kind, work_order_id, fallback)
        row_id = await (await connection(self.session)).scalar(
            _INSERT_ONE, _values(message, now, due_at or now)
        )
        assert row_id is not None
        return int(row_id)

    async def add_many(self, messages: list[NewMessage], *, now: datetime) -> None:
        """Several messages in one statement, in this order (the order they go out in)."""
        if messages:
            await (await connection(self.session)).later(
                _INSERT_MANY, [_values(m, now, now) for m in messages]
            )

    # --- claiming (one transaction) -------------------------------------------------------

    async def lock_due(self, now: datetime, limit: int) -> list[OutboxRow]:
        """Due rows, locked for this transaction; rows another worker holds are skipped
        (PostgreSQL). SQLite has no row locks: its one writer at a time does the same."""
        stmt = (
            select(OutboxRow)
            .where(
                or_(
                    and_(OutboxRow.status == "pending", OutboxRow.due_at <= now),
                    and_(OutboxRow.status.in_(HELD), OutboxRow.claimed_until < now),
                )
            )
            .order_by(OutboxRow.due_at, OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(stmt))

    async def last_activity(
        self, channel: str, recipients: Iterable[str], now: datetime, window: timedelta
    ) -> dict[str, datetime]:
        """Per recipient, the latest send within `window`; a row held by a live claim counts
        as a send now (it is about to go)."""
        wanted = sorted(set(recipients))
        if not wanted:
            return {}
        latest: dict[str, datetime] = {}
        sent = await self.session.execute(
            select(OutboxRow.recipient, func.max(OutboxRow.sent_at))
            .where(
                OutboxRow.channel == channel,
                OutboxRow.recipient.in_(wanted),
                OutboxRow.sent_at > now - window,
            )
            .group_by(OutboxRow.recipient)
        )
        for recipient, at in sent:
            if at is not None:
                latest[recipient] = at
        held = await self.session.scalars(
            select(OutboxRow.recipient).where(
                OutboxRow.channel == channel,
                OutboxRow.recipient.in_(wanted),
                IN_FLIGHT,
                OutboxRow.claimed_until >= now,
            )
        )
        for recipient in held:
            latest[recipient] = max(latest.get(recipient, now), now)
        return latest

    async def count_active(self, channel: str, now: datetime, window: timedelta) -> int:
        """Sends on `channel` within `window`, plus rows held by a live claim. Two counts,
        each on its own index: as one OR they walked every message the channel ever sent."""
        since = now - window
        recent = (
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.channel == channel, OutboxRow.sent_at > since)
            .scalar_subquery()
        )
        held = (
            select(func.count())
            .select_from(OutboxRow)
            .where(
                OutboxRow.channel == channel,
                IN_FLIGHT,
                OutboxRow.claimed_until >= now,
                or_(OutboxRow.sent_at.is_(None), OutboxRow.sent_at <= since),  # not twice
            )
            .scalar_subquery()
        )
        count = await self.session.scalar(select(recent + held))
        return int(count or 0)

    async def opted_out(self, phones: Iterable[str]) -> set[str]:
        wanted = sorted(set(phones))
        if not wanted:
            return set()
        rows = await self.session.scalars(
            select(IdentityRow.address).where(
                IdentityRow.channel == "sms",
                IdentityRow.address.in_(wanted),
                IdentityRow.opted_out.is_(True),
            )
        )
        return set(rows)

    @staticmethod
    def claim(row: OutboxRow, until: datetime) -> OutboxMessage:
        doubt = row.sent_at if row.status == "sending" else None
        if doubt is None and IN_DOUBT_KEY in row.payload:
            doubt = datetime.fromisoformat(str(row.payload[IN_DOUBT_KEY]))
        message = OutboxMessage(
            id=row.id,
            channel=row.channel,
            recipient=row.recipient,
            kind=row.kind,
            payload=dict(row.payload),
            work_order_id=row.work_order_id,
            attempts=row.attempts,
            fallback=_fallback(row),
            claimed_until=until,
            in_doubt=doubt is not None,
            last_attempt=doubt,
        )
        row.status, row.claimed_until = "claimed", until
        return message

    # --- one message (short transactions) ----------------------------------------------------

    async def begin_attempt(self, message: OutboxMessage, now: datetime) -> bool:
        """Mark the request as on its way; False when the claim is no longer ours."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(*_ours(message), OutboxRow.status == "claimed")
            .values(status="sending", sent_at=now)
        )
        return _changed(result)

    async def record_sent(
        self,
        message: OutboxMessage,
        now: datetime,
        external_id: str | None,
        delivery_status: str | None = None,
    ) -> bool:
        result = await self.session.execute(
            update(OutboxRow)
            .where(*_ours(message))
            .values(
                status="sent",
                sent_at=now,
                external_id=external_id,
                delivery_status=delivery_status,
                attempts=message.attempts + 1,
                last_error=None,
                claimed_until=None,
            )
        )
        return _changed(result)

    async def reschedule(
        self,
        message: OutboxMessage,
        due_at: datetime,
        error: str,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        values: dict[str, Any] = {
            "status": "pending",
            "due_at": due_at,
            "attempts": message.attempts + 1,
            "last_error": error,
            "claimed_until": None,
        }
        if payload is not None:
            values["payload"] = payload
        result = await self.session.execute(
            update(OutboxRow).where(*_ours(message)).values(**values)
        )
        return _changed(result)

    async def finish(self, message: OutboxMessage, status: str, error: str | None) -> bool:
        """End a message unsent: failed, suppressed or failed_over."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(*_ours(message))
            .values(
                status=status,
                attempts=message.attempts + 1,
                last_error=error,
                claimed_until=None,
            )
        )
        return _changed(result)

    async def finish_unclaimed(self, row: OutboxRow, status: str, error: str) -> None:
        """End a locked, unclaimed row (an SMS to an opted-out number is never attempted)."""
        row.status, row.last_error, row.claimed_until = status, error, None

    # --- lookups ----------------------------------------------------------------------------

    async def known_external_ids(self, channel: str, recipient: str) -> set[str]:
        rows = await self.session.scalars(
            select(OutboxRow.external_id).where(
                OutboxRow.channel == channel,
                OutboxRow.recipient == recipient,
                OutboxRow.external_id.is_not(None),
            )
        )
        return {r for r in rows if r is not None}

    async def by_external_id(self, channel: str, external_id: str) -> OutboxRow | None:
        return (
            await self.session.scalars(
                select(OutboxRow)
                .where(OutboxRow.channel == channel, OutboxRow.external_id == external_id)
                .with_for_update()
            )
        ).first()

    async def work_order_number(self, work_order_id: int | None) -> int | None:
        if work_order_id is None:
            return None
        return await self.session.scalar(
            select(WorkOrderRow.seq).where(WorkOrderRow.id == work_order_id)
        )

    async def dispatcher_addresses(self) -> list[tuple[str, str, Fallback | None]]:
        """Where each dispatcher is reached: (channel, recipient, fallback). Telegram when
        they linked it (SMS as the fallback), else SMS."""
        dispatchers = list(
            await self.session.scalars(select(DispatcherRow).order_by(DispatcherRow.id))
        )
        linked = await self.session.execute(
            select(IdentityRow.party_id, IdentityRow.address)
            .where(IdentityRow.channel == "telegram", IdentityRow.role == "dispatcher")
            .order_by(IdentityRow.id)
        )
        telegram = {party: address for party, address in linked}
        addresses: list[tuple[str, str, Fallback | None]] = []
        for dispatcher in dispatchers:
            chat = telegram.get(dispatcher.id)
            if chat is not None:
                addresses.append(("telegram", chat, Fallback("sms", dispatcher.phone)))
            else:
                addresses.append(("sms", dispatcher.phone, None))
        return addresses

    async def stats(self, now: datetime) -> OutboxStats:
        """Messages waiting, and the age of the oldest (for /metrics)."""
        row = (
            await self.session.execute(
                select(func.count(), func.min(OutboxRow.created_at)).where(
                    OutboxRow.status.in_(WAITING)
                )
            )
        ).one()
        depth, oldest = int(row[0] or 0), row[1]
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return OutboxStats(depth, age)


def _ours(message: OutboxMessage) -> tuple[Any, ...]:
    return (OutboxRow.id == message.id, OutboxRow.claimed_until == message.claimed_until)


def _changed(result: Any) -> bool:
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _fallback(row: OutboxRow) -> Fallback | None:
    if row.fallback_channel and row.fallback_recipient:
        return Fallback(row.fallback_channel, row.fallback_recipient)
    return None


def _values(m: NewMessage, now: datetime, due_at: datetime) -> dict[str, Any]:
    """An outbox row, pending, for a message."""
    return {
        "channel": m.channel,
        "recipient": m.recipient,
        "kind": m.kind,
        "payload": m.payload,
        "work_order_id": m.work_order_id,
        "created_at": now,
        "due_at": due_at,
        "status": "pending",
        "attempts": 0,
        "fallback_channel": m.fallback.channel if m.fallback else None,
        "fallback_recipient": m.fallback.recipient if m.fallback else None,
    }


_TABLE = OutboxRow.metadata.tables["outbox"]
_INSERT_MANY = insert(_TABLE)
_INSERT_ONE = insert(_TABLE).returning(_TABLE.c.id)
