"""The simulator channel: a message is delivered the moment the worker takes it; the /sim page
reads delivered simulator rows back from the outbox."""

from __future__ import annotations

import secrets
from typing import Any

from bot.delivery.result import SendResult, Sent


class SimSender:
    async def send(self, recipient: str, payload: dict[str, Any]) -> SendResult:
        return Sent(f"sim-{secrets.token_hex(8)}", delivery_status="delivered")
