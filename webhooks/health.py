"""`GET /healthz` (is the database reachable) and `GET /metrics` (Prometheus text)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from webhooks.app import SERVICES, database_ok


async def healthz(request: web.Request) -> web.Response:
    ok = await database_ok(request.app[SERVICES])
    return web.json_response(
        {"ok": ok, "database": "up" if ok else "down"}, status=200 if ok else 503
    )


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if services.sessions is not None:
        # Read at scrape time, so a web process without the worker reports them too.
        async with services.sessions() as session:
            await services.metrics.refresh(session, services.clock.now())
    body = services.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
