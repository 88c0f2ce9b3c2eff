"""Inbound payloads (dedupe, rate counts), channel identities and conversation state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.messaging import Conversation, Identity
from storage.company_repo import VERSION_COLUMN, note_version
from storage.core import connection
from storage.tables import ConversationRow, IdentityRow, InboundRow

CLAIM = timedelta(seconds=30)  # how long a handler may take before another retakes it


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(
        self, channel: str, external_id: str, sender: str | None, payload: str, now: datetime
    ) -> bool:
        """Store the raw payload and take it for handling; False for a replay of a message
        already handled or being handled. A message whose handler died (its claim ran out
        unprocessed) is taken again, so a retry from the sender is not lost."""
        until = now + CLAIM
        postgres = self.session.get_bind().dialect.name == "postgresql"
        result = await (await connection(self.session)).execute(
            _STORE_PG if postgres else _STORE_SQLITE,
            {
                "channel": channel,
                "external_id": external_id,
                "sender": sender,
                "payload": payload,
                "received_at": now,
                "claimed_until": until,
            },
        )
        if result.first() is not None:
            return True
        retaken = await (await connection(self.session)).execute(
            _RETAKE,
            {"w_channel": channel, "w_external_id": external_id, "now": now, "until": until},
        )
        return retaken.first() is not None

    async def stranded(self, now: datetime, limit: int) -> list[tuple[str, str, str]]:
        """(channel, external_id, payload) of messages whose handler died before finishing."""
        rows = await self.session.execute(
            select(InboundRow.channel, InboundRow.external_id, InboundRow.payload)
            .where(InboundRow.processed_at.is_(None), InboundRow.claimed_until < now)
            .order_by(InboundRow.id)
            .limit(limit)
        )
        return [(c, e, p) for c, e, p in rows]

    async def mark_processed(
        self, channel: str, external_id: str, now: datetime, error: str | None = None
    ) -> None:
        await (await connection(self.session)).execute(
            _PROCESSED,
            {
                "w_channel": channel,
                "w_external_id": external_id,
                "processed": now,
                "failure": error,
            },
        )

    async def count_since(self, channel: str, sender: str, since: datetime) -> int:
        row = (
            await (await connection(self.session)).execute(
                _COUNT_SINCE, {"channel": channel, "sender": sender, "since": since}
            )
        ).one()
        note_version(self.session, row[1])
        return int(row[0] or 0)


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Rows read in this unit of work: one message asks for its sender two or three times.
        # Every change here goes through these row objects, so the memo cannot go stale.
        self._rows: dict[tuple[str, str], IdentityRow | None] = {}
        # Every dispatcher's rows, read with the first sender lookup (one query for both):
        # a new request ends by alerting them. None until then.
        self._dispatchers: list[IdentityRow] | None = None

    async def find(self, channel: str, address: str) -> Identity | None:
        row = await self._row(channel, address)
        return None if row is None else _identity(row)

    async def of_party(self, role: str, party_id: str) -> list[Identity]:
        rows = await self.session.scalars(
            select(IdentityRow)
            .where(IdentityRow.role == role, IdentityRow.party_id == party_id)
            .order_by(IdentityRow.id)
        )
        return [_identity(r) for r in rows]

    async def of_parties(self, role: str, party_ids: list[str]) -> dict[str, list[Identity]]:
        """of_party for several people at once (one query, or none for the dispatchers once
        the sender was looked up): every dispatcher, say."""
        rows: Iterable[IdentityRow]
        if role == "dispatcher" and self._dispatchers is not None:
            # The rows read then, and any linked since through this repository.
            known = {r.id: r for r in self._dispatchers}
            known.update((r.id, r) for r in self._rows.values() if r is not None)
            wanted = set(party_ids)
            rows = sorted(
                (r for r in known.values() if r.role == role and r.party_id in wanted),
                key=lambda r: r.id,
            )
        else:
            rows = await self.session.scalars(_OF_PARTIES, {"role": role, "party_ids": party_ids})
        out: dict[str, list[Identity]] = {p: [] for p in party_ids}
        for r in rows:
            out[r.party_id].append(_identity(r))
        return out

    async def link(
        self,
        channel: str,
        address: str,
        role: str,
        party_id: str,
        now: datetime,
        *,
        username: str | None = None,
    ) -> Identity:
        row = await self._row(channel, address)
        if row is None:
            row = IdentityRow(
                channel=channel,
                address=address,
                role=role,
                party_id=party_id,
                username=username,
                opted_out=False,
                created_at=now,
            )
            self.session.add(row)
            self._rows[(channel, address)] = row
        else:
            row.role, row.party_id = role, party_id
            row.username = username or row.username
        await self.session.flush()
        return _identity(row)

    async def set_opted_out(self, phone: str, opted_out: bool, now: datetime) -> None:
        """SMS opt-out is per number, whoever is behind it (a stranger too)."""
        row = await self._row("sms", phone)
        if row is None:
            row = IdentityRow(
                channel="sms",
                address=phone,
                role="customer",
                party_id="",
                opted_out=opted_out,
                created_at=now,
            )
            self.session.add(row)
            self._rows[("sms", phone)] = row
        row.opted_out = opted_out
        await self.session.flush()

    async def _row(self, channel: str, address: str) -> IdentityRow | None:
        key = (channel, address)
        if key not in self._rows and self._dispatchers is None:
            params = {"channel": channel, "address": address}
            found = list(await self.session.scalars(_IDENTITY_AND_DISPATCHERS, params))
            self._rows[key] = next(
                (r for r in found if r.channel == channel and r.address == address), None
            )
            self._dispatchers = [r for r in found if r.role == "dispatcher"]
        elif key not in self._rows:
            self._rows[key] = (
                await self.session.scalars(_IDENTITY, {"channel": channel, "address": address})
            ).first()
        return self._rows[key]


def _identity(row: IdentityRow) -> Identity:
    return Identity(
        channel=row.channel,
        address=row.address,
        role=row.role,
        party_id=row.party_id,
        username=row.username,
        opted_out=row.opted_out,
    )


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._ids: dict[tuple[str, str], int] = {}  # rows read or written here

    async def get(self, channel: str, address: str) -> Conversation:
        conn = await connection(self.session)
        row = (await conn.execute(_CONVERSATION, {"channel": channel, "address": address})).first()
        if row is None:
            return Conversation(channel=channel, address=address)
        self._ids[(channel, address)] = row.id
        return Conversation(
            channel=channel,
            address=address,
            state=row.state,
            data=dict(row.data or {}),
            work_order_seq=row.work_order_seq,
        )

    async def save(self, conv: Conversation, now: datetime) -> None:
        key = (conv.channel, conv.address)
        values = {
            "state": conv.state,
            "data": dict(conv.data),
            "work_order_seq": conv.work_order_seq,
            "updated_at": now,
        }
        conn = await connection(self.session)
        row_id = self._ids.get(key)
        if row_id is None:
            params = {"channel": conv.channel, "address": conv.address, **values}
            self._ids[key] = (await conn.execute(_NEW_CONVERSATION, params)).scalar_one()
        else:
            await conn.execute(_SAVE_CONVERSATION, {"row_id": row_id, **values})


# The statements of every inbound message, built once.
_STORE_SQLITE, _STORE_PG = (
    dialect.insert(InboundRow)
    .values(
        channel=bindparam("channel"),
        external_id=bindparam("external_id"),
        sender=bindparam("sender"),
        payload=bindparam("payload"),
        received_at=bindparam("received_at"),
        claimed_until=bindparam("claimed_until"),
    )
    .on_conflict_do_nothing()
    .returning(InboundRow.id)
    for dialect in (sqlite, postgresql)
)
_RETAKE = (
    update(InboundRow)
    .where(
        InboundRow.channel == bindparam("w_channel"),
        InboundRow.external_id == bindparam("w_external_id"),
        InboundRow.processed_at.is_(None),
        InboundRow.claimed_until < bindparam("now"),
    )
    .values(claimed_until=bindparam("until"))
    .returning(InboundRow.id)
)
_PROCESSED = (
    update(InboundRow)
    .where(
        InboundRow.channel == bindparam("w_channel"),
        InboundRow.external_id == bindparam("w_external_id"),
    )
    .values(processed_at=bindparam("processed"), error=bindparam("failure"))
)
_COUNT_SINCE = select(
    select(func.count())
    .select_from(InboundRow)
    .where(
        InboundRow.channel == bindparam("channel"),
        InboundRow.sender == bindparam("sender"),
        InboundRow.received_at >= bindparam("since"),
    )
    .scalar_subquery(),
    VERSION_COLUMN,
)
_IDENTITY = select(IdentityRow).where(
    IdentityRow.channel == bindparam("channel"), IdentityRow.address == bindparam("address")
)
_IDENTITIES = IdentityRow.__table__
_IDENTITY_AND_DISPATCHERS = select(IdentityRow).from_statement(
    union_all(
        select(_IDENTITIES).where(
            _IDENTITIES.c.channel == bindparam("channel"),
            _IDENTITIES.c.address == bindparam("address"),
        ),
        select(_IDENTITIES).where(_IDENTITIES.c.role == "dispatcher"),
    )
)
_OF_PARTIES = (
    select(IdentityRow)
    .where(
        IdentityRow.role == bindparam("role"),
        IdentityRow.party_id.in_(bindparam("party_ids", expanding=True)),
    )
    .order_by(IdentityRow.id)
)
_CONVERSATIONS = ConversationRow.metadata.tables["conversations"]
_NEW_CONVERSATION = insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id)
_SAVE_CONVERSATION = update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == bindparam("row_id"))
_CONVERSATION = (
    select(
        ConversationRow.id,
        ConversationRow.state,
        ConversationRow.data,
        ConversationRow.work_order_seq,
    )
    .where(
        ConversationRow.channel == bindparam("channel"),
        ConversationRow.address == bindparam("address"),
    )
    .with_for_update()
)


def minute_ago(now: datetime) -> datetime:
    return now - timedelta(minutes=1)
