"""`callout demo`: the bundled demo company on a local SQLite file, clock at the demo day."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

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
    """Create or upgrade the schema, import the demo company if the database has none,
    and make a token for the API and the board."""
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with SqlUnitOfWork(session_factory(engine)) as uow:
            now = settings.now or demo_start()
            if not await uow.company.exists():
                loaded = load_company_file(COMPANY_FILE)
                await import_company(uow.session, loaded.company, now)
            token = await uow.tokens.create("demo", now, role="admin")
            await uow.commit()
        return token
    finally:
        await engine.dispose()


def run_demo(settings: Settings) -> int:
    from webhooks.serve import run_server

    if "CALLOUT_NOW" not in os.environ:
        settings = replace(settings, now=demo_start())
    token = asyncio.run(prepare(settings))
    base = f"http://{settings.host}:{settings.port}"
    banner = [
        "Callout demo: Ridgeback Home & Commercial Services",
        f"  database      {settings.database_url}",
        f"  clock         starts at {settings.now.isoformat() if settings.now else 'now'}",
        f"  health        {base}/healthz",
        f"  phones        {base}/sim   (type as any customer, technician or dispatcher)",
        f"  board         {base}/board   (log in with the token below)",
        f"  API           {base}/api/v1/work-orders   (Authorization: Bearer {token})",
        "Press Ctrl+C to stop.",
    ]
    return run_server(settings, banner=banner)
