"""Who is looking at the board: the session cookie (or a bearer token), CSRF, page headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from storage.board_repo import BoardLogin, BoardRepository
from storage.tokens import TokenHolder
from webhooks.api import authorize
from webhooks.app import SERVICES
from webhooks.errors import ApiError

COOKIE = "callout_board"
SESSION_TTL = timedelta(hours=12)
CSRF_HEADER = "X-CSRF-Token"
BOARD_ROLES = ("admin", "dispatcher")


@dataclass(frozen=True, slots=True)
class Viewer:
    login: BoardLogin
    session_id: str | None  # None when the caller came with a bearer token

    @property
    def actor(self) -> str:
        who = self.login.party_id or self.login.name
        return f"{self.login.role}:{who}"


def csrf_token(session_id: str) -> str:
    """Derived from the session id, so nothing more is stored; useless without the cookie."""
    return hmac.new(session_id.encode(), b"board-csrf", hashlib.sha256).hexdigest()


def login_from_token(holder: TokenHolder) -> BoardLogin | None:
    if holder.role not in BOARD_ROLES:
        return None
    return BoardLogin(role=holder.role, party_id=holder.party_id, name=holder.name)


async def session_viewer(request: web.Request) -> Viewer | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id or len(session_id) > 100:
        return None
    services = request.app[SERVICES]
    async with services.uow() as uow:
        login = await BoardRepository(uow.session).login_of(session_id, services.clock.now())
    return None if login is None else Viewer(login, session_id)


async def api_viewer(request: web.Request, *, writes: bool = False) -> Viewer:
    """The board's JSON API: the page's session (and its CSRF header for writes), or a
    dispatcher's or admin's bearer token for scripts."""
    if "Authorization" in request.headers:
        login = login_from_token(await authorize(request))
        if login is None:
            raise ApiError(403, "forbidden", "the board is for dispatchers")
        return Viewer(login, None)
    viewer = await session_viewer(request)
    if viewer is None:
        raise ApiError(401, "unauthorized", "log in at /board")
    if writes:
        assert viewer.session_id is not None
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(viewer.session_id).encode()):
            raise ApiError(403, "csrf", f"send the page's {CSRF_HEADER} header")
    return viewer


def set_session_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    secure = request.app[SERVICES].settings.public_base_url.startswith("https://")
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def protect(response: web.StreamResponse, nonce: str | None = None) -> web.StreamResponse:
    """Headers for every board page: our own scripts only, never framed, never cached."""
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    h = response.headers
    h["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {script}; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"  # login codes travel in URLs
    h["Cache-Control"] = "no-store"
    return response
