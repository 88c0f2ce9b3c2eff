"""A local double of the Twilio REST API (Messages) and of Twilio's webhooks, for tests.

    async with TwilioDouble() as twilio:
        http = BaseUrlTwilioHttpClient(twilio.url)
        client = Client(twilio.account_sid, twilio.auth_token, http_client=http)

Answers like api.twilio.com: 201 with the Message resource, legacy JSON errors
(`code`, `message`, `more_info`, `status`), basic auth. Media of inbound MMS is served
behind a 307 redirect, as Twilio redirects media URLs to its CDN.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web

from .twilio_forms import (
    API_VERSION,
    error_body,
    inbound_form,
    new_sid,
    rfc2822,
    sign,
    sms_segments,
    status_form,
)
from .twilio_http import basic_auth

JSONDict = dict[str, Any]
FailureKind = Literal["unsubscribed", "rate_limited", "server_error", "invalid_number", "network"]
_E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
_BAD_CREDENTIALS = "Your AccountSid or AuthToken was incorrect."
_FAILURES: dict[str, tuple[int, int, str]] = {
    "unsubscribed": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "rate_limited": (429, 20429, "Too Many Requests"),
    "server_error": (500, 20500, "An internal server error has occurred"),
}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SentSms:
    """A message the double accepted through the REST API."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    media_urls: tuple[str, ...]
    status_callback: str | None
    num_segments: int


@dataclass(frozen=True)
class WebhookReply:
    status: int
    text: str
    content_type: str


@dataclass(frozen=True)
class _Media:
    content_type: str
    content: bytes


class _TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.body = error_body(status, code, message, **extra)
        self.status = status


