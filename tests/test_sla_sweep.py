"""SLA alerts: a gold P2 job (4 h response) tells every dispatcher once at 50%, once at 80%
and once at breach, with one timeline event each, however often and wherever the sweep runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.context import Deps
from bot.ports import BotUnitOfWork
from bot.sla_sweep import sweep_sla
from dispatch.workorder import Status
from storage.db import session_factory
from storage.uow import SqlUnitOfWork
from tests.channel_app import Product
from tests.dispatcher_chat import CARLOS, DANA, cooler_job, outbox_to, say, timeline
from webhooks.app import SERVICES


def worker(p: Product) -> tuple[Callable[[], BotUnitOfWork], Deps]:
    app = p.client.app
    assert app is not None
    services = app[SERVICES]
    return services.bot_uows, services.bot_deps()


async def sla_sweep(uows: Callable[[], BotUnitOfWork], deps: Deps) -> int:
    async with uows() as uow:
        alerted = await sweep_sla(uow, deps)
        await uow.commit()
    return alerted


async def sweep_like_restarts(p: Product) -> None:
    """Twice from the running app, then from a worker process started afresh."""
    uows, deps = worker(p)
    await sla_sweep(uows, deps)
    await sla_sweep(uows, deps)
    await sla_sweep(fresh_worker(p), deps)


def fresh_worker(p: Product) -> Callable[[], BotUnitOfWork]:
    sessions = session_factory(p.engine)
    return lambda: SqlUnitOfWork(sessions)


async def sla_alerts(p: Product, phone: str) -> list[str]:
    return [
        m.payload["text"]
        for m in await outbox_to(p, phone, "alert")
        if m.payload["text"].startswith("SLA")
    ]


async def sla_events(p: Product, seq: int) -> list[str]:
    return [e.text for e in await timeline(p, seq) if e.kind == "sla"]


async def test_a_gold_p2_job_alerts_once_at_50_80_and_breach(product: Product) -> None:
    p = product
    seq = await cooler_job(p)  # P2 for a gold customer: due 4 h after 07:00, at 11:00
    await sweep_like_restarts(p)
    assert await sla_alerts(p, DANA) == []
    expected: list[str] = []
    for advance, text in [
        (timedelta(hours=2), f"SLA at risk WO-{seq}: 50% used, due 11:00. P2 offered. /wo {seq}"),
        (
            timedelta(minutes=72),
            f"SLA at risk WO-{seq}: 80% used, due 11:00. P2 offered. /wo {seq}",
        ),
        (timedelta(minutes=48), f"SLA BREACHED WO-{seq}, due 11:00. P2 offered. /wo {seq}"),
    ]:
        p.clock.advance(advance - timedelta(minutes=1))
        await sweep_like_restarts(p)
        assert len(await sla_alerts(p, DANA)) == len(expected)  # not a minute early
        p.clock.advance(timedelta(minutes=1))
        await sweep_like_restarts(p)
        expected.append(text)
        assert await sla_alerts(p, DANA) == expected
        assert await sla_alerts(p, CARLOS) == expected
    assert await sla_events(p, seq) == ["SLA 50% used", "SLA 80% used", "SLA breached"]
    p.clock.advance(timedelta(hours=5))
    await sweep_like_restarts(p)
    assert len(await sla_alerts(p, DANA)) == 3
    await p.deliver()
    assert [m.body for m in p.tw.sent_to(DANA) if m.body.startswith("SLA")] == expected


async def test_a_sweep_after_a_long_pause_sends_only_the_highest_stage(product: Product) -> None:
    p = product
    seq = await cooler_job(p)
    p.clock.advance(timedelta(hours=5))
    await sweep_like_restarts(p)
    assert await sla_alerts(p, DANA) == [f"SLA BREACHED WO-{seq}, due 11:00. P2 offered. /wo {seq}"]
    assert await sla_events(p, seq) == ["SLA breached"]


async def test_once_the_technician_arrives_the_clock_raises_no_more_alerts(
    product: Product,
) -> None:
    p = product
    seq = await cooler_job(p)
    await say(p, DANA, f"/assign {seq} T11")
    p.clock.advance(timedelta(hours=2))
    await sweep_like_restarts(p)
    assert await sla_alerts(p, DANA) == [
        f"SLA at risk WO-{seq}: 50% used, due 11:00. P2 assigned, T11 Sofia. /wo {seq}"
    ]
    async with SqlUnitOfWork(session_factory(p.engine)) as uow:
        wo = await uow.work_orders.get(seq, lock=True)
        assert wo is not None
        wo.transition(Status.ON_SITE, p.clock.now(), actor="technician:T11")
        await uow.work_orders.save(wo)
        await uow.commit()
    p.clock.advance(timedelta(hours=3))
    await sweep_like_restarts(p)
    assert len(await sla_alerts(p, DANA)) == 1
    assert await say(p, DANA, "/sla") == "SLA: nothing at risk or breached."


async def test_two_workers_sweeping_at_once_alert_once(product: Product) -> None:
    """Row claims with SKIP LOCKED: on PostgreSQL two workers run truly at once."""
    p = product
    if p.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    seq = await cooler_job(p)
    p.clock.advance(timedelta(hours=2))
    _, deps = worker(p)
    results = await asyncio.gather(*(sla_sweep(fresh_worker(p), deps) for _ in range(4)))
    assert sum(results) == 1
    assert len(await sla_alerts(p, DANA)) == 1 and len(await sla_alerts(p, CARLOS)) == 1
    assert await sla_events(p, seq) == ["SLA 50% used"]
