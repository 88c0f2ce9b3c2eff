"""The product running against the Telegram and Twilio doubles, for end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import open_senders
from dispatch.clock import FixedClock
from storage.db import session_factory
from storage.tables import Base, OutboxRow
from tests.doubles import TelegramDouble, TwilioDouble
from tests.doubles.fixtures import TWILIO_FROM_NUMBER
from webhooks.app import init_app
from webhooks.config import Settings
from webhooks.outbox import deliver_due

PUBLIC = "https://callout.example"
SECRET = "test-webhook-secret-0123456789"


@dataclass
class Product:
    client: TestClient[web.Request, web.Application]
    tg: TelegramDouble
    tw: TwilioDouble
    engine: AsyncEngine
    clock: FixedClock
    settings: Settings

    async def sms(self, from_: str, body: str, **form_extra: Any) -> tuple[int, str]:
        """An inbound SMS as Twilio posts it, correctly signed."""
        form = self.tw.inbound_sms_form(from_, TWILIO_FROM_NUMBER, body, **form_extra)
        return await self.post_sms_form(form)

    async def post_sms_form(
        self, form: dict[str, str], *, signature: str | None = None
    ) -> tuple[int, str]:
        path = "/webhooks/twilio/sms"
        sig = self.tw.sign(PUBLIC + path, form) if signature is None else signature
        response = await self.client.post(path, data=form, headers={"X-Twilio-Signature": sig})
        return response.status, await response.text()

    async def telegram(self, update: dict[str, Any], *, secret: str = SECRET) -> int:
        response = await self.client.post(
            "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
        return response.status

    async def deliver(self) -> int:
        """Run the outbox worker until the outbox is empty, through the real senders, to the
        doubles. Per-chat pacing spreads messages a second apart: the clock moves on."""
        handled = 0
        sessions = session_factory(self.engine)
        async with open_senders(self.settings) as senders:
            idle = 0
            for _ in range(100):
                n = await deliver_due(sessions, senders, self.clock)
                handled += n
                idle = 0 if n else idle + 1
                if idle > 3:  # what is left waits for a retry minutes away: not our business
                    break
                async with self.engine.connect() as conn:
                    waiting = (
                        await conn.execute(
                            select(func.count())
                            .select_from(OutboxRow)
                            .where(OutboxRow.status.in_(["pending", "claimed", "sending"]))
                        )
                    ).scalar_one()
                if not waiting:
                    break
                self.clock.advance(timedelta(seconds=1.5))
        return handled

    async def count(self, table: str) -> int:
        async with self.engine.connect() as conn:
            t = Base.metadata.tables[table]
            return int((await conn.execute(select(func.count()).select_from(t))).scalar_one())


@pytest.fixture
async def product(
    database_url: str,
    engine: AsyncEngine,
    clock: FixedClock,
    tmp_path: Path,
    demo_company: None,
    telegram_double: TelegramDouble,
    twilio_double: TwilioDouble,
) -> AsyncIterator[Product]:
    settings = Settings(
        database_url=database_url,
        public_base_url=PUBLIC,
        media_dir=tmp_path / "media",
        telegram_bot_token=telegram_double.token,
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=f"{telegram_double.url}/bot",
        twilio_account_sid=twilio_double.account_sid,
        twilio_auth_token=twilio_double.auth_token,
        twilio_from_number=TWILIO_FROM_NUMBER,
        twilio_api_base_url=twilio_double.url,
    )
    app = init_app(settings, clock=clock)
    async with TestClient(TestServer(app)) as client:
        yield Product(client, telegram_double, twilio_double, engine, clock, settings)
