"""Two web and two worker processes on one PostgreSQL database, as the Procfile runs them:
under load, and with a web and a worker killed (-9) in the middle. Every inbound message has
exactly one work order and its sender exactly one answer, every outbound message reaches the
double once, no offer is left without an expiry, and no technician is double-booked.
(`make e2e-pg` runs these alone, the kill test 10 times in a row: CALLOUT_FAULT_ROUNDS.)"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_engine
from storage.tables import InboundRow, OfferRow, OutboxRow, WorkOrderRow
from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    need_postgres,
    unique_postgres_url,
)
from tests.doubles import TwilioDouble
from tests.doubles.fixtures import TWILIO_FROM_NUMBER
from tests.processes import Deployment
from webhooks.demo import COMPANY_FILE

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
PUBLIC = "https://callout.example"


def _rounds() -> int:
    """CALLOUT_FAULT_ROUNDS: how many times the kill test runs, each on a fresh deployment
    (`make e2e-pg` runs 10; the whole suite once)."""
    value = os.environ.get("CALLOUT_FAULT_ROUNDS", "1")
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(f"CALLOUT_FAULT_ROUNDS must be a whole number >= 1, not {value!r}")
    return int(value)


ROUNDS = _rounds()
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
    need_postgres(postgres_ready[0])
    url = unique_postgres_url("callout_e2e")
    await create_postgres_database(url)
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


@pytest.fixture
async def probe(deployment: tuple[Deployment, TwilioDouble]) -> AsyncIterator[AsyncEngine]:
    """The test's own connection to the deployment's database, to watch and to check."""
    engine = make_engine(deployment[0].env["DATABASE_URL"])
    yield engine
    await engine.dispose()


Form = dict[str, str]
DIRECT = ("confirmation", "question", "message")  # outbox kinds of an answer to the sender


@dataclass
class Answers:
    """What the senders got back in the webhook's answer (TwiML), per phone number."""

    inline: Counter[str] = field(default_factory=Counter)

    def take(self, sender: str, twiml: str) -> None:
        if "<Message>" in twiml:
            self.inline[sender] += 1


def forms(tw: TwilioDouble, requests: list[tuple[str, str]]) -> list[Form]:
    return [tw.inbound_sms_form(sender, TWILIO_FROM_NUMBER, text) for sender, text in requests]


async def post_all(
    d: Deployment, tw: TwilioDouble, batch: list[Form], answers: Answers | None = None
) -> list[int]:
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
                        body = await response.text()
                        if answers is not None and response.status == 200:
                            answers.take(form["From"], body)
                        return response.status
                except aiohttp.ClientConnectionError:
                    web = "web2" if web == "web1" else "web1"
                    await asyncio.sleep(0.1)
            return 0

        return await asyncio.gather(*(one(i, form) for i, form in enumerate(batch)))


async def count(engine: AsyncEngine, query: Select[int]) -> int:
    async with engine.connect() as conn:
        found: int = (await conn.execute(query)).scalar_one()
    return found


async def until(engine: AsyncEngine, query: Select[int], at_least: int) -> None:
    """Poll until `query` counts `at_least`: the moment to kill a process mid-way."""
    for _ in range(3000):
        if await count(engine, query) >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached {at_least}: {query}")


WAITING = (
    select(func.count())
    .select_from(OutboxRow)
    .where(OutboxRow.status.in_(["pending", "claimed", "sending"]))
)
UNHANDLED = select(func.count()).select_from(InboundRow).where(InboundRow.processed_at.is_(None))
STORED = select(func.count()).select_from(InboundRow)
QUEUED = select(func.count()).select_from(OutboxRow)


# Both in one statement, so one snapshot: counted in two, a worker that handled a retaken
# message between them (its answer queued in the same commit) was missed by both counts.
NOT_DONE = select(WAITING.scalar_subquery() + UNHANDLED.scalar_subquery())


async def settled(engine: AsyncEngine) -> None:
    """Wait until every message is handled (a dead process's ones are retaken by a worker
    once their claim runs out) and the workers have delivered everything that is due."""
    waiting = 0
    for _ in range(900):  # up to three minutes (claims of 30 s and leases of 60 s run out)
        waiting = await count(engine, NOT_DONE)
        if waiting == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{waiting} messages still waiting")


