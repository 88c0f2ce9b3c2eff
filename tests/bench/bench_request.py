"""Benchmark: what one SMS webhook costs the server, in CPU and in SQL statements.

The figure to watch when optimizing: the load benchmark's throughput moves with the machine
and the scheduler, this one barely does. One web process (the app factory, as `callout serve
--no-worker` builds it, plus a route that reports the process's CPU time and how many SQL
statements it has sent) takes REQUESTS signed SMS one after the other, after WARMUP that are
not counted; each is a new problem from one of the generated customers, so each runs intake,
opens a work order and queues an offer or a flag, like the load benchmark's. CPU is the whole
server process's (`time.process_time`: every thread, aiosqlite's too, and aiohttp's parsing);
statements are what the driver is handed (`before_cursor_execute`, which SQLAlchemy and the
short way of storage.core both call), on SQLite that includes the BEGIN IMMEDIATE each
transaction starts with, on PostgreSQL asyncpg opens its transactions without one. SQLite,
then PostgreSQL if it answers; each on an empty history, then again after a year of it
(HISTORY, added straight to the database before the server starts): the two figures should
match, a request reads nothing that grows with the past.

    python -m tests.bench request          # prints, merges {"request": ...}
    python -m tests.bench.bench_request serve PORT   # the server alone (what the bench runs)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from tests.bench import bench_company, bench_server
from tests.bench.bench_server import SMS_PATH, environment, send_new_problem
from tests.history import History, add_history

REQUESTS = 500
WARMUP = 50  # the first messages build the company cache and the intake model
CUSTOMERS = 970  # plus the demo's 30: the load benchmark's company
COST_PATH = "/_bench/cost"


def serve(port: int) -> None:
    """The web part of `callout serve`, with COST_PATH added; runs until SIGINT."""
    import json

    from aiohttp import web
    from aiohttp.typedefs import Handler
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from webhooks.app import init_app
    from webhooks.config import settings_from_env
    from webhooks.logs import setup_logging

    settings = settings_from_env(os.environ)
    setup_logging(settings.log_level)
    sent = [0]
    each: list[tuple[float, int]] = []  # (CPU s, statements) of each SMS since the last report

    def count(*_: object) -> None:
        sent[0] += 1

    event.listen(Engine, "before_cursor_execute", count)  # every engine, the async ones' too

    @web.middleware
    async def per_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != SMS_PATH:
            return await handler(request)
        cpu, statements = time.process_time(), sent[0]
        try:
            return await handler(request)
        finally:  # one request at a time: nothing else ran in between
            each.append((time.process_time() - cpu, sent[0] - statements))

    async def cost(_: web.Request) -> web.Response:
        body = {"cpu_s": time.process_time(), "statements": sent[0], "each": list(each)}
        each.clear()
        return web.Response(text=json.dumps(body), content_type="application/json")

    app = init_app(settings, worker=False, settle=True)
    app.middlewares.insert(0, per_request)
    app.router.add_get(COST_PATH, cost)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


@contextmanager
def server(
    env: dict[str, str], *, under: tuple[str, ...] = (), start_limit: float = 60
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The server (`serve`) on a free port; `under` runs it under a tool (valgrind)."""
    port = bench_server.free_port()
    proc = bench_server.spawn(
        [*under, sys.executable, "-m", "tests.bench.bench_request", "serve", str(port)], env
    )
    try:
        asyncio.run(bench_server.wait_healthy(port, proc, start_limit))
        yield port, proc
    finally:
        bench_server.stop(proc)


Cost = tuple[float, int, list[tuple[float, int]]]


async def _cost(http: aiohttp.ClientSession, port: int) -> Cost:
    """The server's CPU seconds and statements so far, and each SMS's since the last call."""
    async with http.get(f"http://127.0.0.1:{port}{COST_PATH}") as r:
        body = await r.json()
    each = [(float(cpu), int(n)) for cpu, n in body["each"]]
    return float(body["cpu_s"]), int(body["statements"]), each


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2) if values else 0.0


