"""Prometheus metrics (§10): one registry per application, so tests can run several apps.

Two kinds. Counted in this process: webhooks by channel and result, HTTP error answers.
Read from the database at scrape time (`refresh`), so every web process reports the same
numbers for the whole deployment, whichever process did the work and even with the worker
in another process: outbox depth and age, offer outcomes, SLA at risk and breached, and the
assignment latency (from a work order's creation to the first decision that gives it to a
technician: the engine's offer or assignment, a dispatcher's, a bump).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Float, SQLColumnExpression, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.sla_clock import AT_RISK, BREACHED, stage_at
from storage.outbox_repo import OutboxRepository
from storage.sla_repo import CLOCK_RUNNING
from storage.tables import DecisionRow, OfferRow, WorkOrderRow

log = logging.getLogger("callout.metrics")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Webhook paths and their channel label, as the handlers in webhooks.channels count them.
WEBHOOK_CHANNELS = {
    "/webhooks/telegram": "telegram",
    "/webhooks/twilio/sms": "sms",
    "/webhooks/twilio/status": "sms_status",
    "/sim/send": "sim",
}

OFFER_OUTCOMES = ("accepted", "declined", "expired", "withdrawn")  # an offer ends as one
NOT_YET = ("flag",)  # a decision that names a technician but gives them nothing (suggestions)
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass
class Snapshot:
    """The deployment's numbers as the database had them at the last scrape."""

    offers: dict[str, int] = field(default_factory=dict)  # by status, "live" included
    sla_at_risk: int = 0
    sla_breached: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    latency_count: int = 0
    latency_sum: float = 0.0


class FromDatabase(Collector):
    """Exposes the last `Snapshot`; families without data yet show zeros, never vanish."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        outcomes = CounterMetricFamily(
            "callout_offers", "Offers that ended, by outcome", labels=["outcome"]
        )
        for outcome in OFFER_OUTCOMES:
            outcomes.add_metric([outcome], s.offers.get(outcome, 0))
        yield outcomes
        yield GaugeMetricFamily(
            "callout_offers_live",
            "Offers waiting for the technician's answer",
            s.offers.get("live", 0),
        )
        yield GaugeMetricFamily(
            "callout_sla_at_risk",
            "Open work orders with half or more of the response time gone, no arrival yet",
            s.sla_at_risk,
        )
        yield GaugeMetricFamily(
            "callout_sla_breached",
            "Open work orders past their response time, no arrival yet",
            s.sla_breached,
        )
        buckets = [
            (str(float(b)), n) for b, n in zip(LATENCY_BUCKETS, s.latency_buckets, strict=True)
        ]
        yield HistogramMetricFamily(
            "callout_assignment_latency_seconds",
            "From a work order's creation to the first decision giving it to a technician",
            buckets=[*buckets, ("+Inf", s.latency_count)],
            sum_value=s.latency_sum,
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.webhooks = Counter(
            "callout_webhooks",
            "Inbound webhooks by channel and result",
            ["channel", "result"],
            registry=r,
        )
        self.http_errors = Counter(
            "callout_http_errors", "Answers with an error status", ["status"], registry=r
        )
        self.outbox_depth = Gauge(
            "callout_outbox_depth", "Messages waiting in the outbox", registry=r
        )
        self.outbox_age = Gauge(
            "callout_outbox_oldest_age_seconds", "Age of the oldest waiting message", registry=r
        )
        self.database_up = Gauge(
            "callout_database_up", "1 when the last scrape could read the database", registry=r
        )
        self.database = FromDatabase()
        r.register(self.database)

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        """Read the deployment-wide numbers; on a database error keep the last ones."""
        try:
            stats = await OutboxRepository(session).stats(now)
            snapshot = Snapshot(offers=await _offers(session))
            snapshot.sla_at_risk, snapshot.sla_breached = await _sla(session, now)
            await _latency(session, snapshot)
        except Exception:  # a scrape while the database is away: say so, answer anyway
            log.warning("metrics could not read the database", exc_info=True)
            self.database_up.set(0)
            return
        self.outbox_depth.set(stats.depth)
        self.outbox_age.set(stats.oldest_age_seconds)
        self.database.snapshot = snapshot
        self.database_up.set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def _offers(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(OfferRow.status, func.count()).group_by(OfferRow.status))
    return {status: int(n) for status, n in rows.all()}


async def _sla(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """As `/sla` counts them: open, no arrival, half the response time or more gone."""
    w = WorkOrderRow
    rows = await session.execute(
        select(w.created_at, w.sla_due_at).where(
            w.status.in_(CLOCK_RUNNING), w.sla_due_at.is_not(None)
        )
    )
    stages = [stage_at(opened, due, now) for opened, due in rows.all()]
    breached = sum(1 for s in stages if s >= BREACHED)
    return sum(1 for s in stages if AT_RISK <= s < BREACHED), breached


async def _latency(session: AsyncSession, snapshot: Snapshot) -> None:
    """One aggregate row: how many work orders were first put in front of a technician
    within each bucket, their count and the sum of the seconds."""
    first = (
        select(DecisionRow.work_order_id, func.min(DecisionRow.at).label("at"))
        .where(DecisionRow.technician_id.is_not(None), DecisionRow.kind.not_in(NOT_YET))
        .group_by(DecisionRow.work_order_id)
        .subquery()
    )
    seconds = _seconds_between(WorkOrderRow.created_at, first.c.at, session.get_bind().dialect.name)
    columns: Sequence[ColumnElement[float]] = [
        func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0)
        for bound in LATENCY_BUCKETS
    ]
    row = (
        await session.execute(
            select(*columns, func.count(), func.coalesce(func.sum(seconds), 0.0)).join_from(
                WorkOrderRow, first, first.c.work_order_id == WorkOrderRow.id
            )
        )
    ).one()
    snapshot.latency_buckets = [int(n) for n in row[: len(LATENCY_BUCKETS)]]
    snapshot.latency_count = int(row[-2])
    snapshot.latency_sum = max(0.0, float(row[-1]))


def _seconds_between(
    start: SQLColumnExpression[datetime], end: SQLColumnExpression[datetime], dialect: str
) -> ColumnElement[float]:
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    # SQLite keeps UTC text; julianday counts days.
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def counting(metrics: Metrics) -> Middleware:
    """Counts what no handler gets to count: every error answer by status and, for the
    webhooks, bodies refused for size before the handler ran (413) and failures (5xx).
    Goes outside `error_middleware`, so it sees the answers that one makes of exceptions."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _count(metrics, request.path, exc.status)
            raise
        _count(metrics, request.path, response.status)
        return response

    return count


def _count(metrics: Metrics, path: str, status: int) -> None:
    if status < 400:
        return
    metrics.http_errors.labels(status=str(status)).inc()
    channel = WEBHOOK_CHANNELS.get(path)
    if channel is not None and (status == 413 or status >= 500):
        result = "too_large" if status == 413 else "error"
        metrics.webhooks.labels(channel=channel, result=result).inc()
