"""Running the server: settings, logging, the schema check, and a clean one-line failure."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web

from storage.migrate import SchemaOutOfDate
from webhooks.app import init_app
from webhooks.config import Settings

log = logging.getLogger("callout.serve")
AfterStart = Callable[[web.Application], Awaitable[None]]


class StartFailed(Exception):
    """Something to do once the server listens could not be done: one line, exit 2."""


def run_server(
    settings: Settings,
    *,
    banner: list[str] | None = None,
    worker: bool = True,
    after_start: AfterStart | None = None,
) -> int:
    app = init_app(settings, worker=worker, settle=True)
    try:
        asyncio.run(_serve(app, settings, banner or [], after_start))
    except (SchemaOutOfDate, StartFailed) as err:
        print(f"callout: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


async def _serve(
    app: web.Application, settings: Settings, banner: list[str], after_start: AfterStart | None
) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        for line in banner:
            print(line, flush=True)
        log.info("serving", extra={"host": settings.host, "port": settings.port})
        if after_start is not None:
            await after_start(app)
        stop = asyncio.Event()  # SIGTERM (a platform stopping us) ends as cleanly as Ctrl+C
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
