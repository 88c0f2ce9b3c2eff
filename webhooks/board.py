"""The dispatchers' web board at `/board` (§8): login, the page, photos; JSON and live updates
live in `board_api` and `board_events`."""

from __future__ import annotations

from hmac import compare_digest
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader

from storage.board_repo import BoardLogin, BoardRepository
from webhooks import board_api, board_events
from webhooks.app import SERVICES
from webhooks.board_auth import (
    COOKIE,
    SESSION_TTL,
    csrf_token,
    login_from_token,
    new_nonce,
    protect,
    session_viewer,
    set_session_cookie,
)

HERE = Path(__file__).parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
MAX_FORM = 4096
AXIS_HOURS = range(7, 19)  # one column an hour, 07:00-19:00 in company time


def _page(template: str, status: int = 200, **context: Any) -> web.Response:
    nonce = new_nonce()
    body = TEMPLATES.get_template(template).render(nonce=nonce, **context)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    protect(response, nonce)
    return response


def _login_page(status: int = 200, error: str | None = None) -> web.Response:
    return _page("board_login.html", status, mode="token", error=error)


def _message(status: int, title: str, text: str) -> web.Response:
    return _page("board_login.html", status, mode="message", title=title, text=text)


async def board_page(request: web.Request) -> web.Response:
    viewer = await session_viewer(request)
    if viewer is None or viewer.session_id is None:
        return _login_page()
    services = request.app[SERVICES]
    async with services.uow() as uow:
        company = await uow.company.load()
    zone = ZoneInfo(company.settings.timezone)
    today = services.clock.now().astimezone(zone).date()
    return _page(
        "board.html",
        company=company.settings.name,
        viewer=viewer.login,
        csrf=csrf_token(viewer.session_id),
        day=f"{today:%A %d %B %Y}",
        hours=[f"{h:02d}:00" for h in AXIS_HOURS],
        technicians=[(t.id, t.name) for t in company.technicians],
    )


async def _start_session(request: web.Request, login: BoardLogin) -> web.Response:
    services = request.app[SERVICES]
    async with services.uow() as uow:
        session_id = await BoardRepository(uow.session).open_session(
            login, services.clock.now(), SESSION_TTL
        )
        await uow.commit()
    response = web.Response(status=303, headers={"Location": "/board"})
    set_session_cookie(request, response, session_id)
    protect(response)
    return response


async def _form(request: web.Request) -> dict[str, str]:
    if (request.content_length or 0) > MAX_FORM:
        return {}
    try:
        data = await request.post()
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)}


async def token_login(request: web.Request) -> web.Response:
    token = (await _form(request)).get("token", "").strip()
    if not token or len(token) > 200:
        return _login_page(400, "Paste your API token.")
    services = request.app[SERVICES]
    async with services.uow() as uow:
        holder = await uow.tokens.check(token, services.clock.now())
        company = await uow.company.load()
    if holder is None:
        return _login_page(401, "That token is unknown, expired or revoked.")
    login = login_from_token(holder)
    if login is None:
        return _message(403, "Not for you", "The board is for dispatchers.")
    person = next((d for d in company.dispatchers if d.id == login.party_id), None)
    if person is not None:  # greet the dispatcher by name, not by the token's label
        login = BoardLogin(login.role, login.party_id, person.name)
    return await _start_session(request, login)


async def link_page(request: web.Request) -> web.Response:
    """The link only shows a button: chat apps fetch links for previews, and a GET that
    logged in would spend the one-time code before the dispatcher opened it."""
    services = request.app[SERVICES]
    async with services.uow() as uow:
        usable = await BoardRepository(uow.session).link_usable(
            request.match_info["code"], services.clock.now()
        )
    if not usable:
        return _message(410, "Link expired", "This link was used or has expired: send /boardlink.")
    return _page("board_login.html", mode="link", action=request.path)


async def link_login(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.uow() as uow:
        dispatcher_id = await BoardRepository(uow.session).redeem_link(
            request.match_info["code"], services.clock.now()
        )
        company = await uow.company.load()
        await uow.commit()
    person = next((d for d in company.dispatchers if d.id == dispatcher_id), None)
    if person is None:
        return _message(410, "Link expired", "This link was used or has expired: send /boardlink.")
    return await _start_session(request, BoardLogin("dispatcher", person.id, person.name))


async def logout(request: web.Request) -> web.Response:
    viewer = await session_viewer(request)
    form = await _form(request)
    sent = form.get("csrf", "").encode()
    if (
        viewer
        and viewer.session_id
        and compare_digest(sent, csrf_token(viewer.session_id).encode())
    ):
        async with request.app[SERVICES].uow() as uow:
            await BoardRepository(uow.session).close_session(viewer.session_id)
            await uow.commit()
    response = web.Response(status=303, headers={"Location": "/board"})
    response.del_cookie(COOKIE, path="/")
    protect(response)
    return response


async def photo(request: web.Request) -> web.StreamResponse:
    viewer = await session_viewer(request)
    photo_id = request.match_info["photo_id"]
    if viewer is None:
        return _message(401, "Log in", "Log in to the board to see photos.")
    services = request.app[SERVICES]
    found = None
    if photo_id.isascii() and photo_id.isdigit() and len(photo_id) < 12:
        async with services.uow() as uow:
            found = await BoardRepository(uow.session).photo(int(photo_id))
    root = services.settings.media_dir.resolve()
    path = (root / found[0]).resolve() if found else None
    if found is None or path is None or not path.is_relative_to(root) or not path.is_file():
        return _message(404, "Not found", "No such photo.")
    response = web.FileResponse(path, headers={"Content-Type": found[1]})
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/board", board_page)
    r.add_post("/board/login", token_login)
    r.add_get("/board/login/{code}", link_page)
    r.add_post("/board/login/{code}", link_login)
    r.add_post("/board/logout", logout)
    r.add_get("/board/photos/{photo_id}", photo)
    r.add_static("/board/static", HERE / "static", append_version=False)
    board_api.setup(app)
    board_events.setup(app)
