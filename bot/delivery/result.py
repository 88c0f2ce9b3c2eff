"""What a send came to, and the retry schedule: the contract between senders and the worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

MAX_ATTEMPTS = 8  # 2+4+...+256 s: about 8 minutes of trying before giving up
MAX_BACKOFF = timedelta(seconds=300)


@dataclass(frozen=True, slots=True)
class Sent:
    external_id: str | None  # Telegram "chat:message_id", Twilio MessageSid, simulator id
    delivery_status: str | None = None  # known at once only for the simulator


@dataclass(frozen=True, slots=True)
class RetryLater:
    error: str
    delay: timedelta | None = None  # the server's own wait (RetryAfter); None: our backoff
    parts_sent: int = 0  # SMS sent as several messages: how many went out before the error
    maybe_sent: bool = False  # no answer (timeout, dropped connection): it may have gone


@dataclass(frozen=True, slots=True)
class Refused:
    """The channel will never take this message (blocked bot, unknown chat, bad number)."""

    error: str
    opted_out: bool = False  # Twilio 21610: the number texted STOP


SendResult = Sent | RetryLater | Refused


class Sender(Protocol):
    async def send(self, recipient: str, payload: dict[str, Any]) -> SendResult: ...


@runtime_checkable
class Reconciler(Protocol):
    """A channel that can tell whether a send whose outcome we lost actually went out."""

    async def find_sent(
        self, recipient: str, payload: dict[str, Any], since: datetime, known: set[str]
    ) -> str | None: ...


def backoff(attempt: int) -> timedelta:
    """Wait before retry number `attempt` (1-based): 2, 4, 8, ... seconds, at most 300."""
    return min(timedelta(seconds=2 ** max(1, attempt)), MAX_BACKOFF)