async def _measure(port: int, database_url: str) -> dict[str, Any]:
    from tests.bench.bench_load import count_work_orders

    phones = bench_company.customer_phones(CUSTOMERS)
    latencies: list[float] = []
    failed = 0

    async def send(http: aiohttp.ClientSession, n: int, timed: bool) -> None:
        nonlocal failed
        started = time.perf_counter()
        if not 200 <= await send_new_problem(http, port, n, phones) < 300:
            failed += 1
        elif timed:
            latencies.append((time.perf_counter() - started) * 1000)

    async with aiohttp.ClientSession() as http:
        for n in range(WARMUP):
            await send(http, n, timed=False)
        orders_before = await count_work_orders(database_url)
        cpu_before, statements_before, _ = await _cost(http, port)
        for n in range(WARMUP, WARMUP + REQUESTS):
            await send(http, n, timed=True)
        cpu_after, statements_after, each = await _cost(http, port)
        orders_after = await count_work_orders(database_url)
    cpu = [c for c, _ in each]
    statements = [n for _, n in each]
    tenth = max(1, len(each) // 10)
    # The whole process's CPU over the run, /_bench/cost's two requests and the garbage
    # collector included; the medians are the handler's alone, and the steadier figure.
    return {
        "requests": REQUESTS,
        "ok": len(latencies),
        "new_work_orders": orders_after - orders_before,
        "cpu_ms_per_request": round((cpu_after - cpu_before) * 1000 / REQUESTS, 2),
        "cpu_ms_median": _ms(cpu),
        "cpu_ms_median_first_tenth": _ms(cpu[:tenth]),
        "cpu_ms_median_last_tenth": _ms(cpu[-tenth:]),
        "statements_per_request": round((statements_after - statements_before) / REQUESTS, 2),
        "statements_min": min(statements, default=0),
        "statements_max": max(statements, default=0),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
        "errors": failed,
    }


def prepared(database_url: str, folder: Path) -> dict[str, str]:
    """The server's environment, with the database migrated and the company (CUSTOMERS)
    imported."""
    env = environment(database_url, folder / "media")
    bench_server.prepare(env, bench_company.write(folder / "company.yaml", CUSTOMERS))
    return env


def measure(database_url: str, folder: Path, *, history: bool = False) -> dict[str, Any]:
    """With `history`, a year of finished work is in the database before the first request
    (HISTORY): the figure should not move."""
    env = prepared(database_url, folder)
    if history:
        asyncio.run(_add_history(database_url))
    with server(env) as (port, _):
        return asyncio.run(_measure(port, database_url))


HISTORY = History(work_orders=20_000, identities=10_000, messages=50_000, sent=50_000, days=365)


async def _add_history(database_url: str) -> None:
    from datetime import datetime

    from storage.db import make_engine

    engine = make_engine(database_url)
    try:
        now = datetime.fromisoformat(bench_server.DEMO_NOW)
        technicians = [f"T{n:02d}" for n in range(1, 13)]  # the demo's crew
        customers = [f"G{i:05d}" for i in range(CUSTOMERS)]
        await add_history(engine, now, technicians, customers, HISTORY)
        if engine.dialect.name == "postgresql":
            # A year-old database has been vacuumed and analyzed; without this, autovacuum
            # would do it now, on the same two cores, in the middle of the measurement.
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


def _line(label: str, r: dict[str, Any]) -> str:
    return (
        f"  {label:<16} CPU {r['cpu_ms_per_request']:>6.2f} ms (median {r['cpu_ms_median']:.2f}, "
        f"first/last tenth {r['cpu_ms_median_first_tenth']:.2f}/"
        f"{r['cpu_ms_median_last_tenth']:.2f})  statements {r['statements_per_request']:.1f} "
        f"({r['statements_min']}-{r['statements_max']})  p50 {r['p50_ms']:.2f} ms  "
        f"new work orders {r['new_work_orders']}/{r['ok']}  errors {r['errors']}"
    )


def _check(label: str, r: dict[str, Any]) -> list[str]:
    """Why the figures are not what they claim, if they are not."""
    from tests.bench.bench_load import check_new_work_orders

    errors = [f"request, {label}: {r['errors']} requests failed"] if r["errors"] else []
    return errors + check_new_work_orders(f"request, {label}", r["ok"], r["new_work_orders"])


def run() -> dict[str, Any]:
    from tests.bench.bench_load import postgres_database, postgres_url

    print(
        f"request: {REQUESTS} signed SMS one at a time, each a new work order, on an empty "
        f"history and after a year of it ({HISTORY.work_orders:,} finished work orders, "
        f"{HISTORY.messages:,} messages in and {HISTORY.sent:,} out); per request:"
    )
    result: dict[str, Any] = {
        "requests": REQUESTS,
        "warmup": WARMUP,
        "customers": CUSTOMERS + 30,
        "history": asdict(HISTORY),
    }
    short: list[str] = []
    base = postgres_url()
    for history in (False, True):
        label = "sqlite" + ("_history" if history else "")
        with tempfile.TemporaryDirectory(prefix="callout-request-") as tmp:
            folder = Path(tmp)
            url = f"sqlite+aiosqlite:///{folder / 'request.db'}"
            result[label] = measure(url, folder, history=history)
        print(_line(label, result[label]), flush=True)
        short += _check(label, result[label])
        if base is None:
            continue
        label = "postgres" + ("_history" if history else "")
        with (
            postgres_database(base, "callout_bench_request") as url,
            tempfile.TemporaryDirectory(prefix="callout-request-pg-") as tmp,
        ):
            result[label] = measure(url, Path(tmp), history=history)
        print(_line(label, result[label]), flush=True)
        short += _check(label, result[label])
    if base is None:
        print("  postgres: not answering, skipped")
    if short:
        raise AssertionError("; ".join(short))
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    else:
        from tests.bench.__main__ import main

        sys.exit(main(["request"]))