@dataclass
class TwilioDouble:
    account_sid: str = "AC" + "c0ffee00" * 4
    auth_token: str = "f00dfeed" * 4
    numbers: frozenset[str] = frozenset()  # our Twilio numbers; empty accepts any From
    media_auth: bool = False  # "HTTP basic auth for media" account setting
    clock: Callable[[], datetime] = _now  # e.g. the product's clock, for resource dates
    host: str = "127.0.0.1"
    port: int = 0
    sent: list[SentSms] = field(default_factory=list)
    rejected: list[tuple[JSONDict, JSONDict]] = field(default_factory=list)  # (form, error)
    resources: dict[str, JSONDict] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)
    _failures: list[tuple[str | None, FailureKind]] = field(default_factory=list)
    _media: dict[str, _Media] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL for `TWILIO_API_BASE_URL`."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> TwilioDouble:
        app = web.Application()
        messages = f"/{API_VERSION}/Accounts/{{account}}/Messages"
        app.router.add_post(messages + ".json", self._create)
        app.router.add_get(messages + "/{sid}.json", self._fetch)
        app.router.add_get(messages + "/{message}/Media/{media}", self._media_redirect)
        app.router.add_get("/cdn/media/{media}", self._media_content)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # Scripting ------------------------------------------------------------------------------

    def fail_next(self, to: str | None, kind: FailureKind, *, times: int = 1) -> None:
        """Make the next `times` sends to `to` (None: any) fail like Twilio does for `kind`."""
        self._failures.extend([(to, kind)] * times)

    def opt_out(self, number: str) -> None:
        """The number texted STOP: Twilio refuses every send to it with 21610 until START."""
        self.opted_out.add(number)

    def opt_in(self, number: str) -> None:
        self.opted_out.discard(number)

    def sent_to(self, number: str) -> list[SentSms]:
        return [sms for sms in self.sent if sms.to == number]

    # Inbound webhooks -----------------------------------------------------------------------

    def add_media(self, content_type: str, content: bytes, message_sid: str | None = None) -> str:
        """Store an inbound MMS attachment; return its media URL (a 307 to the content)."""
        message_sid = message_sid or new_sid("MM")
        media_sid = new_sid("ME")
        self._media[media_sid] = _Media(content_type, content)
        account = f"{self.url}/{API_VERSION}/Accounts/{self.account_sid}"
        return f"{account}/Messages/{message_sid}/Media/{media_sid}"

    def inbound_sms_form(
        self,
        from_: str,
        to: str,
        body: str,
        media: list[str | tuple[str, bytes]] | None = None,
        *,
        messaging_service_sid: str | None = None,
    ) -> dict[str, str]:
        """The form of an inbound SMS/MMS; media items are URLs from `add_media` or
        (content_type, content) pairs to store now."""
        sid = _message_sid_of(media) or new_sid("MM" if media else "SM")
        pairs: list[tuple[str, str]] = []
        for item in media or []:
            url = self.add_media(item[0], item[1], sid) if isinstance(item, tuple) else item
            pairs.append((url, self._media[url.rsplit("/", 1)[-1]].content_type))
        return inbound_form(
            account_sid=self.account_sid,
            message_sid=sid,
            from_=from_,
            to=to,
            body=body,
            media=pairs,
            messaging_service_sid=messaging_service_sid,
        )

    def status_callback_form(
        self, sid: str, status: str, error_code: int | None = None
    ) -> dict[str, str]:
        """Move a sent message to `status` (delivered, undelivered, failed...) and return
        the StatusCallback form Twilio posts for it; undelivered/failed carry ErrorCode."""
        resource = self.resources[sid]
        resource["status"] = status
        resource["error_code"] = error_code
        resource["date_updated"] = rfc2822(self.clock())
        if status in ("sent", "delivered") and resource["date_sent"] is None:
            resource["date_sent"] = resource["date_updated"]
        return status_form(resource, status, error_code)

    def sign(self, url: str, params: dict[str, str]) -> str:
        return sign(url, params, self.auth_token)

    async def post_webhook(
        self, public_url: str, form: dict[str, str], *, post_to: str | None = None
    ) -> WebhookReply:
        """POST `form` as Twilio would, signed for `public_url` (the URL configured in
        Twilio), delivered to `post_to` (where the product listens) if given."""
        headers = {"X-Twilio-Signature": self.sign(public_url, form)}
        async with (
            aiohttp.ClientSession() as session,
            session.post(post_to or public_url, data=form, headers=headers) as response,
        ):
            return WebhookReply(response.status, await response.text(), response.content_type)

    async def post_status_callback(
        self, sid: str, status: str, error_code: int | None = None, *, post_to: str | None = None
    ) -> WebhookReply:
        """Move message `sid` to `status` and POST the signed callback to its StatusCallback
        (the public URL, used for the signature), delivered to `post_to` if given."""
        sms = next((sms for sms in self.sent if sms.sid == sid), None)
        if sms is None or not sms.status_callback:
            raise ValueError(f"message {sid} was not sent with a StatusCallback")
        form = self.status_callback_form(sid, status, error_code)
        return await self.post_webhook(sms.status_callback, form, post_to=post_to)

    # HTTP handlers --------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        expected = basic_auth(self.account_sid, self.auth_token)
        return hmac.compare_digest(request.headers.get("Authorization", ""), expected)

    def _check_account(self, request: web.Request) -> None:
        if not self._authorized(request) or request.match_info["account"] != self.account_sid:
            raise _TwilioError(401, 20003, "Authenticate", detail=_BAD_CREDENTIALS)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        params = {key: str(value) for key, value in form.items()}
        try:
            self._check_account(request)
            failure = self._take_failure(params.get("To"))
            if failure == "network":
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            resource = self._accept(params, form.getall("MediaUrl", []), failure)
        except _TwilioError as exc:
            self.rejected.append((params, exc.body))
            return web.json_response(exc.body, status=exc.status)
        return web.json_response(resource, status=201)

    def _take_failure(self, to: str | None) -> FailureKind | None:
        for target, kind in self._failures:
            if target is None or target == to:
                self._failures.remove((target, kind))
                return kind
        return None

    def _accept(self, params: dict[str, str], media: list[Any], failure: str | None) -> JSONDict:
        to, from_ = params.get("To", ""), params.get("From")
        service, body = params.get("MessagingServiceSid"), params.get("Body", "")
        if not to:
            raise _TwilioError(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service:
            raise _TwilioError(400, 21603, "A 'From' phone number is required.")
        if from_ and self.numbers and from_ not in self.numbers:
            raise _TwilioError(
                400,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone"
                " number or short code for your account.",
            )
        if not body and not media:
            raise _TwilioError(400, 21602, "Message body is required.")
        if len(body) > 1600:
            raise _TwilioError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if not _E164.match(to) or failure == "invalid_number":
            raise _TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.opted_out:
            failure = "unsubscribed"
        if failure in _FAILURES:
            raise _TwilioError(*_FAILURES[failure])
        return self._store(params, [str(url) for url in media])

    def _store(self, params: dict[str, str], media: list[str]) -> JSONDict:
        sid = new_sid("MM" if media else "SM")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        created = rfc2822(self.clock())
        service, from_ = params.get("MessagingServiceSid"), params.get("From")
        # With only a Messaging Service the sender is picked later: no From, no segments yet.
        pending_sender = bool(service and not from_)
        segments = sms_segments(params.get("Body", ""))
        resource: JSONDict = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": params.get("Body", ""),
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            "num_segments": "0" if pending_sender else str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if pending_sender else "queued",
            "subresource_uris": {
                "media": f"{uri}/Media.json",
                "feedback": f"{uri}/Feedback.json",
            },
            "to": params["To"],
            "uri": f"{uri}.json",
        }
        self.resources[sid] = resource
        self.sent.append(
            SentSms(
                sid=sid,
                to=params["To"],
                from_=from_,
                messaging_service_sid=service,
                body=params.get("Body", ""),
                media_urls=tuple(media),
                status_callback=params.get("StatusCallback"),
                num_segments=segments,
            )
        )
        return dict(resource)

    async def _fetch(self, request: web.Request) -> web.StreamResponse:
        try:
            self._check_account(request)
        except _TwilioError as exc:
            return web.json_response(exc.body, status=exc.status)
        resource = self.resources.get(request.match_info["sid"])
        if resource is None:
            body = error_body(404, 20404, f"The requested resource {request.path} was not found")
            return web.json_response(body, status=404)
        return web.json_response(resource)

    async def _media_redirect(self, request: web.Request) -> web.StreamResponse:
        if self.media_auth and not self._authorized(request):
            body = error_body(401, 20003, "Authenticate", detail=_BAD_CREDENTIALS)
            return web.json_response(body, status=401)
        media_sid = request.match_info["media"]
        if media_sid not in self._media:
            body = error_body(404, 20404, f"The requested resource {request.path} was not found")
            return web.json_response(body, status=404)
        raise web.HTTPTemporaryRedirect(f"/cdn/media/{media_sid}")

    async def _media_content(self, request: web.Request) -> web.StreamResponse:
        media = self._media.get(request.match_info["media"])
        if media is None:
            raise web.HTTPNotFound()
        return web.Response(body=media.content, content_type=media.content_type)


def _message_sid_of(media: list[str | tuple[str, bytes]] | None) -> str | None:
    for item in media or []:
        if isinstance(item, str) and "/Messages/" in item:
            return item.split("/Messages/", 1)[1].split("/", 1)[0]
    return None
