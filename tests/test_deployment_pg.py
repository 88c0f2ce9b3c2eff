"""Two web and two worker processes on one PostgreSQL database, as the Procfile runs them:
under load, and with a web and a worker killed (-9) in the middle. Every inbound message has
exactly one work order, every outbound message reaches the double once, no offer is left
without an expiry, and no technician is double-booked.  (`make e2e-pg` runs these alone.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, text

from storage.db import make_engine
from storage.tables import InboundRow, OfferRow, OutboxRow, WorkOrderRow
from tests.databases import IN_CI, POSTGRES_URL, drop_postgres_database
from tests.doubles import TwilioDouble
from tests.doubles.fixtures import TWILIO_FROM_NUMBER
from tests.processes import Deployment
from webhooks.demo import COMPANY_FILE

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
PUBLIC = "https://callout.example"
# Known customers (one open job each), each with a request the engine can place.
REQUESTS = [
    ("+15125550131", "toilet is leaking at the base, please come today"),
    ("+15125550129", "rooftop unit 2 at the anderson ln office is blowing warm air"),
    ("+15125550126", "walk-in cooler at Manchaca is warm, reading 45"),
    ("+15125550127", "garage door opener clicks but the door does not move"),
    ("+15125550122", "tenant at avenue H says furnace wont light, just clicking"),
    ("+15125550123", "breaker keeps tripping in the back office, no rush"),
    ("+15125550124", "roll up door in building B is stuck half open"),
    ("+15125550128", "dishwasher not draining at the burnet rd store"),
    ("+15125550130", "water heater leaking in the garage"),
    ("+15125550132", "ac unit making a loud buzzing noise, fan not spinning"),
    ("+15125550133", "smoke detector chirping in the hallway, no rush"),
    ("+15125550135", "kitchen faucet dripping nonstop"),
]


@pytest.fixture
async def deployment(
    tmp_path: Path, postgres_ready: tuple[str | None, str]
) -> AsyncIterator[tuple[Deployment, TwilioDouble]]:
    problem, _ = postgres_ready
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true needs PostgreSQL: {problem}")
        pytest.skip(problem)
    base, _, _ = POSTGRES_URL.rpartition("/")
    url = f"{base}/callout_e2e_{tmp_path.name[-8:].lower().replace('-', '_')}"
    await drop_postgres_database(url)
    engine = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{url.rpartition("/")[2]}"'))
    await engine.dispose()
    async with TwilioDouble() as tw:
        env = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": PUBLIC,
            "TWILIO_ACCOUNT_SID": tw.account_sid,
            "TWILIO_AUTH_TOKEN": tw.auth_token,
            "TWILIO_FROM_NUMBER": TWILIO_FROM_NUMBER,
            "TWILIO_API_BASE_URL": tw.url,
            "CALLOUT_NOW": "2026-11-30T07:00:00-06:00",
            "LOG_LEVEL": "WARNING",
        }
        d = Deployment(env, tmp_path)
        await d.run("db", "upgrade")  # release
        await d.run("import", str(COMPANY_FILE))
        for name in ("web1", "web2"):
            await d.start(name, "serve", "--no-worker")
        for name in ("worker1", "worker2"):
            await d.start(name, "worker")
        try:
            yield d, tw
        finally:
            await d.stop_all()
            await drop_postgres_database(url)


Form = dict[str, str]


def forms(tw: TwilioDouble, requests: list[tuple[str, str]]) -> list[Form]:
    return [tw.inbound_sms_form(sender, TWILIO_FROM_NUMBER, text) for sender, text in requests]


async def post_all(d: Deployment, tw: TwilioDouble, batch: list[Form]) -> list[int]:
    """Signed SMS webhooks, split between the two web processes, all at once. Posting the
    same forms again is what Twilio does when an answer did not come."""
    async with aiohttp.ClientSession() as http:

        async def one(i: int, form: Form) -> int:
            web = ("web1", "web2")[i % 2]
            headers = {"X-Twilio-Signature": tw.sign(PUBLIC + "/webhooks/twilio/sms", form)}
            for _ in range(50):  # a killed web process: the sender retries the other
                try:
                    url = f"http://127.0.0.1:{d.ports[web]}/webhooks/twilio/sms"
                    async with http.post(url, data=form, headers=headers) as response:
                        return response.status
                except aiohttp.ClientConnectionError:
                    web = "web2" if web == "web1" else "web1"
                    await asyncio.sleep(0.1)
            return 0

        return await asyncio.gather(*(one(i, form) for i, form in enumerate(batch)))


async def settled(url: str, tw: TwilioDouble) -> None:
    """Wait until every message is handled (a dead process's ones are retaken by a worker
    once their claim runs out) and the workers have delivered everything that is due."""
    engine = make_engine(url)
    try:
        for _ in range(600):  # up to two minutes
            async with engine.connect() as conn:
                waiting = (
                    await conn.execute(
                        select(func.count())
                        .select_from(OutboxRow)
                        .where(OutboxRow.status.in_(["pending", "claimed", "sending"]))
                    )
                ).scalar_one()
                waiting += (
                    await conn.execute(
                        select(func.count())
                        .select_from(InboundRow)
                        .where(InboundRow.processed_at.is_(None))
                    )
                ).scalar_one()
            if waiting == 0:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{waiting} messages still waiting")
    finally:
        await engine.dispose()


async def check_invariants(url: str, tw: TwilioDouble, requests: int) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            inbound = (
                await conn.execute(select(func.count()).select_from(InboundRow))
            ).scalar_one()
            orders = (await conn.execute(select(WorkOrderRow))).all()
            errors = (
                await conn.execute(
                    select(InboundRow.external_id, InboundRow.error, InboundRow.processed_at)
                )
            ).all()
            sent = (await conn.execute(select(OutboxRow).where(OutboxRow.channel == "sms"))).all()
            live = (await conn.execute(select(OfferRow).where(OfferRow.status == "live"))).all()
    finally:
        await engine.dispose()
    assert inbound == requests
    from_sms = [o for o in orders if o.source_channel == "sms"]  # the rest is due PM
    assert len(from_sms) == requests, errors  # one work order per inbound request
    assert all(o.expires_at is not None for o in live)
    delivered = Counter(m.sid for m in tw.sent)
    assert all(n == 1 for n in delivered.values()), "a message reached Twilio twice"
    for row in sent:
        if row.status == "sent":
            assert delivered[row.external_id] == 1
    by_tech: dict[str, list[tuple[datetime, datetime]]] = {}
    for o in orders:
        if o.technician_id and o.planned_start and o.planned_end:
            by_tech.setdefault(o.technician_id, []).append((o.planned_start, o.planned_end))
    for spans in by_tech.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in pairwise(spans)), spans


async def test_two_web_and_two_worker_processes_share_one_database(
    deployment: tuple[Deployment, TwilioDouble],
) -> None:
    d, tw = deployment
    statuses = await post_all(d, tw, forms(tw, REQUESTS))
    assert statuses == [200] * len(REQUESTS)
    await settled(d.env["DATABASE_URL"], tw)
    await check_invariants(d.env["DATABASE_URL"], tw, len(REQUESTS))
    assert tw.sent, "the workers delivered the offers"


async def test_killing_a_web_and_a_worker_mid_load_loses_and_duplicates_nothing(
    deployment: tuple[Deployment, TwilioDouble],
) -> None:
    d, tw = deployment
    first, second = forms(tw, REQUESTS[:6]), forms(tw, REQUESTS[6:])
    load = asyncio.create_task(post_all(d, tw, first))
    await asyncio.sleep(0.3)
    d.kill("web1")
    d.kill("worker1")
    assert all(s in (200, 0) for s in await load)
    await d.start("web1", "serve", "--no-worker")
    await d.start("worker1", "worker")
    # What the dead web process had not answered is sent again (Twilio retries too).
    await post_all(d, tw, first)
    assert await post_all(d, tw, second) == [200] * len(second)
    await settled(d.env["DATABASE_URL"], tw)
    await check_invariants(d.env["DATABASE_URL"], tw, len(REQUESTS))
