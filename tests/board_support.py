"""Shared pieces of the board tests: the product with the board wired in, logins, jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.clock import FixedClock
from storage import board_tables  # noqa: F401  (registers the tables for test truncation)
from storage.tables import CustomerRow, OutboxRow, WorkOrderRow
from storage.tokens import TokenRepository
from tests.channel_app import PUBLIC, SECRET, Product
from tests.doubles import TelegramDouble, TwilioDouble
from tests.doubles.fixtures import TWILIO_FROM_NUMBER
from webhooks import board
from webhooks.app import init_app
from webhooks.board_auth import COOKIE
from webhooks.config import Settings

Client = TestClient[web.Request, web.Application]
MARIA_TG = 1001
MARIA_PHONE = "15125550101"
VIP_PHONE = "+15125550120"  # Lone Star Restaurant Group: VIP, so never auto-assigned
ROOFTOP = "rooftop unit 2 at the anderson ln office is blowing warm air, today please"
ROOFTOP_FROM = "+15125550129"  # the engine offers this one to Maria (test_conversation_telegram)


def with_board(settings: Settings, clock: FixedClock) -> web.Application:
    app = init_app(settings, clock=clock)
    if not any(getattr(r, "canonical", None) == "/board" for r in app.router.resources()):
        board.setup(app)  # until init_app wires the board itself
    return app


@asynccontextmanager
async def serve_board(
    database_url: str,
    engine: AsyncEngine,
    clock: FixedClock,
    media: Path,
    telegram_double: TelegramDouble,
    twilio_double: TwilioDouble,
) -> AsyncIterator[Product]:
    """The `product` fixture's set-up (real loopback server, channel doubles) with the board."""
    settings = Settings(
        database_url=database_url,
        public_base_url=PUBLIC,
        media_dir=media,
        telegram_bot_token=telegram_double.token,
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=f"{telegram_double.url}/bot",
        twilio_account_sid=twilio_double.account_sid,
        twilio_auth_token=twilio_double.auth_token,
        twilio_from_number=TWILIO_FROM_NUMBER,
        twilio_api_base_url=twilio_double.url,
    )
    async with TestClient(TestServer(with_board(settings, clock))) as client:
        yield Product(client, telegram_double, twilio_double, engine, clock, settings)


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
async def board_product(
    database_url: str,
    engine: AsyncEngine,
    clock: FixedClock,
    tmp_path: Path,
    demo_company: None,
    telegram_double: TelegramDouble,
    twilio_double: TwilioDouble,
) -> AsyncIterator[Product]:
    """The product with the board wired in, on the demo company (a pytest plugin: conftest)."""
    async with serve_board(
        database_url, engine, clock, tmp_path / "media", telegram_double, twilio_double
    ) as product:
        yield product
