"""Prometheus metrics (§10): one registry per application, so tests can run several apps."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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
            "callout_http_errors", "API answers with an error status", ["status"], registry=r
        )
        self.outbox_depth = Gauge(
            "callout_outbox_depth", "Messages waiting in the outbox", registry=r
        )
        self.outbox_age = Gauge(
            "callout_outbox_oldest_age_seconds", "Age of the oldest waiting message", registry=r
        )
        self.offers = Counter("callout_offers", "Offer outcomes", ["outcome"], registry=r)
        self.sla_at_risk = Gauge(
            "callout_sla_at_risk", "Open work orders at risk of SLA breach", registry=r
        )
        self.assignment_seconds = Histogram(
            "callout_assignment_seconds",
            "Time to choose a technician for one job",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
