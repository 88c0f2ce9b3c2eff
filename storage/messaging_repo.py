"""Inbound payloads (dedupe, rate counts), channel identities and conversation state."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    cast,
    func,
    insert,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.messaging import Conversation, Identity
from storage.company_repo import VERSION_COLUMN, note_version
from storage.core import connection, null_columns
from storage.day_version import DAY_VERSION_COLUMN, note_day_version
from storage.tables import ConversationRow, CustomerRow, IdentityRow, InboundRow
from storage.workorder_repo import NO_OPEN_ORDER, WorkOrderRepository, open_orders_of

CLAIM = timedelta(seconds=30)  # how long a handler may take before another retakes it


class InboundRepository:
    def __init__(
        self,
        session: AsyncSession,
        identities: IdentityRepository | None = None,
        conversations: ConversationRepository | None = None,
        work_orders: WorkOrderRepository | None = None,
    ) -> None:
        self.session = session
        # The unit of work's, for what count_since reads with the count.
        self._identities = identities
        self._conversations = conversations
        self._work_orders = work_orders
        self.stored_apart = False  # see the Inbox port

    async def store(
        self,
        channel: str,
        external_id: str,
        sender: str | None,
        payload: str,
        now: datetime,
        *,
        alone: bool = False,
    ) -> bool:
        """Store the raw payload and take it for handling; False for a replay of a message
        already handled or being handled. A message whose handler died (its claim ran out
        unprocessed) is taken again, so a retry from the sender is not lost. `alone`: the
        first statements of the unit of work, committed as they run where the database
        allows (storage.core's Connection.execute); `stored_apart` tells whether they were."""
        until = now + CLAIM
        conn = await connection(self.session)
        result = await conn.execute(
            _STORE_PG if conn.dialect.name == "postgresql" else _STORE_SQLITE,
            {
                "channel": channel,
                "external_id": external_id,
                "sender": sender,
                "payload": payload,
                "received_at": now,
                "claimed_until": until,
            },
            alone=alone,
        )
        if result.first() is None:
            retaken = await conn.execute(
                _RETAKE,
                {"w_channel": channel, "w_external_id": external_id, "now": now, "until": until},
                alone=alone,
            )
            if retaken.first() is None:
                return False
        self.stored_apart = alone and conn.outside_transaction()
        return True

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
        await (await connection(self.session)).later(
            _PROCESSED,
            {
                "w_channel": channel,
                "w_external_id": external_id,
                "processed": now,
                "failure": error,
            },
        )

    async def count_since(
        self,
        channel: str,
        sender: str,
        since: datetime,
        *,
        identity: tuple[str, str] | None = None,
        conversation: tuple[str, str] | None = None,
        open_orders: bool = False,
    ) -> int:
        """The sender's messages since `since` (the company's version stamp comes with it).
        With `identity` (channel, address), that identity and the dispatchers' are read in
        the same statement, for the unit of work's identities to answer from; with it,
        `conversation` reads that conversation, locked as ConversationRepository.get locks
        it, and `open_orders` the open work orders of the customer the identity is (by its
        party, else by its phone on SMS), for the unit of work's conversations and work
        orders to answer from: one round trip to the database at the start of every
        message, not four. The last two on PostgreSQL only."""
        conn = await connection(self.session)
        params = {"channel": channel, "sender": sender, "since": since}
        identities = self._identities
        if identity is None or identities is None or not identities.reads_first(*identity):
            row = (await conn.execute(_COUNT_SINCE, params)).one()
            note_version(self.session, row[1])
            note_day_version(self.session, row[2])
            return int(row[0] or 0)
        params |= {"i_channel": identity[0], "i_address": identity[1]}
        conversations, work_orders = self._conversations, self._work_orders
        # Only where a statement is a round trip to a server: on SQLite, a call into the
        # library, the wider statement cost more than the two it spared (callgrind, a
        # request in the load's steady state: 11.20 M instructions apart, 11.51 M together).
        ahead = conn.dialect.name == "postgresql"
        with_conversation = (
            ahead
            and conversation is not None
            and conversations is not None
            and conversations.reads_first(*conversation)
        )
        if conversation is not None and with_conversation:
            params |= {"c_channel": conversation[0], "c_address": conversation[1]}
        with_orders = ahead and open_orders and work_orders is not None
        if with_orders:
            params["o_phone"] = identity[1] if identity[0] == "sms" else None
        rows = (await conn.execute(_count_union(with_conversation, with_orders), params)).all()
        # The count's row is the one with a count; an identity's has an id.
        [counted] = [r for r in rows if r.recent is not None]
        identities.found(*identity, [r for r in rows if r.id is not None])
        if conversation is not None and conversations is not None and with_conversation:
            conversations.found(*conversation, next((r for r in rows if r.c_id is not None), None))
        if work_orders is not None and with_orders:
            orders = [r for r in rows if r.w_id is not None]
            await work_orders.found_open(counted.o_customer, orders)
        note_version(self.session, counted.version)
        note_day_version(self.session, counted.day_version)
        return int(counted.recent)


class IdentityRepository:
    """Identities through Core statements; the rows read or written in this unit of work are
    remembered (one message asks for its sender two or three times), and every change here
    goes through them, so the memo cannot go stale."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rows: dict[tuple[str, str], _IdentityRow | None] = {}
        # Every dispatcher's rows, read with the first sender lookup (one query for both):
        # a new request ends by alerting them. None until then.
        self._dispatchers: list[_IdentityRow] | None = None

    async def find(self, channel: str, address: str) -> Identity | None:
        row = await self._row(channel, address)
        return None if row is None else _identity(row)

    async def of_party(self, role: str, party_id: str) -> list[Identity]:
        conn = await connection(self.session)
        rows = await conn.execute(_OF_PARTY, {"role": role, "party_id": party_id})
        return [_identity(_IdentityRow.of(r)) for r in rows]

    async def of_parties(self, role: str, party_ids: list[str]) -> dict[str, list[Identity]]:
        """of_party for several people at once (one query, or none for the dispatchers once
        the sender was looked up): every dispatcher, say."""
        rows: Iterable[_IdentityRow]
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
            conn = await connection(self.session)
            found = await conn.execute(_OF_PARTIES, {"role": role, "party_ids": party_ids})
            rows = [_IdentityRow.of(r) for r in found]
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
            new = _IdentityRow(0, channel, address, role, party_id, username, False)
            row = await self._add(new, now)
        else:
            row.role, row.party_id = role, party_id
            row.username = username or row.username
            await (await connection(self.session)).execute(
                _SAVE_IDENTITY,
                {
                    "row_id": row.id,
                    "role": row.role,
                    "party_id": row.party_id,
                    "username": row.username,
                },
            )
        return _identity(row)

    async def set_opted_out(self, phone: str, opted_out: bool, now: datetime) -> None:
        """SMS opt-out is per number, whoever is behind it (a stranger too)."""
        row = await self._row("sms", phone)
        if row is None:
            await self._add(_IdentityRow(0, "sms", phone, "customer", "", None, opted_out), now)
            return
        row.opted_out = opted_out
        await (await connection(self.session)).execute(
            _SAVE_IDENTITY, {"row_id": row.id, "opted_out": opted_out}
        )

    async def _add(self, new: _IdentityRow, now: datetime) -> _IdentityRow:
        """Insert a row the database does not have yet (its id comes from the insert) and
        remember it for this unit of work."""
        values = {
            "channel": new.channel,
            "address": new.address,
            "role": new.role,
            "party_id": new.party_id,
            "username": new.username,
            "opted_out": new.opted_out,
            "created_at": now,
        }
        new.id = (
            await (await connection(self.session)).execute(_NEW_IDENTITY, values)
        ).scalar_one()
        self._rows[(new.channel, new.address)] = new
        return new

    def reads_first(self, channel: str, address: str) -> bool:
        """Whether looking this identity up would read it with the dispatchers' (the first
        lookup of the unit of work): what InboundRepository.count_since may read for it."""
        return self._dispatchers is None and (channel, address) not in self._rows

    def found(self, channel: str, address: str, rows: Iterable[Row[Any]]) -> None:
        """The rows of _IDENTITY_AND_DISPATCHERS for this identity, read by another
        statement of the unit of work."""
        found = [_IdentityRow.of(r) for r in rows]
        key = (channel, address)
        self._rows[key] = next(
            (r for r in found if r.channel == channel and r.address == address), None
        )
        # The sender's own row, when a dispatcher's, is one object in both places.
        mine = self._rows[key]
        self._dispatchers = [
            mine if mine is not None and r.id == mine.id else r
            for r in found
            if r.role == "dispatcher"
        ]

    async def _row(self, channel: str, address: str) -> _IdentityRow | None:
        key = (channel, address)
        if key in self._rows:
            return self._rows[key]
        conn = await connection(self.session)
        params = {"channel": channel, "address": address}
        if self._dispatchers is None:
            self.found(channel, address, await conn.execute(_IDENTITY_AND_DISPATCHERS, params))
        else:
            first = (await conn.execute(_IDENTITY, params)).first()
            self._rows[key] = None if first is None else _IdentityRow.of(first)
        return self._rows[key]


@dataclass(slots=True)
class _IdentityRow:
    """An identities row as this unit of work knows it."""

    id: int
    channel: str
    address: str
    role: str
    party_id: str
    username: str | None
    opted_out: bool

    @classmethod
    def of(cls, row: Row[Any]) -> _IdentityRow:
        return cls(
            row.id, row.channel, row.address, row.role, row.party_id, row.username, row.opted_out
        )


def _identity(row: _IdentityRow) -> Identity:
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
        # Read and locked by another statement of the unit of work (found), not asked for
        # yet: the row, or None for a conversation not begun.
        self._found: dict[tuple[str, str], Row[Any] | None] = {}

    def reads_first(self, channel: str, address: str) -> bool:
        """Whether this conversation is neither read nor written in this unit of work yet:
        what InboundRepository.count_since may read for it."""
        key = (channel, address)
        return key not in self._ids and key not in self._found

    def found(self, channel: str, address: str, row: Row[Any] | None) -> None:
        """The conversation's row as _CONVERSATION would have read it (its id as `c_id`),
        locked by another statement of the unit of work; None: there is none."""
        self._found[(channel, address)] = row

    async def get(self, channel: str, address: str) -> Conversation:
        key = (channel, address)
        if key in self._found:  # answered once: what this unit of work writes comes after
            row = self._found.pop(key)
            row_id = None if row is None else row.c_id
        else:
            conn = await connection(self.session)
            params = {"channel": channel, "address": address}
            row = (await conn.execute(_CONVERSATION, params)).first()
            row_id = None if row is None else row.id
        if row is None or row_id is None:
            return Conversation(channel=channel, address=address)
        self._ids[key] = int(row_id)
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
        if row_id is None and key in self._found:  # saved before it was asked for
            found = self._found.pop(key)
            row_id = None if found is None else found.c_id
        if row_id is None:
            params = {"channel": conv.channel, "address": conv.address, **values}
            self._ids[key] = (await conn.execute(_NEW_CONVERSATION, params)).scalar_one()
        else:
            # Read locked (get): the update may wait to go with the others (storage.core).
            await conn.later(_SAVE_CONVERSATION, {"row_id": row_id, **values})


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
    DAY_VERSION_COLUMN,
)
_IDENTITIES = IdentityRow.metadata.tables["identities"]
_IDENTITY_COLUMNS = [
    _IDENTITIES.c[name]
    for name in ("id", "channel", "address", "role", "party_id", "username", "opted_out")
]
_IDENTITY = select(*_IDENTITY_COLUMNS).where(
    _IDENTITIES.c.channel == bindparam("channel"), _IDENTITIES.c.address == bindparam("address")
)
_DISPATCHERS = select(*_IDENTITY_COLUMNS).where(_IDENTITIES.c.role == "dispatcher")
_IDENTITY_AND_DISPATCHERS = union_all(_IDENTITY, _DISPATCHERS)
# _COUNT_SINCE and _IDENTITY_AND_DISPATCHERS in one statement (_count_union): a row of the
# count and the stamps (its identity columns NULL), then the identities' rows (their count
# and stamps NULL), and what else the message reads first.
_NO_IDENTITY = null_columns(_IDENTITY_COLUMNS)
_NO_NUMBER = cast(null(), Integer)


# The customer a sender is, as bot.customer tells it: the one their identity names, else, on
# SMS, the one with their phone (o_phone; NULL elsewhere). A guess for reading ahead: the
# work orders' repository answers from it only for the customer it is then asked about.
_SENDERS_CUSTOMER = func.coalesce(
    select(func.nullif(_IDENTITIES.c.party_id, ""))
    .where(
        _IDENTITIES.c.channel == bindparam("i_channel"),
        _IDENTITIES.c.address == bindparam("i_address"),
        _IDENTITIES.c.role == "customer",
    )
    .scalar_subquery(),
    select(CustomerRow.id)
    .where(CustomerRow.phone == bindparam("o_phone"))
    .order_by(CustomerRow.id)
    .limit(1)
    .scalar_subquery(),
)
_NO_CUSTOMER = cast(null(), String).label("o_customer")


@functools.cache  # four statements at most, each built once
def _count_union(conversation: bool, orders: bool) -> CompoundSelect[Any]:
    """The count and the identities; with `conversation`, a row of the sender's conversation,
    locked as _CONVERSATION locks it (a locking read in a subquery: a UNION's own branches
    may not lock); with `orders`, the sender's customer (in the count's row) and their open
    work orders' rows (open_orders_of). Each group's columns are NULL in the others' rows."""
    mine = _conversation_of(bindparam("c_channel"), bindparam("c_address"), "c_id").subquery()
    no_conv = null_columns(mine.c) if conversation else []
    no_order = NO_OPEN_ORDER if orders else []
    customer = [_SENDERS_CUSTOMER.label("o_customer")] if orders else []
    no_customer = [_NO_CUSTOMER] if orders else []
    nothing = (_NO_NUMBER, _NO_NUMBER, _NO_NUMBER, *no_customer)
    arms = [
        select(
            _COUNT_SINCE.selected_columns[0].label("recent"),
            VERSION_COLUMN.label("version"),
            DAY_VERSION_COLUMN.label("day_version"),
            *customer,
            *_NO_IDENTITY,
            *no_conv,
            *no_order,
        ),
        select(*nothing, *_IDENTITY_COLUMNS, *no_conv, *no_order).where(
            _IDENTITIES.c.channel == bindparam("i_channel"),
            _IDENTITIES.c.address == bindparam("i_address"),
        ),
        select(*nothing, *_IDENTITY_COLUMNS, *no_conv, *no_order).where(
            _IDENTITIES.c.role == "dispatcher"
        ),
    ]
    if conversation:
        arms.append(select(*nothing, *_NO_IDENTITY, *mine.c, *no_order))
    if orders:
        arms.append(select(*nothing, *_NO_IDENTITY, *no_conv, *open_orders_of(_SENDERS_CUSTOMER).c))
    return union_all(*arms)


