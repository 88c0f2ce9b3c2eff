"""Live updates for the board: server-sent events at `/board/events`.

The stream polls a cheap version of the data (the newest timeline, outbox, offer and decision
ids) and sends it whenever it changes, so a change made by any process (another web
process, the worker, a webhook) reaches every open board without an in-memory bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from storage.board_repo import BoardRepository
from webhooks.app import SERVICES
from webhooks.board_auth import api_viewer

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
# Streams end after a while and the browser reconnects: the session is checked again then.
MAX_STREAM_SECONDS = 300.0
STOPPING = web.AppKey("board_events_stopping", asyncio.Event)
log = logging.getLogger("callout.board")


async def _version(request: web.Request) -> str:
    async with request.app[SERVICES].uow() as uow:
        return await BoardRepository(uow.session).version()


async def events(request: web.Request) -> web.StreamResponse:
    await api_viewer(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # proxies must not hold the stream back
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    stopping = request.app[STOPPING]
    loop = asyncio.get_running_loop()
    started = last_write = loop.time()
    sent: str | None = None
    try:
        await response.write(b"retry: 1000\n\n")
        while not stopping.is_set() and loop.time() - started < MAX_STREAM_SECONDS:
            version = await _version(request)
            if version != sent:
                await response.write(f"event: version\ndata: {version}\n\n".encode())
                sent, last_write = version, loop.time()
            elif loop.time() - last_write > KEEPALIVE_SECONDS:
                await response.write(b": keep-alive\n\n")
                last_write = loop.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), POLL_SECONDS)
    except ConnectionResetError:
        log.debug("board event stream closed by the browser")
    return response


async def _stop_streams(app: web.Application) -> None:
    """Open streams would otherwise hold the shutdown for its whole grace period."""
    app[STOPPING].set()


def setup(app: web.Application) -> None:
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_stop_streams)
    app.router.add_get("/board/events", events)
