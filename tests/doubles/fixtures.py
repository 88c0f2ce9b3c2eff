"""pytest fixtures for the Telegram and Twilio doubles.

Use from tests/conftest.py with `pytest_plugins = ["tests.doubles.fixtures"]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from telegram import Bot
from twilio.rest import Client

from .telegram_api import TelegramDouble
from .twilio_api import TwilioDouble
from .twilio_http import BaseUrlTwilioHttpClient

TWILIO_FROM_NUMBER = "+15005550006"


@pytest.fixture
async def telegram_double() -> AsyncIterator[TelegramDouble]:
    async with TelegramDouble() as double:
        yield double


@pytest.fixture
async def twilio_double() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble() as double:
        yield double


@pytest.fixture
async def telegram_bot(telegram_double: TelegramDouble) -> AsyncIterator[Bot]:
    """A real python-telegram-bot `Bot`, initialized (getMe done) against the double."""
    bot = Bot(
        telegram_double.token,
        base_url=f"{telegram_double.url}/bot",
        base_file_url=f"{telegram_double.url}/file/bot",
    )
    async with bot:
        yield bot


@pytest.fixture
async def twilio_client(twilio_double: TwilioDouble) -> AsyncIterator[Client]:
    """A real twilio `Client` whose requests go to the double."""
    async with BaseUrlTwilioHttpClient(twilio_double.url) as http:
        yield Client(twilio_double.account_sid, twilio_double.auth_token, http_client=http)


@pytest.fixture
def channel_env(telegram_double: TelegramDouble, twilio_double: TwilioDouble) -> dict[str, str]:
    """Environment variables that point the product's channels at the doubles."""
    return {
        "TELEGRAM_BOT_TOKEN": telegram_double.token,
        "TELEGRAM_WEBHOOK_SECRET": "test-webhook-secret",
        "TELEGRAM_API_BASE_URL": f"{telegram_double.url}/bot",
        "TWILIO_ACCOUNT_SID": twilio_double.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_double.auth_token,
        "TWILIO_FROM_NUMBER": TWILIO_FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio_double.url,
    }


@dataclass
class ReceivedPosts:
    """What a stand-in webhook endpoint was sent: one (headers, body) per POST."""

    url: str
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[ReceivedPosts]:
    """A loopback endpoint answering every POST with an empty TwiML response."""
    received = ReceivedPosts(url="")

    async def receive(request: web.Request) -> web.Response:
        received.headers.append(dict(request.headers))
        received.bodies.append(await request.read())
        return web.Response(text="<Response/>", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    received.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield received
    await runner.cleanup()
