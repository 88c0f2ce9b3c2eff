"""Telegram delivery through python-telegram-bot's `Bot`, errors sorted into retry or refuse."""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.render import render_telegram
from bot.delivery.result import Refused, RetryLater, SendResult, Sent
from bot.messages import Outgoing

# PTB 22 reports durations (a 429's retry_after) as timedelta once opted in, and warns on
# every 429 until then, its own constructor included; we read either. An explicit setting wins.
os.environ.setdefault("PTB_TIMEDELTA", "true")

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
CAPTION_LIMIT = 1024


def api_urls(base_url: str | None) -> tuple[str, str]:
    """(base_url, base_file_url) for `Bot` from TELEGRAM_API_BASE_URL (with or without /bot)."""
    base = (base_url or DEFAULT_API_BASE_URL).rstrip("/")
    root = base.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


class TelegramSender:
    """Sends to a chat id (a private chat's id is the user's id)."""

    def __init__(self, token: str, *, api_base_url: str | None = None) -> None:
        base_url, base_file_url = api_urls(api_base_url)
        # Our own request object, so connections open and close with the worker, without
        # the getMe that Bot.initialize() would make at start.
        self._request = HTTPXRequest(connection_pool_size=8)
        self.bot = Bot(token, base_url=base_url, base_file_url=base_file_url, request=self._request)

    async def __aenter__(self) -> Self:
        await self._request.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._request.shutdown()

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendResult:
        out = Outgoing.from_json(payload)
        text, markup = render_telegram(out)
        try:
            if out.photo and len(text) <= CAPTION_LIMIT:
                message = await self.bot.send_photo(
                    recipient, out.photo, caption=text or None, reply_markup=markup
                )
            else:
                message = await self.bot.send_message(recipient, text, reply_markup=markup)
        except RetryAfter as exc:
            return RetryLater(f"Telegram flood control: {exc}", delay=_retry_after(exc))
        except (Forbidden, ChatMigrated) as exc:
            return Refused(f"Telegram: {exc}")
        except BadRequest as exc:  # before NetworkError: BadRequest is one of them
            return Refused(f"Telegram: {exc}")
        except (NetworkError, InvalidToken, TelegramError) as exc:
            # 5xx, timeouts and dropped connections; a bad token is ours to fix, so keep
            # the messages until it is.
            return RetryLater(f"Telegram: {type(exc).__name__}: {exc}")
        return Sent(f"{message.chat_id}:{message.message_id}")


def _retry_after(exc: RetryAfter) -> timedelta:
    # PTB 22 warns that the int will become a timedelta; accept either, quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
