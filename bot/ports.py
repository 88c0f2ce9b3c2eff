"""What conversations need from storage: the domain's unit of work plus messaging repositories."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from dispatch.messaging import Conversation, Fallback, Identity, NewMessage
from dispatch.ports import UnitOfWork
from dispatch.sla_clock import SlaStore


class Inbox(Protocol):
    # True after store(alone=True) took the message when it is committed already, whatever
    # this unit of work does next (PostgreSQL: it ran outside a transaction); False when
    # this unit of work's commit is what stores it (SQLite).
    stored_apart: bool

    async def store(
        self,
        channel: str,
        external_id: str,
        sender: str | None,
        payload: str,
        now: datetime,
        *,
        alone: bool = False,
    ) -> bool: ...
    async def mark_processed(
        self, channel: str, external_id: str, now: datetime, error: str | None = None
    ) -> None: ...
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
        """The sender's messages since `since`. With `identity` (channel, address), the
        unit of work may read that identity in the same statement, for Identities.find;
        with it, `conversation` (channel, address) that conversation, for
        Conversations.get, and `open_orders` the open work orders of the customer the
        sender is, for WorkOrders.open_for_customer."""
        ...

    async def stranded(self, now: datetime, limit: int) -> list[tuple[str, str, str]]: ...


class Identities(Protocol):
    async def find(self, channel: str, address: str) -> Identity | None: ...
    async def of_party(self, role: str, party_id: str) -> list[Identity]: ...
    async def of_parties(self, role: str, party_ids: list[str]) -> dict[str, list[Identity]]: ...
    async def link(
        self,
        channel: str,
        address: str,
        role: str,
        party_id: str,
        now: datetime,
        *,
        username: str | None = None,
    ) -> Identity: ...
    async def set_opted_out(self, phone: str, opted_out: bool, now: datetime) -> None: ...


class Conversations(Protocol):
    async def get(self, channel: str, address: str) -> Conversation: ...
    async def save(self, conv: Conversation, now: datetime) -> None: ...


class Outbox(Protocol):
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
    ) -> int: ...
    async def add_many(self, messages: list[NewMessage], *, now: datetime) -> None: ...


class BoardLinkMaker(Protocol):
    async def create_link(self, dispatcher_id: str, now: datetime) -> str: ...


class BotUnitOfWork(UnitOfWork, Protocol):
    @property
    def inbound(self) -> Inbox: ...
    @property
    def identities(self) -> Identities: ...
    @property
    def conversations(self) -> Conversations: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def sla(self) -> SlaStore: ...
    @property
    def board(self) -> BoardLinkMaker: ...
