"""`GET /healthz` (is the database reachable) and `GET /metrics` (Prometheus text)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from webhooks.app import SERVICES, database_ok
from webhooks.outbox import outbox_stats


async def healthz(request: web.Request) -> web.Response:
    ok = await database_ok(request.app[SERVICES])
    return web.json_response(
        {"ok": ok, "database": "up" if ok else "down"}, status=200 if ok else 503
    )


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if services.sessions is not None:
        # Computed at scrape time, so a web process without the worker reports them too.
        async with services.sessions() as session:
            stats = await outbox_stats(session, services.clock)
        services.metrics.outbox_depth.set(stats.depth)
        services.metrics.outbox_age.set(stats.oldest_age_seconds)
    body = services.metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
