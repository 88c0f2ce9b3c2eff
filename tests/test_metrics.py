"""`GET /metrics` after real traffic: webhooks by channel and result, outbox depth and age,
offer outcomes, SLA at risk and breached, assignment latency (§10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.timers import sweep
from storage.tables import OfferRow, OutboxRow, WorkOrderRow
from tests.channel_app import Product
from tests.dispatcher_chat import DANA, say
from tests.doubles.fixtures import TWILIO_FROM_NUMBER
from webhooks.app import SERVICES

VIP = "+15125550120"  # flagged for a dispatcher: the VIP rule
ONE_SITE = "+15125550131"  # offered at once; left unanswered, it expires
KNOWN = "+15125550126"  # offered at once; the technician accepts
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(p: Product) -> Samples:
    response = await p.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def phone_of(tech: str) -> str:
    return f"+1512555{int(tech[1:]) + 100:04d}"


async def offers(p: Product) -> list[OfferRow]:
    async with AsyncSession(p.engine) as s:
        return list(await s.scalars(select(OfferRow).order_by(OfferRow.id)))


async def test_an_idle_deployment_shows_every_family_at_zero(product: Product) -> None:
    m = await scrape(product)
    assert value(m, "callout_outbox_depth") == 0
    assert value(m, "callout_outbox_oldest_age_seconds") == 0
    for outcome in ("accepted", "declined", "expired", "withdrawn"):
        assert value(m, "callout_offers_total", outcome=outcome) == 0
    assert value(m, "callout_offers_live") == 0
    assert value(m, "callout_sla_at_risk") == 0
    assert value(m, "callout_sla_breached") == 0
    assert value(m, "callout_assignment_latency_seconds_count") == 0
    assert value(m, "callout_assignment_latency_seconds_bucket", le="+Inf") == 0
    assert value(m, "callout_database_up") == 1


async def test_metrics_follow_the_traffic(product: Product) -> None:
    p = product
    start = p.clock.now()
    # A VIP's request waits for a dispatcher; 90 s later Dana approves the suggestion.
    await say(p, VIP, "walk-in cooler at 310 E 6th St is warm, please check today")
    p.clock.advance(timedelta(seconds=90))
    assert (await say(p, DANA, "/approve WO-1001")).startswith("WO-1001 assigned to ")
    # Two requests the engine offers at once: one accepted, one left to expire.
    await say(p, KNOWN, "walk-in cooler at Manchaca is warm, reading 45, please check today")
    form = p.tw.inbound_sms_form(ONE_SITE, TWILIO_FROM_NUMBER, "toilet is leaking, come today")
    assert (await p.post_sms_form(form))[0] == 200
    assert (await p.post_sms_form(form))[0] == 200  # Twilio retrying: a duplicate
    first, _ = await offers(p)
    assert (await say(p, phone_of(first.technician_id), "A 1002")).startswith("WO-1002 is yours")
    p.clock.advance(timedelta(minutes=11))  # WO-1003's offer (10 minutes) runs out
    app = p.client.app
    assert app is not None
    services = app[SERVICES]
    await sweep(services.bot_uows, services.bot_deps())  # expired, offered to the next one
    # Refused at the door: a forged SMS, a wrong Telegram secret, a body over 1 MiB.
    assert (await p.post_sms_form(form, signature="forged"))[0] == 403
    assert await p.telegram({"update_id": 1}, secret="wrong") == 403
    big = await p.client.post(
        "/webhooks/twilio/sms", data=b"x" * (1024 * 1024 + 1), headers={"X-Twilio-Signature": "s"}
    )
    assert big.status == 413
    status = await p.client.post(
        "/webhooks/twilio/status",
        data={"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert status.status == 403

    m = await scrape(p)
    assert value(m, "callout_webhooks_total", channel="sms", result="ok") == 5
    assert value(m, "callout_webhooks_total", channel="sms", result="duplicate") == 1
    assert value(m, "callout_webhooks_total", channel="sms", result="forbidden") == 1
    assert value(m, "callout_webhooks_total", channel="sms", result="too_large") == 1
    assert value(m, "callout_webhooks_total", channel="telegram", result="forbidden") == 1
    assert value(m, "callout_webhooks_total", channel="sms_status", result="forbidden") == 1
    assert value(m, "callout_http_errors_total", status="403") == 3
    assert value(m, "callout_http_errors_total", status="413") == 1

    assert value(m, "callout_offers_total", outcome="accepted") == 1
    assert value(m, "callout_offers_total", outcome="expired") == 1
    assert value(m, "callout_offers_total", outcome="declined") == 0
    assert value(m, "callout_offers_live") == 1  # WO-1003's second offer

    # Latency: WO-1001 90 s (flag, then the dispatcher), WO-1002 and WO-1003 at once.
    assert value(m, "callout_assignment_latency_seconds_count") == 3
    assert value(m, "callout_assignment_latency_seconds_sum") == pytest.approx(90, abs=0.01)
    assert value(m, "callout_assignment_latency_seconds_bucket", le="0.1") == 2
    assert value(m, "callout_assignment_latency_seconds_bucket", le="60.0") == 2
    assert value(m, "callout_assignment_latency_seconds_bucket", le="300.0") == 3
    assert value(m, "callout_assignment_latency_seconds_bucket", le="+Inf") == 3

    # The outbox as the database has it: depth, and the age of the oldest waiting message.
    async with AsyncSession(p.engine) as s:
        waiting = (
            await s.execute(
                select(func.count(), func.min(OutboxRow.created_at)).where(
                    OutboxRow.status.in_(["pending", "claimed", "sending"])
                )
            )
        ).one()
    assert waiting[0] > 0 and value(m, "callout_outbox_depth") == waiting[0]
    age = (p.clock.now() - waiting[1]).total_seconds()
    assert value(m, "callout_outbox_oldest_age_seconds") == age
    assert age >= (p.clock.now() - start).total_seconds() - 1  # the VIP's first alert
    await p.deliver()
    m = await scrape(p)
    assert value(m, "callout_outbox_depth") == 0
    assert value(m, "callout_outbox_oldest_age_seconds") == 0


async def test_sla_at_risk_and_breached_agree_with_the_dispatchers_view(
    product: Product,
) -> None:
    p = product
    await say(p, KNOWN, "walk-in cooler at Manchaca is warm, reading 45, please check today")
    await say(p, ONE_SITE, "kitchen faucet keeps dripping, no rush")
    async with AsyncSession(p.engine) as s:
        orders = list(await s.scalars(select(WorkOrderRow).order_by(WorkOrderRow.sla_due_at)))
    soon, late = orders
    assert soon.sla_due_at is not None and late.sla_due_at is not None
    # Past the first one's deadline, with half or more of the second one's response time gone.
    now = max(
        soon.sla_due_at + timedelta(minutes=1),
        late.created_at + (late.sla_due_at - late.created_at) * 0.6,
    )
    assert now < late.sla_due_at
    p.clock.advance(now - p.clock.now())
    m = await scrape(p)
    assert value(m, "callout_sla_breached") == 1
    assert value(m, "callout_sla_at_risk") == 1
    assert (await say(p, DANA, "/sla")).startswith("SLA: 1 breached, 1 at risk")
