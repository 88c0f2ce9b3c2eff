"""`callout demo`: the bundled demo company on a local SQLite file, clock at the demo day.

The demo opens on an empty queue: the preventive maintenance due that day is held back until
the day is played (`callout demo --replay`, or the button on `/sim`), which opens it first."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from aiohttp import web

from bot.timers import pm_claim
from storage.company_file import load_company_file
from storage.db import make_engine, session_factory
from storage.importer import import_company
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork
from webhooks.config import Settings

DEMO_DIR = Path(__file__).parent
COMPANY_FILE = DEMO_DIR / "company.yaml"
DAY_FILE = DEMO_DIR / "day.yaml"


def demo_start() -> datetime:
    """07:00 of the bundled demo day in the demo company's timezone."""
    day = yaml.safe_load(DAY_FILE.read_text())["date"]
    zone = yaml.safe_load(COMPANY_FILE.read_text())["company"]["timezone"]
    return datetime.combine(day, time(7, 0), ZoneInfo(zone))


async def prepare(settings: Settings) -> str:
    """Create or upgrade the schema, import the demo company if the database has none, hold
    back the day's preventive maintenance, and make a token for the API and the board."""
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with SqlUnitOfWork(session_factory(engine)) as uow:
            now = settings.now or demo_start()
            if not await uow.company.exists():
                loaded = load_company_file(COMPANY_FILE)
                await import_company(uow.session, loaded.company, now)
            company = await uow.company.load()
            await uow.next_number(
                pm_claim(now.astimezone(ZoneInfo(company.settings.timezone)).date())
            )
            token = await uow.tokens.create("demo", now, role="admin")
            await uow.commit()
        return token
    finally:
        await engine.dispose()


@contextmanager
def _replay_database(settings: Settings, replay: bool) -> Iterator[Settings]:
    """A replay plays a fresh day: in a temporary SQLite file unless DATABASE_URL names one."""
    if not replay or "DATABASE_URL" in os.environ:
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="callout-replay-") as folder:
        yield replace(settings, database_url=f"sqlite+aiosqlite:///{Path(folder) / 'replay.db'}")


def run_demo(settings: Settings, *, replay_speed: float | None = None) -> int:
    """The demo server; with `replay_speed`, the bundled day plays as soon as it listens."""
    from webhooks.replay import ReplayError, check_speed, start_replay
    from webhooks.serve import StartFailed, run_server

    if "CALLOUT_NOW" not in os.environ:
        settings = replace(settings, now=demo_start())
    if replay_speed is not None:
        try:
            check_speed(replay_speed)
        except ReplayError as err:
            print(f"callout demo: --{err}", file=sys.stderr)
            return 2
    with _replay_database(settings, replay_speed is not None) as settings:
        token = asyncio.run(prepare(settings))
        base = f"http://{settings.host}:{settings.port}"
        banner = [
            "Callout demo: Ridgeback Home & Commercial Services",
            f"  database      {settings.database_url}",
            f"  clock         starts at {settings.now.isoformat() if settings.now else 'now'}",
            f"  health        {base}/healthz",
            f"  phones        {base}/sim   (type as anyone, or press Play the demo day)",
            f"  board         {base}/board   (log in with the token below)",
            f"  API           {base}/api/v1/work-orders   (Authorization: Bearer {token})",
        ]
        if replay_speed is not None:
            banner.append(
                f"  replay        the demo day plays at {replay_speed:g}x"
                f" ({replay_speed / 60:g} simulated minutes a second)"
            )
        banner.append("Press Ctrl+C to stop.")

        async def play(app: web.Application) -> None:
            assert replay_speed is not None
            local = base.replace("://0.0.0.0:", "://127.0.0.1:")
            try:
                replay = await start_replay(app, local, replay_speed)
            except ReplayError as err:
                raise StartFailed(str(err)) from None
            replay.done.append(lambda r: print(f"replay: {r.state}. {r.message}", flush=True))

        return run_server(
            settings, banner=banner, after_start=play if replay_speed is not None else None
        )
