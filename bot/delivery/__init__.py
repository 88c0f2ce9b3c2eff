"""Outbound delivery: render, send through the real client libraries, and the outbox worker.

    async with open_senders(settings) as senders:
        await run_worker(sessions, senders, clock, stop, on_stats=...)

A channel without credentials falls back to the simulator (§2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol

from bot.delivery.result import Refused, RetryLater, Sender, SendResult, Sent
from bot.delivery.sim import SimSender
from bot.delivery.sms import SmsSender
from bot.delivery.telegram import TelegramSender

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


class ChannelConfig(Protocol):
    """What delivery reads from the settings (webhooks.config.Settings has all of it)."""

    @property
    def public_base_url(self) -> str: ...
    @property
    def telegram_bot_token(self) -> str | None: ...
    @property
    def telegram_api_base_url(self) -> str | None: ...
    @property
    def twilio_account_sid(self) -> str | None: ...
    @property
    def twilio_auth_token(self) -> str | None: ...
    @property
    def twilio_from_number(self) -> str | None: ...
    @property
    def twilio_messaging_service_sid(self) -> str | None: ...
    @property
    def twilio_api_base_url(self) -> str | None: ...


@asynccontextmanager
async def open_senders(config: ChannelConfig) -> AsyncIterator[Mapping[str, Sender]]:
    """A sender per channel ("telegram", "sms", "sim"), connections closed on exit."""
    sim = SimSender()
    senders: dict[str, Sender] = {"telegram": sim, "sms": sim, "sim": sim}
    async with AsyncExitStack() as stack:
        if config.telegram_bot_token is not None:
            senders["telegram"] = await stack.enter_async_context(
                TelegramSender(config.telegram_bot_token, api_base_url=config.telegram_api_base_url)
            )
        if config.twilio_account_sid is not None and config.twilio_auth_token is not None:
            senders["sms"] = await stack.enter_async_context(
                SmsSender(
                    config.twilio_account_sid,
                    config.twilio_auth_token,
                    from_number=config.twilio_from_number,
                    messaging_service_sid=config.twilio_messaging_service_sid,
                    status_callback=config.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH,
                    api_base_url=config.twilio_api_base_url,
                )
            )
        yield senders


__all__ = [
    "ChannelConfig",
    "Refused",
    "RetryLater",
    "SendResult",
    "Sender",
    "Sent",
    "SimSender",
    "SmsSender",
    "TelegramSender",
    "open_senders",
]