async def check_invariants(
    engine: AsyncEngine, tw: TwilioDouble, requests: list[tuple[str, str]], answers: Answers
) -> None:
    async with engine.connect() as conn:
        inbound = (await conn.execute(STORED)).scalar_one()
        orders = (await conn.execute(select(WorkOrderRow))).all()
        errors = (
            await conn.execute(
                select(InboundRow.external_id, InboundRow.error, InboundRow.processed_at)
            )
        ).all()
        sms = (await conn.execute(select(OutboxRow).where(OutboxRow.channel == "sms"))).all()
        live = (await conn.execute(select(OfferRow).where(OfferRow.status == "live"))).all()
    assert inbound == len(requests)
    assert all(e.error is None for e in errors), errors
    from_sms = [o for o in orders if o.source_channel == "sms"]  # the rest is due PM
    assert len(from_sms) == len(requests), errors  # one work order per inbound request
    assert all(o.expires_at is not None for o in live)
    # Every outbound message went, and reached Twilio once: no SID twice, no text twice to
    # the same number, and each row's SID is one Twilio has.
    assert {r.status for r in sms} <= {"sent"}, [(r.id, r.status, r.last_error) for r in sms]
    delivered = Counter(m.sid for m in tw.sent)
    assert all(n == 1 for n in delivered.values()), "a message reached Twilio twice"
    same = Counter((m.to, m.body) for m in tw.sent)
    assert not [k for k, n in same.items() if n > 1], "a text reached a phone twice"
    assert all(delivered[r.external_id] == 1 for r in sms), "a row's SID is not at Twilio"
    assert len(tw.sent) >= len(sms)  # long texts go in several parts
    # Each sender got one answer: in the webhook's TwiML, or from the outbox when the
    # process that had it died (a worker retook the message).
    later = Counter(r.recipient for r in sms if r.kind in DIRECT)
    got = {s: answers.inline[s] + later[s] for s, _ in requests}
    assert got == {s: 1 for s, _ in requests}, got
    by_tech: dict[str, list[tuple[datetime, datetime]]] = {}
    for o in orders:
        if o.technician_id and o.planned_start and o.planned_end:
            by_tech.setdefault(o.technician_id, []).append((o.planned_start, o.planned_end))
    for spans in by_tech.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in pairwise(spans)), spans


async def test_two_web_and_two_worker_processes_share_one_database(
    deployment: tuple[Deployment, TwilioDouble], probe: AsyncEngine
) -> None:
    d, tw = deployment
    answers = Answers()
    statuses = await post_all(d, tw, forms(tw, REQUESTS), answers)
    assert statuses == [200] * len(REQUESTS)
    await settled(probe)
    await check_invariants(probe, tw, REQUESTS, answers)
    assert tw.sent, "the workers delivered the offers"


@pytest.mark.parametrize("round_", range(1, ROUNDS + 1), ids=lambda n: f"round{n}of{ROUNDS}")
async def test_killing_a_web_and_a_worker_mid_load_loses_and_duplicates_nothing(
    deployment: tuple[Deployment, TwilioDouble], probe: AsyncEngine, round_: int
) -> None:
    """Each round kills at another point of the load: after 1 to 5 of the first 8 messages
    are stored, and once the workers are sending."""
    d, tw = deployment
    first, second = forms(tw, REQUESTS[:8]), forms(tw, REQUESTS[8:])
    answers = Answers()
    load = asyncio.create_task(post_all(d, tw, first, answers))
    await until(probe, STORED, 1 + (round_ - 1) % 5)
    d.kill("web1")
    await until(probe, QUEUED, 1)
    d.kill("worker1")
    statuses = await load
    assert all(s in (200, 0) for s in statuses), statuses
    await d.start("web1", "serve", "--no-worker")
    await d.start("worker1", "worker")
    # What the dead web process had not answered is sent again (Twilio retries too).
    await post_all(d, tw, [f for f, s in zip(first, statuses, strict=True) if s != 200], answers)
    assert await post_all(d, tw, second, answers) == [200] * len(second)
    await settled(probe)
    await check_invariants(probe, tw, REQUESTS, answers)
