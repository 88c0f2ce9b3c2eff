"""Shared pieces of the board tests: the `board_product` fixture, logins, jobs."""

from __future__ import annotations

from datetime import datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage import board_tables  # noqa: F401  (registers the tables for test truncation)
from storage.tables import CustomerRow, OutboxRow, WorkOrderRow
from storage.tokens import TokenRepository
from tests.channel_app import Product
from webhooks.board_auth import COOKIE

Client = TestClient[web.Request, web.Application]
MARIA_TG = 1001
MARIA_PHONE = "15125550101"
VIP_PHONE = "+15125550120"  # Lone Star Restaurant Group: VIP, so never auto-assigned
ROOFTOP = "rooftop unit 2 at the anderson ln office is blowing warm air, today please"
ROOFTOP_FROM = "+15125550129"  # the engine offers this one to Maria (test_conversation_telegram)


async def make_token(engine: AsyncEngine, now: datetime, role: str, party: str | None) -> str:
    async with AsyncSession(engine) as s:
        token = await TokenRepository(s).create(f"{role}-{party}", now, role=role, party_id=party)
        await s.commit()
    return token


async def login(client: Client, token: str) -> dict[str, str]:
    """Log in with a token; the headers that carry the session (the cookie is Secure, and
    the test client would not send it over plain HTTP by itself)."""
    response = await client.post("/board/login", data={"token": token}, allow_redirects=False)
    assert response.status == 303, await response.text()
    return {"Cookie": f"{COOKIE}={response.cookies[COOKIE].value}"}


async def vip_job(p: Product, text: str = "walk-in freezer at pecan street grill is warm") -> int:
    """A job the engine flags for a dispatcher (VIP customers are never auto-assigned)."""
    await p.sms(VIP_PHONE, text)
    async with AsyncSession(p.engine) as s:
        return int(
            (await s.scalars(select(WorkOrderRow.seq).order_by(WorkOrderRow.id.desc()))).first()
            or 0
        )


async def rename_customer(engine: AsyncEngine, customer_id: str, name: str) -> None:
    async with AsyncSession(engine) as s:
        await s.execute(update(CustomerRow).where(CustomerRow.id == customer_id).values(name=name))
        await s.commit()


async def outbox_to(engine: AsyncEngine, recipient: str) -> list[str]:
    async with AsyncSession(engine) as s:
        rows = await s.scalars(select(OutboxRow).where(OutboxRow.recipient == recipient))
        return [str(r.payload.get("text", "")) for r in rows]


@pytest.fixture
def board_product(product: Product) -> Product:
    """The product (init_app wires the board in) on the demo company; a pytest plugin."""
    return product
