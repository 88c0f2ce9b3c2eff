"""Running the server: settings, logging, the schema check, and a clean one-line failure."""

from __future__ import annotations

import asyncio
import logging
import sys

from aiohttp import web

from storage.migrate import SchemaOutOfDate
from webhooks.app import init_app
from webhooks.config import Settings

log = logging.getLogger("callout.serve")


def run_server(settings: Settings, *, banner: list[str] | None = None, worker: bool = True) -> int:
    app = init_app(settings, worker=worker)
    try:
        asyncio.run(_serve(app, settings, banner or []))
    except SchemaOutOfDate as err:
        print(f"callout: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(app: web.Application, settings: Settings, banner: list[str]) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        for line in banner:
            print(line, flush=True)
        log.info("serving", extra={"host": settings.host, "port": settings.port})
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
