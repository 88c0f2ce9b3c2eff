"""The simulator: `GET /sim`, a phone for every person of the company; type as anyone and see
what each receives. Only served when no real channel is configured (demos, trials)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from storage.phones import normalize_phone
from storage.sim_repo import conversation
from webhooks.app import SERVICES, Services
from webhooks.errors import ApiError
from webhooks.replay import (
    DEFAULT_SPEED,
    REPLAY,
    SPEEDS,
    Replay,
    ReplayError,
    check_speed,
    replay_context,
    start_replay,
)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
STATIC = Path(__file__).with_name("static")


def enabled(services: Services) -> bool:
    s = services.settings
    return not (s.telegram_enabled or s.twilio_enabled)


async def sim_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if not enabled(services):
        raise web.HTTPNotFound(text="the simulator is off when real channels are configured")
    async with services.uow() as uow:
        company = await uow.company.load()
    people = [
        *({"phone": d.phone, "name": d.name, "role": "dispatcher"} for d in company.dispatchers),
        *({"phone": t.phone, "name": t.name, "role": "technician"} for t in company.technicians),
        *(
            {"phone": c.phone, "name": c.name, "role": "customer"}
            for c in company.customers
            if c.phone
        ),
    ]
    nonce = secrets.token_urlsafe(16)
    html = TEMPLATES.get_template("sim.html").render(
        company=company.settings.name,
        timezone=company.settings.timezone,
        people=people,
        nonce=nonce,
        speeds=SPEEDS,
        default_speed=int(DEFAULT_SPEED),
    )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={
            "Content-Security-Policy": f"default-src 'self'; script-src 'nonce-{nonce}'; "
            "style-src 'self' 'unsafe-inline'",
            "X-Frame-Options": "DENY",
        },
    )


async def sim_messages(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if not enabled(services):
        raise web.HTTPNotFound()
    phone = normalize_phone(request.rel_url.query.get("phone", ""))
    if phone is None:
        return web.json_response({"error": "bad_request", "message": "phone"}, status=400)
    async with services.uow() as uow:
        found = await conversation(uow.session, phone)
    return web.json_response(
        {
            "phone": phone,
            "messages": [
                {
                    "id": m.id,
                    "at": m.at.isoformat(),
                    "direction": m.direction,
                    "text": m.text,
                    "choices": list(m.choices),
                }
                for m in found
            ],
        }
    )


async def replay_status(request: web.Request) -> web.Response:
    """`GET /sim/replay`: whether the demo day is playing, how far, and the server's clock."""
    services = request.app[SERVICES]
    if not enabled(services):
        raise web.HTTPNotFound()
    return web.json_response(request.app[REPLAY].status(services.clock))


async def replay_start(request: web.Request) -> web.Response:
    """`POST /sim/replay {"speed": 180}`: play the bundled demo day on this server."""
    services = request.app[SERVICES]
    raw = await request.read()  # first: a body over the limit is 413 here as everywhere
    if not enabled(services):
        raise web.HTTPNotFound()
    if request.content_type != "application/json":  # no cross-site form can start it
        raise ApiError(415, "unsupported_media_type", 'send JSON: {"speed": 180}')
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", 'expected {"speed": N}')
    speed = data.get("speed", DEFAULT_SPEED)
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise ApiError(400, "bad_request", "speed: expected a number")
    try:
        check_speed(float(speed))
    except ReplayError as err:
        raise ApiError(400, "bad_request", str(err)) from None
    try:
        replay = await start_replay(request.app, own_base_url(request), float(speed))
    except ReplayError as err:
        raise ApiError(409, "conflict", str(err)) from None
    return web.json_response(replay.status(services.clock), status=202)


def own_base_url(request: web.Request) -> str:
    """Where this server can reach itself: the address the request came in on."""
    where = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(where, tuple) and len(where) >= 2:
        host = str(where[0])
        return f"http://[{host}]:{where[1]}" if ":" in host else f"http://{host}:{where[1]}"
    return str(request.url.origin())


def setup(app: web.Application) -> None:
    app[REPLAY] = Replay()
    app.cleanup_ctx.append(replay_context)
    app.router.add_get("/sim", sim_page)
    app.router.add_get("/sim/messages", sim_messages)
    app.router.add_get("/sim/replay", replay_status)
    app.router.add_post("/sim/replay", replay_start)