_OF_PARTY = (
    select(*_IDENTITY_COLUMNS)
    .where(
        _IDENTITIES.c.role == bindparam("role"),
        _IDENTITIES.c.party_id == bindparam("party_id"),
    )
    .order_by(_IDENTITIES.c.id)
)
_OF_PARTIES = (
    select(*_IDENTITY_COLUMNS)
    .where(
        _IDENTITIES.c.role == bindparam("role"),
        _IDENTITIES.c.party_id.in_(bindparam("party_ids", expanding=True)),
    )
    .order_by(_IDENTITIES.c.id)
)
_NEW_IDENTITY = insert(_IDENTITIES).returning(_IDENTITIES.c.id)
_SAVE_IDENTITY = update(_IDENTITIES).where(_IDENTITIES.c.id == bindparam("row_id"))
_CONVERSATIONS = ConversationRow.metadata.tables["conversations"]
_NEW_CONVERSATION = insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id)
_SAVE_CONVERSATION = update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == bindparam("row_id"))


def _conversation_of(
    channel: ColumnElement[Any], address: ColumnElement[Any], id_name: str = "id"
) -> Select[int, str, dict[str, Any], int | None]:
    """A conversation's row, locked: the unit of work that reads it writes it."""
    return (
        select(
            ConversationRow.id.label(id_name),
            ConversationRow.state,
            ConversationRow.data,
            ConversationRow.work_order_seq,
        )
        .where(ConversationRow.channel == channel, ConversationRow.address == address)
        .with_for_update()
    )


_CONVERSATION = _conversation_of(bindparam("channel"), bindparam("address"))


def minute_ago(now: datetime) -> datetime:
    return now - timedelta(minutes=1)
