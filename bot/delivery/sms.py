"""SMS delivery through twilio-python's REST client, errors sorted into retry or refuse."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from bot.delivery.render import render_sms
from bot.delivery.result import Refused, RetryLater, SendResult, Sent
from bot.delivery.twilio_http import BaseUrlTwilioHttpClient
from bot.messages import Outgoing

UNSUBSCRIBED = 21610
PARTS_SENT_KEY = "_sms_parts_sent"  # kept in the outbox payload between retries
# Clocks differ between us and Twilio; a lost send is looked for this far before our attempt.
RECONCILE_SLACK = timedelta(minutes=5)


class SmsSender:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None,
        messaging_service_sid: str | None,
        status_callback: str | None,
        api_base_url: str | None = None,
    ) -> None:
        if from_number is None and messaging_service_sid is None:
            raise ValueError("an SMS sender needs a from number or a messaging service")
        self.http = BaseUrlTwilioHttpClient(api_base_url)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.close()

    def _sender(self) -> dict[str, str]:
        if self.messaging_service_sid is not None:
            return {"messaging_service_sid": self.messaging_service_sid}
        assert self.from_number is not None
        return {"from_": self.from_number}

    async def send(self, recipient: str, payload: dict[str, Any]) -> SendResult:
        out = Outgoing.from_json(payload)
        parts = render_sms(out)
        done = int(payload.get(PARTS_SENT_KEY, 0))
        media = [out.photo] if out.photo and out.photo.startswith(("http://", "https://")) else []
        sid: str | None = None
        for index in range(done, len(parts)):
            extra: dict[str, Any] = {"media_url": media} if media and index == 0 else {}
            if self.status_callback:
                extra["status_callback"] = self.status_callback
            try:
                message = await self.client.messages.create_async(
                    to=recipient, body=parts[index], **self._sender(), **extra
                )
            except TwilioRestException as exc:
                return _classify(exc, parts_sent=index)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Twilio: {type(exc).__name__}: {exc}"
                return RetryLater(error, parts_sent=index, maybe_sent=True)
            sid = sid or str(message.sid)
        return Sent(sid)

    async def find_sent(
        self, recipient: str, payload: dict[str, Any], since: datetime, known: set[str]
    ) -> str | None:
        """The SID of a message Twilio accepted for this payload after `since`, if any: a send
        whose answer was lost (the worker stopped) must not go twice."""
        parts = render_sms(Outgoing.from_json(payload))
        first = parts[int(payload.get(PARTS_SENT_KEY, 0))]
        messages = await self.client.messages.list_async(to=recipient, limit=50)
        for message in messages:
            created = message.date_created
            if message.sid in known or created is None or created < since - RECONCILE_SLACK:
                continue
            if message.body == first:
                return str(message.sid)
        return None


def _classify(exc: TwilioRestException, *, parts_sent: int) -> SendResult:
    status = int(exc.status or 0)
    text = f"Twilio {exc.code}: {exc.msg}"
    if exc.code == UNSUBSCRIBED:
        return Refused(text, opted_out=True)
    if status == 429 or status >= 500 or status in (401, 403, 0):
        # Rate limits and outages pass; bad credentials are ours to fix: keep the messages.
        return RetryLater(text, parts_sent=parts_sent)
    return Refused(text)
