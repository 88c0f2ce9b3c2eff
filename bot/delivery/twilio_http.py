"""An async HTTP client for twilio-python that may send every request to another server.

twilio-python builds absolute URLs on https://api.twilio.com (and other *.twilio.com hosts).
`TWILIO_API_BASE_URL` points them at a self-hosted proxy or a local test double; without it
requests go to Twilio as built:

    async with BaseUrlTwilioHttpClient("http://127.0.0.1:8081") as http:
        client = Client(account_sid, auth_token, http_client=http)
        await client.messages.create_async(to=..., from_=..., body=...)
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit, urlunsplit

from aiohttp import ClientSession, ClientTimeout
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response


def rewrite_url(url: str, base_url: str) -> str:
    """Replace scheme and host of `url` with those of `base_url`, prefixing its path."""
    base = urlsplit(base_url)
    target = urlsplit(url)
    path = base.path.rstrip("/") + target.path
    return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))


def form_fields(data: dict[str, object] | None) -> list[tuple[str, str]] | None:
    """Twilio passes list values (MediaUrl) for repeated fields, which aiohttp cannot encode.

    Booleans become "true"/"false"; twilio-python has serialized them already, but the
    parameter is public.
    """
    if data is None:
        return None
    fields: list[tuple[str, str]] = []
    for key, value in data.items():
        values = value if isinstance(value, list | tuple) else [value]
        fields.extend((key, _text(item)) for item in values if item is not None)
    return fields


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def basic_auth(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


class BaseUrlTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Async (aiohttp) twilio http client that talks to `base_url` (if given) instead of
    *.twilio.com.

    Unlike its parent it opens its session on first use, inside the running loop, so it can
    be built anywhere; close it with `await client.close()` or `async with`.
    """

    session: ClientSession | None

    def __init__(self, base_url: str | None = None, *, timeout: float = 15.0) -> None:
        parts = urlsplit(base_url or "https://api.twilio.com")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"TWILIO_API_BASE_URL must be an http(s) URL, got {base_url!r}")
        super().__init__(pool_connections=False, timeout=timeout)
        self.base_url = base_url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (signature fixed by twilio-python)
        allow_redirects: bool = False,
    ) -> Response:
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = basic_auth(*auth)
        if self.session is None:
            self.session = ClientSession()
        method = method.upper()
        target = url if self.base_url is None else rewrite_url(url, self.base_url)
        self.log_request({"method": method, "url": target, "params": params, "headers": headers})
        async with self.session.request(
            method,
            target,
            params=form_fields(params),
            data=form_fields(data),
            headers=headers,
            timeout=ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            self.log_response(response.status, response)
            return Response(response.status, await response.text(), response.headers)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def __aenter__(self) -> BaseUrlTwilioHttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
