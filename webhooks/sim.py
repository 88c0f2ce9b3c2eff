"""The simulator: `GET /sim`, a phone for every person of the company; type as anyone and see
what each receives. Only served when no real channel is configured (demos, trials)."""

from __future__ import annotations

import secrets
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from storage.phones import normalize_phone
from storage.sim_repo import conversation
from webhooks.app import SERVICES, Services

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
        company=company.settings.name, people=people, nonce=nonce
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


def setup(app: web.Application) -> None:
    app.router.add_get("/sim", sim_page)
    app.router.add_get("/sim/messages", sim_messages)
